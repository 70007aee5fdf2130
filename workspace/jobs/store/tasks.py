"""Run and task transitions of the run store (a mixin of ``RunStore``).

This module moves runs and tasks forward once a run exists: starting, finishing and
cancelling runs and recording their report and history; queueing and skipping tasks; and
repair of a finished run. Claims, attempts and pool slots are in
:mod:`workspace.jobs.store.attempts`. Each public method is one transaction of the store
(:mod:`workspace.jobs.store.run_store`); the shared in-transaction helpers are in
:mod:`workspace.jobs.store.rows`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from workspace.jobs.models import (
    REPAIRABLE,
    RUN_TRANSITIONS,
    Attempt,
    InvalidTransitionError,
    Run,
    RunState,
    Task,
    TaskState,
)
from workspace.jobs.store.attempts import AttemptsMixin
from workspace.jobs.store.rows import StoreRows, _attempt, _task


class RunLifecycleMixin(AttemptsMixin, StoreRows):
    """Run and task transitions (a mixin of ``RunStore``); attempts are in ``AttemptsMixin``."""

    # -- runs ---------------------------------------------------------------------------

    def set_run_report(self, run_id: str, report_path: str) -> Run:
        """Record where the run's rendered report is (the link the UI shows)."""
        with self._tx() as con:
            self._require_run(con, run_id)
            con.execute("UPDATE runs SET report_path = ? WHERE run_id = ?", (report_path, run_id))
            return self._require_run(con, run_id)

    def add_event(
        self, run_id: str, message: str, *, task_key: str | None = None, level: str = "info"
    ) -> None:
        """Append a line to a run's history (level ``info``, ``warning`` or ``error``)."""
        with self._tx() as con:
            self._require_run(con, run_id)
            self._event(con, run_id, message, task_key=task_key, level=level)

    def start_run(self, run_id: str, *, max_active_runs: int | None = None) -> bool:
        """Move a queued run to running, unless ``max_active_runs`` runs already run.

        The check and the change are one transaction, so two schedulers (or a scheduler and
        a CLI) can never exceed the limit. Returns False when the limit is reached.
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if run.state != RunState.QUEUED:
                raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.RUNNING)
            if max_active_runs is not None:
                active = con.execute(
                    "SELECT count(*) FROM runs WHERE pipeline = ? AND state = 'running'",
                    (run.pipeline,),
                ).fetchone()[0]
                if active >= max_active_runs:
                    return False
            con.execute(
                # a repaired run keeps when it first started
                "UPDATE runs SET state = 'running', started_at = coalesce(started_at, ?) "
                "WHERE run_id = ?",
                (self._now(), run_id),
            )
            self._event(con, run_id, "started")
            return True

    def finish_run(self, run_id: str, state: RunState | str, *, reason: str | None = None) -> Run:
        """End a running run (or cancel a queued one).

        ``succeeded`` requires every task to be succeeded or skipped; no state is allowed
        while a task is still running. Tasks left pending or queued become ``cancelled``.
        """
        target = RunState(state)
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if target not in RUN_TRANSITIONS.get(run.state, frozenset()):
                raise InvalidTransitionError(f"run {run_id!r}", run.state, target)
            counts = dict(
                con.execute(
                    "SELECT state, count(*) FROM tasks WHERE run_id = ? GROUP BY state", (run_id,)
                ).fetchall()
            )
            if counts.get("running"):
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, target, "Tasks are still running."
                )
            if target == RunState.SUCCEEDED and set(counts) - {"succeeded", "skipped"}:
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, target, f"Its tasks are {sorted(counts)}."
                )
            self._end_run(con, run_id, target, reason)
            return self._require_run(con, run_id)

    def _end_run(
        self, con: sqlite3.Connection, run_id: str, state: RunState, reason: str | None
    ) -> None:
        now = self._now()
        con.execute(
            "UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ? "
            "WHERE run_id = ? AND state IN ('pending', 'queued')",
            (f"run {state}", now, run_id),
        )
        con.execute(
            "UPDATE runs SET state = ?, finished_at = ? WHERE run_id = ?", (state, now, run_id)
        )
        self._event(con, run_id, f"{state}" + (f": {reason}" if reason else ""))

    def cancel_run(self, run_id: str, *, reason: str | None = None) -> list[Attempt]:
        """Cancel a queued or running run; returns the running attempts the caller must stop.

        Pending and queued tasks become ``cancelled`` at once; each returned attempt is
        finished as ``cancelled`` by whoever stops it (:meth:`finish_attempt`).
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if run.state.finished:
                raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.CANCELLED)
            self._end_run(con, run_id, RunState.CANCELLED, reason)
            rows = con.execute(
                "SELECT * FROM attempts WHERE run_id = ? AND state = 'running'", (run_id,)
            ).fetchall()
        return [_attempt(r) for r in rows]

    # -- tasks, attempts and pools ----------------------------------------------------

    def set_task_state(
        self, run_id: str, task_key: str, state: TaskState | str, *, reason: str | None = None
    ) -> Task:
        """Move a task that is not running: queue it, skip it, mark it upstream_failed...

        Running is entered only through :meth:`claim_task` and left only through
        :meth:`finish_attempt`; any other change not in ``TASK_TRANSITIONS`` raises
        :class:`InvalidTransitionError`.

        Examples
        --------
        >>> store.set_task_state(run.run_id, "load", "queued").state
        <TaskState.QUEUED: 'queued'>
        """
        target = TaskState(state)
        with self._tx() as con:
            task = self._require_task(con, run_id, task_key)
            if TaskState.RUNNING in (task.state, target):
                raise InvalidTransitionError(
                    f"task {task_key!r} of run {run_id!r}",
                    task.state,
                    target,
                    "Use claim_task to start a task and finish_attempt to end it.",
                )
            self._set_task(con, task, target, reason)
            return self._require_task(con, run_id, task_key)

    def running_task_count(self, pipeline: str | None = None) -> int:
        """How many tasks are running, in one pipeline's runs or in all."""
        with self._tx(write=False) as con:
            return self._running_tasks(con, pipeline)

    # -- orphans and repair -----------------------------------------------------------

    def repair(
        self, run_id: str, *, downstream: Mapping[str, Iterable[str]] | None = None
    ) -> list[str]:
        """Reset failed tasks and everything downstream of them, under the same run id.

        Tasks that failed, timed out, were cancelled or upstream_failed go back to
        ``pending``, together with their dependents (``downstream`` maps a task name or key
        to the names or keys that depend on it; a name covers all its fan-out items). Other
        tasks keep their state and outputs; every attempt is kept (new attempts get the next
        ``repair_generation``). The run goes back to ``queued``.

        Returns the reset task keys ([] and no change if nothing needs repair).

        Examples
        --------
        >>> store.repair(run.run_id, downstream={"load": {"report"}})
        ['load', 'report[0]']
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if not run.state.finished:
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, "repair", "Wait for it to finish or cancel it."
                )
            tasks = {t.task_key: t for t in map(_task, con.execute(
                "SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,)))}  # fmt: skip
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
            con.executemany(
                "UPDATE tasks SET state = 'pending', outputs = '{}', reason = NULL, "
                "updated_at = ? WHERE run_id = ? AND task_key = ?",
                [(self._now(), run_id, k) for k in keys],
            )
            con.execute(
                "UPDATE runs SET state = 'queued', finished_at = NULL, "
                "repair_generation = repair_generation + 1 WHERE run_id = ?",
                (run_id,),
            )
            self._event(con, run_id, f"repair {run.repair_generation + 1}: {', '.join(keys)}")
            return keys
