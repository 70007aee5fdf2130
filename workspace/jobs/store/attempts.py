"""Attempts and pool slots of the run store (a mixin of ``RunStore``).

Claiming a task (the claim creates the next attempt and takes a pool slot in the same
transaction), pool slots, attempt heartbeats and results, and detection and settlement of
attempts orphaned by a crash. Each public method is one transaction of the store.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import (
    Attempt,
    AttemptState,
    InvalidTransitionError,
    RunState,
    TaskState,
)
from workspace.jobs.store.lineage import TableWritesMixin
from workspace.jobs.store.rows import StoreRows, _attempt, _ts


class _Declined(Exception):
    """A claim found no capacity: roll the transaction back and report None."""


class AttemptsMixin(TableWritesMixin, StoreRows):
    """Attempt and pool transitions of :class:`~workspace.jobs.store.run_store.RunStore`."""

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
