"""Task, attempt and pool transitions of the run store (a mixin of ``RunStore``).

This module owns everything that moves work forward once a run exists: starting, finishing
and cancelling runs and recording their report and history; queueing, skipping and claiming
tasks (a claim creates the next attempt and takes a pool slot in the same transaction);
attempt heartbeats and results; pool slots; detection and settlement of attempts orphaned by
a crash; and repair of a finished run. Each public method is one transaction of the store
(:mod:`workspace.jobs.store`); the shared in-transaction helpers are in
:mod:`workspace.jobs.store_rows`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from workspace.jobs.context import TableWrite
from workspace.jobs.models import (
    REPAIRABLE,
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    Attempt,
    AttemptState,
    InvalidTransitionError,
    Run,
    RunState,
    Task,
    TaskState,
)
from workspace.jobs.store_lineage import TableWritesMixin
from workspace.jobs.store_rows import StoreRows, _attempt, _task, _ts


class _Declined(Exception):
    """A claim found no capacity: roll the transaction back and report None."""


class RunLifecycleMixin(TableWritesMixin, StoreRows):
    """Run, task, attempt and pool transitions of :class:`~workspace.jobs.store.RunStore`."""

    def _set_task(
        self, con: sqlite3.Connection, task: Task, state: TaskState, reason: str | None = None
    ) -> None:
        if state not in TASK_TRANSITIONS.get(task.state, frozenset()):
            raise InvalidTransitionError(
                f"task {task.task_key!r} of run {task.run_id!r}", task.state, state
            )
        con.execute(
            "UPDATE tasks SET state = ?, reason = ?, updated_at = ? "
            "WHERE run_id = ? AND task_key = ?",
            (state, reason, self._now(), task.run_id, task.task_key),
        )

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

    def claim_task(
        self,
        run_id: str,
        task_key: str,
        *,
        executor: str | None = None,
        worker: str | None = None,
        pid: int | None = None,
        log_path: str | None = None,
        pool: str | None = None,
        pool_capacity: int | None = None,
        max_running_tasks: int | None = None,
        stale_after: timedelta | None = None,
    ) -> Attempt | None:
        """Start a queued task: create its next attempt and take a pool slot, atomically.

        Returns None (and changes nothing) when ``pool`` has no free slot out of
        ``pool_capacity`` or the pipeline already runs ``max_running_tasks`` tasks. Slots
        of holders whose heartbeat is older than ``stale_after`` count as free.

        Examples
        --------
        >>> attempt = store.claim_task(run.run_id, "load", pool="db", pool_capacity=2)
        >>> attempt.number, attempt.state
        (1, <AttemptState.RUNNING: 'running'>)
        """
        try:
            with self._tx() as con:
                run = self._require_run(con, run_id)
                task = self._require_task(con, run_id, task_key)
                if run.state != RunState.RUNNING:
                    raise InvalidTransitionError(
                        f"task {task_key!r} of run {run_id!r}",
                        task.state,
                        TaskState.RUNNING,
                        f"The run is {run.state}; start it with start_run first.",
                    )
                self._set_task(con, task, TaskState.RUNNING)
                if max_running_tasks is not None and (
                    self._running_tasks(con, run.pipeline) > max_running_tasks  # includes this one
                ):
                    raise _Declined
                now = self._now()
                attempt_id = con.execute(
                    "INSERT INTO attempts (run_id, task_key, number, repair_generation, executor, "
                    "worker, pid, pool, started_at, heartbeat_at, log_path) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING attempt_id",
                    (run_id, task_key, task.attempts + 1, run.repair_generation, executor, worker,
                     pid, pool, now, now, log_path),
                ).fetchone()[0]  # fmt: skip
                if pool is not None and not self._acquire(
                    con, pool, pool_capacity, attempt_id, stale_after
                ):
                    raise _Declined
                con.execute(
                    "UPDATE tasks SET attempts = attempts + 1 WHERE run_id = ? AND task_key = ?",
                    (run_id, task_key),
                )
                return self._require_attempt(con, attempt_id)
        except _Declined:
            return None

    def _acquire(
        self,
        con: sqlite3.Connection,
        pool: str,
        capacity: int | None,
        attempt_id: int,
        stale_after: timedelta | None,
    ) -> bool:
        if capacity is None or capacity < 0:
            raise ValueError(f"pool {pool!r} needs a slot count (pool_capacity >= 0)")
        held = con.execute(
            "SELECT pool FROM pool_slots WHERE attempt_id = ?", (attempt_id,)
        ).fetchone()
        if held is not None:
            return bool(held[0] == pool)
        fresh = None if stale_after is None else _ts(self.clock() - stale_after)
        used = con.execute(
            "SELECT count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
            "WHERE s.pool = ? AND a.state = 'running' AND (? IS NULL OR a.heartbeat_at >= ?)",
            (pool, fresh, fresh),
        ).fetchone()[0]
        if used >= capacity:
            return False
        con.execute(
            "INSERT INTO pool_slots (pool, attempt_id, acquired_at) VALUES (?, ?, ?)",
            (pool, attempt_id, self._now()),
        )
        return True

    def try_acquire_slot(
        self,
        pool: str,
        capacity: int,
        attempt_id: int,
        *,
        stale_after: timedelta | None = None,
    ) -> bool:
        """Take one of ``capacity`` slots of ``pool`` for a running attempt (idempotent).

        Pools are shared by every pipeline. A slot is released by :meth:`release_slot`,
        when its attempt finishes, or when its attempt is declared lost.
        """
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING:
                raise InvalidTransitionError(
                    f"attempt {attempt_id}", attempt.state, "holding a slot of " + repr(pool)
                )
            return self._acquire(con, pool, capacity, attempt_id, stale_after)

    def release_slot(self, attempt_id: int) -> None:
        """Give back the pool slot an attempt holds (no-op if it holds none)."""
        with self._tx() as con:
            con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt_id,))

    def pool_usage(self) -> dict[str, int]:
        """Slots in use per pool (held by running attempts)."""
        with self._tx(write=False) as con:
            rows = con.execute(
                "SELECT s.pool, count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
                "WHERE a.state = 'running' GROUP BY s.pool"
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def heartbeat(self, attempt_id: int) -> bool:
        """Record that an attempt is alive. False means it was declared lost: stop working."""
        with self._tx() as con:
            cur = con.execute(
                "UPDATE attempts SET heartbeat_at = ? WHERE attempt_id = ? AND state = 'running'",
                (self._now(), attempt_id),
            )
            if cur.rowcount == 0:
                self._require_attempt(con, attempt_id)
                return False
            return True

    def finish_attempt(
        self,
        attempt_id: int,
        state: AttemptState | str,
        *,
        error: str | None = None,
        failing_cell: int | None = None,
        notebook_path: str | None = None,
        report_path: str | None = None,
        outputs: Mapping[str, Any] | None = None,
        retry: bool = False,
        writes: Iterable[TableWrite] = (),
    ) -> Attempt:
        """End a running attempt; its task takes the same state (``queued`` if ``retry``).

        ``writes`` (the attempt's committed lake writes) are recorded whatever the state.
        Raises :class:`InvalidTransitionError` if the attempt is no longer running (for
        example it was declared lost): its late result is not recorded.

        Examples
        --------
        >>> store.finish_attempt(attempt.attempt_id, "succeeded", outputs={"rows": 10}).state
        <AttemptState.SUCCEEDED: 'succeeded'>
        """
        target = AttemptState(state)
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING or target in (
                AttemptState.RUNNING,
                AttemptState.LOST,
            ):
                raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, target)
            task = self._require_task(con, attempt.run_id, attempt.task_key)
            succeeded = target == AttemptState.SUCCEEDED
            task_state = TaskState.QUEUED if retry and not succeeded else TaskState(target)
            self._set_task(con, task, task_state, error)
            con.execute(
                "UPDATE attempts SET state = ?, finished_at = ?, error = ?, failing_cell = ?, "
                "notebook_path = ?, report_path = ? WHERE attempt_id = ?",
                (target, self._now(), error, failing_cell, notebook_path, report_path,
                 attempt_id),
            )  # fmt: skip
            if succeeded:
                con.execute(
                    "UPDATE tasks SET outputs = ? WHERE run_id = ? AND task_key = ?",
                    (json.dumps(dict(outputs or {}), default=str), task.run_id, task.task_key),
                )
            con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt_id,))
            self._record_writes(con, attempt, task, writes)
            if not succeeded:
                self._event(con, task.run_id, f"attempt {attempt.number} {target}: {error}",
                            task_key=task.task_key, level="error")  # fmt: skip
            return self._require_attempt(con, attempt_id)

    # -- orphans and repair -----------------------------------------------------------

    def find_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Running attempts whose last heartbeat is older than ``stale_after``."""
        with self._tx(write=False) as con:
            return self._orphans(con, stale_after)

    def _orphans(self, con: sqlite3.Connection, stale_after: timedelta) -> list[Attempt]:
        rows = con.execute(
            "SELECT * FROM attempts WHERE state = 'running' AND heartbeat_at < ? "
            "ORDER BY attempt_id",
            (_ts(self.clock() - stale_after),),
        ).fetchall()
        return [_attempt(r) for r in rows]

    def _abandon(
        self,
        con: sqlite3.Connection,
        attempt: Attempt,
        task_state: TaskState,
        message: str | None = None,
        event: str | None = None,
    ) -> None:
        message = message or f"heartbeat lost (last at {attempt.heartbeat_at.isoformat()})"
        con.execute(
            "UPDATE attempts SET state = 'lost', finished_at = ?, error = ? WHERE attempt_id = ?",
            (self._now(), message, attempt.attempt_id),
        )
        con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt.attempt_id,))
        task = self._require_task(con, attempt.run_id, attempt.task_key)
        self._set_task(con, task, task_state, message)
        self._event(con, attempt.run_id,
                    event or f"attempt {attempt.number} {message}; task {task_state}",
                    task_key=attempt.task_key, level="warning")  # fmt: skip

    def retry_counts(self, run_id: str, task_key: str) -> tuple[int, int]:
        """``(failures, lost)`` among a task's finished attempts in the run's current repair
        generation: attempts that failed or timed out, and attempts lost to the
        infrastructure (a scheduler that stopped, a kernel that did not start).

        The orchestrator spends the task's ``retries`` on failures only; lost attempts are
        retried on their own, bounded budget.
        """
        with self._tx(write=False) as con:
            run = self._require_run(con, run_id)
            row = con.execute(
                "SELECT count(*) FILTER (WHERE state IN ('failed', 'timed_out')), "
                "count(*) FILTER (WHERE state = 'lost') FROM attempts "
                "WHERE run_id = ? AND task_key = ? AND repair_generation = ?",
                (run_id, task_key, run.repair_generation),
            ).fetchone()
        return int(row[0]), int(row[1])

    def abandon_attempt(
        self,
        attempt_id: int,
        *,
        requeue: bool,
        error: str,
        event: str | None = None,
        stale_after: timedelta | None = None,
    ) -> Attempt | None:
        """Mark a running attempt ``lost`` with ``error``; queue its task again (``requeue``)
        or fail it. ``event`` is the line for the run's history (default: from ``error``).

        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since.
        """
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING:
                raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, "lost")
            if stale_after is not None and attempt.heartbeat_at >= self.clock() - stale_after:
                return None
            state = TaskState.QUEUED if requeue else TaskState.FAILED
            self._abandon(con, attempt, state, error, event)
            return self._require_attempt(con, attempt_id)

    def running_attempts(self) -> list[Attempt]:
        """Every running attempt (of any run), oldest first."""
        with self._tx(write=False) as con:
            rows = con.execute(
                "SELECT * FROM attempts WHERE state = 'running' ORDER BY attempt_id"
            ).fetchall()
        return [_attempt(r) for r in rows]

    def fail_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Mark orphaned attempts ``lost`` and their tasks ``failed``; returns them."""
        with self._tx() as con:
            orphans = self._orphans(con, stale_after)
            for attempt in orphans:
                self._abandon(con, attempt, TaskState.FAILED)
            return [self._require_attempt(con, a.attempt_id) for a in orphans]

    def requeue(self, attempt_id: int, *, stale_after: timedelta | None = None) -> Attempt | None:
        """Mark a running attempt ``lost`` and queue its task again (the next attempt resumes).

        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since.
        """
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING:
                raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, "lost")
            if stale_after is not None and attempt.heartbeat_at >= self.clock() - stale_after:
                return None
            self._abandon(con, attempt, TaskState.QUEUED)
            return self._require_attempt(con, attempt_id)

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
