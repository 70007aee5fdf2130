"""Runs in the run store: creating, starting, ending and repairing them, their history, queries.

``UNIQUE (pipeline, scheduled_for)`` and ``UNIQUE (pipeline, triggered_by)`` make creation
idempotent: a restarted scheduler that re-creates the runs it may have missed gets the
existing run back, so there is exactly one run per scheduled time (or upstream run), and a
run is created together with its tasks. Run states follow
:data:`~workspace.jobs.models.RUN_TRANSITIONS`; a repair resets a finished run under the same
id and increments its ``repair_generation``. Each run keeps a short history
(``run_events``). :class:`RunRepository` works inside the caller's transaction
(:mod:`workspace.jobs.store.database`) and never opens one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from workspace.jobs.models import (
    REPAIRABLE,
    RUN_TRANSITIONS,
    InvalidTransitionError,
    NewTask,
    Run,
    RunEvent,
    RunNotFoundError,
    RunState,
    TaskState,
    Trigger,
)
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.pipelines import PipelineRepository
from workspace.jobs.store.rows import new_id, run_record, ts
from workspace.jobs.store.tasks import TaskRepository


class RunRepository:
    """The ``runs`` and ``run_events`` tables; each method runs in ``con``, the caller's open
    transaction. Creating and repairing a run also write its tasks (``tasks``).

    Examples
    --------
    A run from creation to repair, through the :class:`~workspace.jobs.store.run_store.RunStore`
    facade that composes this repository:


    >>> import tempfile
    >>> from datetime import UTC, datetime
    >>> from pathlib import Path
    >>> from workspace.jobs.store.run_store import RunStore
    >>> store = RunStore.open(Path(tempfile.mkdtemp()) / "runs.sqlite")
    >>> _ = store.upsert_pipeline("daily_sales", spec_hash="abc")
    >>> run, created = store.create_scheduled_run(
    ...     "daily_sales", datetime(2025, 1, 1, tzinfo=UTC), tasks=["load", "report"]
    ... )
    >>> store.start_run(run.run_id)
    True
    >>> _ = store.set_task_state(run.run_id, "load", "queued")
    >>> attempt = store.claim_task(run.run_id, "load", pool="db", pool_capacity=2)
    >>> attempt.number, store.pool_usage()
    (1, {'db': 1})
    >>> store.finish_attempt(attempt.attempt_id, "failed", error="boom").state
    <AttemptState.FAILED: 'failed'>
    >>> store.finish_run(run.run_id, "failed").state
    <RunState.FAILED: 'failed'>
    >>> store.repair(run.run_id, downstream={"load": ["report"]}, requested_by="ada")
    ['load', 'report']
    >>> store.get_run(run.run_id).state, store.get_run(run.run_id).requested_by
    (<RunState.QUEUED: 'queued'>, 'ada')
    >>> store.close()
    """

    def __init__(
        self, db: RunDatabase, pipelines: PipelineRepository, tasks: TaskRepository
    ) -> None:
        self._db = db
        self._pipelines = pipelines
        self._tasks = tasks

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def get(con: sqlite3.Connection, run_id: str) -> Run:
        """One run; :class:`RunNotFoundError` if there is none."""
        row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        return run_record(row)

    @staticmethod
    def events(con: sqlite3.Connection, run_id: str) -> list[RunEvent]:
        """A run's history, oldest first."""
        rows = con.execute("SELECT * FROM run_events WHERE run_id = ? ORDER BY event_id", (run_id,))
        return [RunEvent.model_validate(dict(r)) for r in rows]

    @staticmethod
    def find(
        con: sqlite3.Connection,
        pipeline: str | None,
        states: Iterable[RunState | str] | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> list[Run]:
        """Runs, newest first, by pipeline, state(s) and date (see ``RunStore.list_runs``)."""
        where, args = ["1 = 1"], []
        if pipeline is not None:
            where.append("pipeline = ?")
            args.append(pipeline)
        if states is not None:
            wanted = [RunState(s).value for s in states]
            where.append(f"state IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if since is not None:
            where.append("coalesce(scheduled_for, created_at) >= ?")
            args.append(ts(since))
        if until is not None:
            where.append("coalesce(scheduled_for, created_at) < ?")
            args.append(ts(until))
        sql = (
            f"SELECT * FROM runs WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(scheduled_for, created_at) DESC, run_id DESC LIMIT ? OFFSET ?"
        )
        rows = con.execute(sql, [*args, limit, offset]).fetchall()
        return [run_record(r) for r in rows]

    @staticmethod
    def last_scheduled_time(con: sqlite3.Connection, pipeline: str) -> datetime | None:
        """The latest time a scheduled run of ``pipeline`` was created for."""
        row = con.execute(
            "SELECT max(scheduled_for) FROM runs WHERE pipeline = ? AND trigger = 'schedule'",
            (pipeline,),
        ).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    @staticmethod
    def count_active(con: sqlite3.Connection, pipeline: str, include_queued: bool) -> int:
        """How many runs of ``pipeline`` are running (and queued, if asked)."""
        states = ("running", "queued") if include_queued else ("running", "running")
        row = con.execute(
            "SELECT count(*) FROM runs WHERE pipeline = ? AND state IN (?, ?)",
            (pipeline, *states),
        ).fetchone()
        return int(row[0])

    # -- creating -------------------------------------------------------------------------

    def create(
        self,
        con: sqlite3.Connection,
        pipeline: str,
        trigger: Trigger,
        scheduled_for: datetime | None,
        triggered_by: str | None,
        tasks: Iterable[NewTask | str],
        parameters: Mapping[str, Any] | None,
        owner: str | None,
        requested_by: str | None,
    ) -> tuple[Run, bool]:
        """Create a run with its tasks, or return the one that exists (``created`` False)."""
        when = None if scheduled_for is None else ts(scheduled_for)
        params = json.dumps(dict(parameters or {}), sort_keys=True, default=str)
        record = self._pipelines.runnable(con, pipeline, trigger)
        owner = owner if owner is not None else record.owner
        if triggered_by is not None:
            self.get(con, triggered_by)
        existing = con.execute(
            "SELECT * FROM runs WHERE pipeline = ? AND (scheduled_for = ? OR triggered_by = ?)",
            (pipeline, when, triggered_by),
        ).fetchone()
        if existing is not None:
            return run_record(existing), False
        run_id = new_id()
        con.execute(
            "INSERT INTO runs (run_id, pipeline, scheduled_for, trigger, triggered_by, "
            "parameters, created_at, owner, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, pipeline, when, trigger, triggered_by, params, self._db.now(), owner,
             requested_by),
        )  # fmt: skip
        self._tasks.insert(con, run_id, tasks)
        by = f" by {requested_by}" if requested_by else ""
        self.event(con, run_id, f"created ({trigger}){by}")
        return self.get(con, run_id), True

    # -- moving ---------------------------------------------------------------------------

    def event(
        self,
        con: sqlite3.Connection,
        run_id: str,
        message: str,
        *,
        task_key: str | None = None,
        level: str = "info",
    ) -> None:
        """Append a line to a run's history (the run is not checked)."""
        con.execute(
            "INSERT INTO run_events (run_id, task_key, at, level, message) VALUES (?, ?, ?, ?, ?)",
            (run_id, task_key, self._db.now(), level, message),
        )

    def set_report(self, con: sqlite3.Connection, run_id: str, report_path: str) -> Run:
        """Record where the run's rendered report is."""
        self.get(con, run_id)
        con.execute("UPDATE runs SET report_path = ? WHERE run_id = ?", (report_path, run_id))
        return self.get(con, run_id)

    def start(self, con: sqlite3.Connection, run_id: str, max_active_runs: int | None) -> bool:
        """Move a queued run to running; False when ``max_active_runs`` runs already run."""
        run = self.get(con, run_id)
        if run.state != RunState.QUEUED:
            raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.RUNNING)
        if max_active_runs is not None and (
            self.count_active(con, run.pipeline, False) >= max_active_runs
        ):
            return False
        con.execute(
            # a repaired run keeps when it first started
            "UPDATE runs SET state = 'running', started_at = coalesce(started_at, ?) "
            "WHERE run_id = ?",
            (self._db.now(), run_id),
        )
        self.event(con, run_id, "started")
        return True

    def finish(
        self, con: sqlite3.Connection, run_id: str, target: RunState, reason: str | None
    ) -> Run:
        """End a run in ``target`` if its state and its tasks' states allow it."""
        run = self.get(con, run_id)
        if target not in RUN_TRANSITIONS.get(run.state, frozenset()):
            raise InvalidTransitionError(f"run {run_id!r}", run.state, target)
        counts = self._tasks.state_counts(con, run_id)
        if counts.get("running"):
            raise InvalidTransitionError(
                f"run {run_id!r}", run.state, target, "Tasks are still running."
            )
        if target == RunState.SUCCEEDED and set(counts) - {"succeeded", "skipped"}:
            raise InvalidTransitionError(
                f"run {run_id!r}", run.state, target, f"Its tasks are {sorted(counts)}."
            )
        self._end(con, run_id, target, reason)
        return self.get(con, run_id)

    def cancel(self, con: sqlite3.Connection, run_id: str, reason: str | None) -> None:
        """Cancel a queued or running run (its running attempts are stopped by the caller)."""
        run = self.get(con, run_id)
        if run.state.finished:
            raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.CANCELLED)
        self._end(con, run_id, RunState.CANCELLED, reason)

    def _end(
        self, con: sqlite3.Connection, run_id: str, state: RunState, reason: str | None
    ) -> None:
        self._tasks.cancel_unstarted(con, run_id, f"run {state}")
        con.execute(
            "UPDATE runs SET state = ?, finished_at = ? WHERE run_id = ?",
            (state, self._db.now(), run_id),
        )
        self.event(con, run_id, f"{state}" + (f": {reason}" if reason else ""))

    def repair(
        self,
        con: sqlite3.Connection,
        run_id: str,
        downstream: Mapping[str, Iterable[str]] | None,
        requested_by: str | None,
    ) -> list[str]:
        """Reset a finished run's failed tasks and everything downstream of them.

        Tasks that failed, timed out, were cancelled or upstream_failed go back to
        ``pending`` with their dependents (``downstream`` maps a task name or key to the
        names or keys that depend on it; a name covers all its fan-out items). Other tasks
        keep their state and outputs, every attempt is kept (new ones get the next
        ``repair_generation``), and the run is ``queued`` again under the same id. With
        ``requested_by``, the run's ``requested_by`` becomes that person (its history keeps
        who created it). All of it is written in ``con``: it happens whole or not at all.
        Returns the reset task keys ([] and no change if nothing needs repair).
        """
        run = self.get(con, run_id)
        if not run.state.finished:
            raise InvalidTransitionError(
                f"run {run_id!r}", run.state, "repair", "Wait for it to finish or cancel it."
            )
        tasks = {t.task_key: t for t in self._tasks.of_run(con, run_id)}
        if any(t.state == TaskState.RUNNING for t in tasks.values()):
            raise InvalidTransitionError(
                f"run {run_id!r}", run.state, "repair", "Some attempts are still running."
            )
        by_name: dict[str, set[str]] = {}
        for t in tasks.values():
            by_name.setdefault(t.name, set()).add(t.task_key)
        reset = {k for k, t in tasks.items() if t.state in REPAIRABLE}
        todo, deps = list(reset), downstream or {}
        while todo:
            task = tasks[todo.pop()]
            for dep in {*deps.get(task.task_key, ()), *deps.get(task.name, ())}:
                for key in by_name.get(dep, {dep} & tasks.keys()) - reset:
                    reset.add(key)
                    todo.append(key)
        if not reset:
            return []
        keys = [k for k in tasks if k in reset]
        self._tasks.reset(con, run_id, keys)
        con.execute(
            "UPDATE runs SET state = 'queued', finished_at = NULL, "
            "repair_generation = repair_generation + 1 WHERE run_id = ?",
            (run_id,),
        )
        self.event(con, run_id, f"repair {run.repair_generation + 1}: {', '.join(keys)}")
        if requested_by is not None:
            # the run's history keeps who created it; requested_by is who asked last
            con.execute("UPDATE runs SET requested_by = ? WHERE run_id = ?", (requested_by, run_id))
            self.event(con, run_id, f"repair requested by {requested_by}")
        return keys
