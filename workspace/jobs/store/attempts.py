"""Attempts in the run store: claims, heartbeats, results, and attempts orphaned by a crash.

A claim starts a queued task: it creates the task's next attempt and takes its pool slot
together, or changes nothing when the pool or the pipeline's ``max_running_tasks`` is full.
A running attempt sends heartbeats; its end gives its task the same state (or ``queued``
for a retry) and records its lake writes. A process killed mid-attempt leaves a stale
``heartbeat_at``: such attempts are found (:meth:`AttemptRepository.orphans`) and settled as
``lost``, their task failed or queued again. :class:`AttemptRepository` works inside the
caller's transaction (:mod:`workspace.jobs.store.database`) and never opens one; it writes
tasks, pool slots and table writes through their repositories.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import (
    Attempt,
    AttemptNotFoundError,
    AttemptResources,
    AttemptState,
    InvalidTransitionError,
    Run,
    RunState,
    Task,
    TaskState,
    Trigger,
)
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.lineage import LineageRepository
from workspace.jobs.store.pools import PoolRepository
from workspace.jobs.store.rows import attempt_record, ts
from workspace.jobs.store.runs import RunRepository
from workspace.jobs.store.tasks import TaskRepository


class AttemptRepository:
    """The ``attempts`` table; each method runs in ``con``, the caller's open transaction."""

    def __init__(
        self,
        db: RunDatabase,
        runs: RunRepository,
        tasks: TaskRepository,
        pools: PoolRepository,
        lineage: LineageRepository,
    ) -> None:
        self._db = db
        self._runs = runs
        self._tasks = tasks
        self._pools = pools
        self._lineage = lineage

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def get(con: sqlite3.Connection, attempt_id: int) -> Attempt:
        """One attempt; :class:`AttemptNotFoundError` if there is none."""
        row = con.execute("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise AttemptNotFoundError(attempt_id)
        return attempt_record(row)

    @staticmethod
    def of_run(con: sqlite3.Connection, run_id: str, *, running: bool = False) -> list[Attempt]:
        """A run's attempts (every repair generation; only running ones with ``running``)."""
        rows = con.execute(
            "SELECT * FROM attempts WHERE run_id = ? AND (? = 0 OR state = 'running') "
            "ORDER BY attempt_id",
            (run_id, int(running)),
        )
        return [attempt_record(r) for r in rows]

    @staticmethod
    def running(con: sqlite3.Connection) -> list[Attempt]:
        """Every running attempt (of any run), oldest first."""
        rows = con.execute("SELECT * FROM attempts WHERE state = 'running' ORDER BY attempt_id")
        return [attempt_record(r) for r in rows]

    def orphans(self, con: sqlite3.Connection, stale_after: timedelta) -> list[Attempt]:
        """Running attempts whose last heartbeat is older than ``stale_after``."""
        rows = con.execute(
            "SELECT * FROM attempts WHERE state = 'running' AND heartbeat_at < ? "
            "ORDER BY attempt_id",
            (ts(self._db.clock() - stale_after),),
        )
        return [attempt_record(r) for r in rows]

    def retry_counts(self, con: sqlite3.Connection, run_id: str, task_key: str) -> tuple[int, int]:
        """``(failures, lost)`` among a task's attempts in the run's repair generation."""
        run = self._runs.get(con, run_id)
        row = con.execute(
            "SELECT count(*) FILTER (WHERE state IN ('failed', 'timed_out')), "
            "count(*) FILTER (WHERE state = 'lost') FROM attempts "
            "WHERE run_id = ? AND task_key = ? AND repair_generation = ?",
            (run_id, task_key, run.repair_generation),
        ).fetchone()
        return int(row[0]), int(row[1])

    # -- claiming and running -------------------------------------------------------------

    def claim(
        self,
        con: sqlite3.Connection,
        run_id: str,
        task_key: str,
        *,
        executor: str | None,
        worker: str | None,
        pid: int | None,
        log_path: str | None,
        pool: str | None,
        pool_capacity: int | None,
        max_running_tasks: int | None,
        stale_after: timedelta | None,
    ) -> Attempt | None:
        """Start a queued task's next attempt with its pool slot; None (nothing written)
        when the pool or the pipeline is full. Every check comes before the first write."""
        run = self._runs.get(con, run_id)
        task = self._tasks.get(con, run_id, task_key)
        if run.state != RunState.RUNNING:
            raise InvalidTransitionError(
                f"task {task_key!r} of run {run_id!r}",
                task.state,
                TaskState.RUNNING,
                f"The run is {run.state}; start it with start_run first.",
            )
        self._tasks.check(task, TaskState.RUNNING)
        if max_running_tasks is not None and (
            self._tasks.running_count(con, run.pipeline) >= max_running_tasks
        ):
            return None
        if pool is not None and not self._pools.has_room(con, pool, pool_capacity, stale_after):
            return None
        self._tasks.set_state(con, task, TaskState.RUNNING)
        now = self._db.now()
        waits = _waits(run, task, self._db.clock())
        attempt_id = con.execute(
            "INSERT INTO attempts (run_id, task_key, number, repair_generation, executor, "
            "worker, pid, pool, started_at, heartbeat_at, log_path, resources) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING attempt_id",
            (run_id, task_key, task.attempts + 1, run.repair_generation, executor, worker,
             pid, pool, now, now, log_path, json.dumps(waits)),
        ).fetchone()[0]  # fmt: skip
        if pool is not None:
            self._pools.acquire(con, pool, pool_capacity, attempt_id, stale_after)
        self._tasks.count_attempt(con, task)
        return self.get(con, attempt_id)

    def acquire_slot(
        self,
        con: sqlite3.Connection,
        pool: str,
        capacity: int,
        attempt_id: int,
        stale_after: timedelta | None,
    ) -> bool:
        """Take a slot of ``pool`` for a running attempt (idempotent)."""
        attempt = self.get(con, attempt_id)
        if attempt.state != AttemptState.RUNNING:
            raise InvalidTransitionError(
                f"attempt {attempt_id}", attempt.state, "holding a slot of " + repr(pool)
            )
        return self._pools.acquire(con, pool, capacity, attempt_id, stale_after)

    def heartbeat(self, con: sqlite3.Connection, attempt_id: int) -> bool:
        """Record that an attempt is alive; False if it is no longer running."""
        cur = con.execute(
            "UPDATE attempts SET heartbeat_at = ? WHERE attempt_id = ? AND state = 'running'",
            (self._db.now(), attempt_id),
        )
        if cur.rowcount == 0:
            self.get(con, attempt_id)
            return False
        return True

    def finish(
        self,
        con: sqlite3.Connection,
        attempt_id: int,
        target: AttemptState,
        *,
        error: str | None,
        failing_cell: int | None,
        notebook_path: str | None,
        report_path: str | None,
        outputs: Mapping[str, Any] | None,
        retry: bool,
        writes: Iterable[TableWrite],
        resources: Mapping[str, Any] | None = None,
    ) -> Attempt:
        """End a running attempt; its task takes the same state (``queued`` if ``retry``)."""
        attempt = self.get(con, attempt_id)
        if attempt.state != AttemptState.RUNNING or target in (
            AttemptState.RUNNING,
            AttemptState.LOST,
        ):
            raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, target)
        task = self._tasks.get(con, attempt.run_id, attempt.task_key)
        succeeded = target == AttemptState.SUCCEEDED
        task_state = TaskState.QUEUED if retry and not succeeded else TaskState(target)
        self._tasks.set_state(con, task, task_state, error)
        writes = list(writes)
        used = {**attempt.resources.model_dump(exclude_unset=True), **(resources or {})}
        if writes or resources:
            used["rows_written"] = sum(w.rows for w in writes)
        used = AttemptResources.model_validate(used).model_dump(mode="json", exclude_none=True)
        con.execute(
            "UPDATE attempts SET state = ?, finished_at = ?, error = ?, failing_cell = ?, "
            "notebook_path = ?, report_path = ?, resources = ? WHERE attempt_id = ?",
            (target, self._db.now(), error, failing_cell, notebook_path, report_path,
             json.dumps(used), attempt_id),
        )  # fmt: skip
        if succeeded:
            self._tasks.set_outputs(con, task, outputs or {})
        self._pools.release(con, attempt_id)
        self._lineage.record(con, attempt, task, writes)
        if not succeeded:
            self._runs.event(con, task.run_id, f"attempt {attempt.number} {target}: {error}",
                             task_key=task.task_key, level="error")  # fmt: skip
        return self.get(con, attempt_id)

    # -- lost attempts --------------------------------------------------------------------

    def abandon(
        self,
        con: sqlite3.Connection,
        attempt_id: int,
        task_state: TaskState,
        *,
        error: str | None = None,
        event: str | None = None,
        stale_after: timedelta | None = None,
    ) -> Attempt | None:
        """Mark a running attempt ``lost`` and move its task to ``task_state``.

        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since.
        """
        attempt = self.get(con, attempt_id)
        if attempt.state != AttemptState.RUNNING:
            raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, "lost")
        if stale_after is not None and attempt.heartbeat_at >= self._db.clock() - stale_after:
            return None
        self._lose(con, attempt, task_state, error, event)
        return self.get(con, attempt_id)

    def fail_orphans(self, con: sqlite3.Connection, stale_after: timedelta) -> list[Attempt]:
        """Mark orphaned attempts ``lost`` and their tasks ``failed``; returns them."""
        orphans = self.orphans(con, stale_after)
        for attempt in orphans:
            self._lose(con, attempt, TaskState.FAILED)
        return [self.get(con, a.attempt_id) for a in orphans]

    def _lose(
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
            (self._db.now(), message, attempt.attempt_id),
        )
        self._pools.release(con, attempt.attempt_id)
        task = self._tasks.get(con, attempt.run_id, attempt.task_key)
        self._tasks.set_state(con, task, task_state, message)
        self._runs.event(con, attempt.run_id,
                         event or f"attempt {attempt.number} {message}; task {task_state}",
                         task_key=attempt.task_key, level="warning")  # fmt: skip


def _waits(run: Run, task: Task, now: datetime) -> dict[str, float]:
    """Queue wait (since the task became queued) and the run's lateness (scheduled runs)."""
    waits = {"queue_wait_seconds": max(0.0, (now - task.updated_at).total_seconds())}
    if run.trigger == Trigger.SCHEDULE and run.scheduled_for is not None:
        started = run.started_at or now
        waits["lateness_seconds"] = (started - run.scheduled_for).total_seconds()
    return waits
