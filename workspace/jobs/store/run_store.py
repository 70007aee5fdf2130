"""The scheduler's durable run store: pipelines, runs, tasks, attempts and pool slots.

:class:`RunStore` is a facade over one :class:`~workspace.jobs.store.database.RunDatabase`
(the SQLite file ``$WORKSPACE_HOME/jobs/runs.sqlite``: WAL, migrations, transactions) and the
repositories of :mod:`~workspace.jobs.store.pipelines`, :mod:`~workspace.jobs.store.runs`,
:mod:`~workspace.jobs.store.tasks`, :mod:`~workspace.jobs.store.attempts`,
:mod:`~workspace.jobs.store.pools` and :mod:`~workspace.jobs.store.lineage`, which work inside
a transaction and never open one. Each public method opens exactly one transaction, so every
operation is atomic across the processes sharing the file (scheduler, CLI, HTTP API), and a
process killed at any point leaves all of it or none. Crash safety and sharing the store in
a larger deployment: ``docs/run-store.md``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import (
    Attempt,
    AttemptState,
    NewTask,
    Pipeline,
    Run,
    RunDetail,
    RunState,
    TableWriter,
    Task,
    TaskState,
    Trigger,
)
from workspace.jobs.spec.pipeline import Audience
from workspace.jobs.store.attempts import AttemptRepository
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.lineage import LineageRepository
from workspace.jobs.store.pipelines import (
    KEEP,
    EventKind,
    Governance,
    PipelineEvent,
    PipelineRepository,
    _Keep,
)
from workspace.jobs.store.pools import PoolRepository
from workspace.jobs.store.runs import RunRepository
from workspace.jobs.store.schema import store_path
from workspace.jobs.store.tasks import TaskRepository
from workspace.lake.settings import Settings

__all__ = ["SCHEDULER_REQUESTER", "RunStore"]

#: ``requested_by`` of the runs the scheduler creates itself (schedule ticks, ``after:``).
SCHEDULER_REQUESTER = "scheduler"


class RunStore:
    """Durable state of the pipeline scheduler, safe to share between local processes.

    Open it with :meth:`open`. Every public method is one transaction. Times default to
    ``clock()`` (UTC now); pass ``clock`` to control time in tests.

    Examples
    --------
    >>> import tempfile
    >>> store = RunStore.open(Path(tempfile.mkdtemp()) / "runs.sqlite")
    >>> store.upsert_pipeline("daily_sales").paused
    False
    >>> store.create_manual_run("daily_sales", tasks=["load"], requested_by="ada").state
    <RunState.QUEUED: 'queued'>

    A run from start to repair is the example of :mod:`workspace.jobs.store`.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path, self.busy_timeout = path, busy_timeout
        self._db = db = RunDatabase(path, busy_timeout=busy_timeout, clock=clock)
        self._pipelines = PipelineRepository(db)
        self._tasks = TaskRepository(db)
        self._runs = RunRepository(db, self._pipelines, self._tasks)
        self._pools = PoolRepository(db)
        self._lineage = LineageRepository()
        self._attempts = AttemptRepository(db, self._runs, self._tasks, self._pools, self._lineage)

    @classmethod
    def open(
        cls,
        target: Settings | str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> RunStore:
        """Open (creating and migrating if needed) the store of a workspace or at a path.

        ``target`` is :class:`Settings` (the store is ``<home>/jobs/runs.sqlite``), a file
        path, or ``None`` for ``Settings.resolve()``. ``busy_timeout``: seconds a write
        waits for another process's transaction before failing.

        Examples
        --------
        >>> import tempfile
        >>> home = Path(tempfile.mkdtemp())
        >>> with RunStore.open(Settings.resolve(home=home)) as store:
        ...     store.path == home / "jobs" / "runs.sqlite"
        True
        """
        if target is None or isinstance(target, Settings):
            path = store_path(target or Settings.resolve())
        else:
            path = Path(target).expanduser().absolute()
        store = cls(path, busy_timeout=busy_timeout, clock=clock)
        store._db.migrate()
        return store

    @property
    def clock(self) -> Callable[[], datetime]:
        """UTC "now" of the times the store records."""
        return self._db.clock

    def close(self) -> None:
        """Close this process's connection (the store reopens on next use)."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- pipelines ------------------------------------------------------------------------

    def upsert_pipeline(
        self,
        name: str,
        *,
        spec_hash: str | None = None,
        owner: str | _Keep | None = KEEP,
        enabled: bool | None = None,
    ) -> Pipeline:
        """Register a pipeline (``enabled_at`` = now) or update its spec hash, its
        ``enabled:`` (re-enabled: ``enabled_at`` = now) and a missing ``owner`` (never a
        recorded one: :meth:`set_owner`). See ``PipelineRepository.upsert``."""
        with self._db.transaction() as con:
            return self._pipelines.upsert(con, name, spec_hash, owner, enabled)

    def get_pipeline(self, name: str) -> Pipeline:
        """One pipeline; :class:`PipelineNotFoundError` if it is not registered."""
        with self._db.transaction(write=False) as con:
            return self._pipelines.get(con, name)

    def list_pipelines(self) -> list[Pipeline]:
        """All registered pipelines, by name."""
        with self._db.transaction(write=False) as con:
            return self._pipelines.get_all(con)

    def pause(self, name: str) -> Pipeline:
        """Pause a pipeline: no scheduled run is created until :meth:`resume`."""
        with self._db.transaction() as con:
            return self._pipelines.set_paused(con, name, True)

    def resume(self, name: str) -> Pipeline:
        """Resume a paused pipeline (:class:`PipelinePendingError` while it awaits review)."""
        with self._db.transaction() as con:
            return self._pipelines.set_paused(con, name, False)

    def governance(self, name: str) -> Governance:
        """Owner, review state and audience of a registered pipeline (404 otherwise)."""
        with self._db.transaction(write=False) as con:
            return self._pipelines.governance(con, name)

    def list_governance(self) -> dict[str, Governance]:
        """Every registered pipeline's record, by name."""
        with self._db.transaction(write=False) as con:
            return self._pipelines.all_governance(con)

    def pipeline_events(self, name: str, *, kind: EventKind | None = None) -> list[PipelineEvent]:
        """The recorded changes of a pipeline, oldest first (``kind='owner'``: owner history)."""
        with self._db.transaction(write=False) as con:
            return self._pipelines.events(con, name, kind)

    def adopt(self, name: str, *, owner: str | None, audience: Audience | None) -> Governance:
        """Register ``name`` if needed and take a folder's ``owner:``/``audience:``, once and
        only where nothing is recorded."""
        with self._db.transaction() as con:
            return self._pipelines.adopt(con, name, owner, audience)

    def register_promotion(self, name: str, *, owner: str, by: str, pending: bool) -> Governance:
        """Record a promotion of ``name`` by ``by``: a new pipeline gets ``owner``; a
        re-promotion keeps its owner. ``pending`` leaves it paused until approved."""
        with self._db.transaction() as con:
            return self._pipelines.register_promotion(con, name, owner, by, pending)

    def approve(self, name: str, *, by: str) -> Governance:
        """Approve a pending pipeline: its schedule is enabled from now on (no catch-up of
        ticks before the approval). 409 if it is not pending."""
        with self._db.transaction() as con:
            return self._pipelines.approve(con, name, by)

    def set_owner(self, name: str, owner: str, *, by: str, reason: str = "") -> Governance:
        """Make ``owner`` the pipeline's owner; the change is recorded (who, when, from)."""
        with self._db.transaction() as con:
            return self._pipelines.set_owner(con, name, owner, by, reason)

    def set_audience(self, name: str, audience: Audience | None, *, by: str) -> Governance:
        """Replace who may read the pipeline's reports (``None`` or empty: private)."""
        with self._db.transaction() as con:
            return self._pipelines.set_audience(con, name, audience, by)

    # -- runs -----------------------------------------------------------------------------

    def create_scheduled_run(
        self,
        pipeline: str,
        scheduled_for: datetime,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        trigger: Trigger = Trigger.SCHEDULE,
        owner: str | None = None,
        requested_by: str | None = SCHEDULER_REQUESTER,
    ) -> tuple[Run, bool]:
        """Create the run of ``pipeline`` for ``scheduled_for`` with its tasks, or return the
        existing one: ``(run, created)``, at most one run per pipeline and time. Raises
        ``PipelineNotFoundError``, ``PipelinePausedError`` or ``PipelinePendingError``."""
        with self._db.transaction() as con:
            return self._runs.create(con, pipeline, trigger, scheduled_for, None, tasks,
                                     parameters, owner, requested_by)  # fmt: skip

    def create_manual_run(
        self,
        pipeline: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        owner: str | None = None,
        requested_by: str | None = None,
    ) -> Run:
        """Create a run started by a person, ``requested_by`` (allowed while paused)."""
        with self._db.transaction() as con:
            return self._runs.create(con, pipeline, Trigger.MANUAL, None, None, tasks,
                                     parameters, owner, requested_by)[0]  # fmt: skip

    def create_triggered_run(
        self,
        pipeline: str,
        upstream_run_id: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        owner: str | None = None,
        requested_by: str | None = SCHEDULER_REQUESTER,
    ) -> tuple[Run, bool]:
        """Create the run that follows ``upstream_run_id`` (``after:``), at most once."""
        with self._db.transaction() as con:
            return self._runs.create(con, pipeline, Trigger.AFTER, None, upstream_run_id,
                                     tasks, parameters, owner, requested_by)  # fmt: skip

    def add_tasks(self, run_id: str, tasks: Iterable[NewTask | str]) -> list[Task]:
        """Add tasks to an unfinished run (fan-out items); re-adding a pending task updates
        it. Returns all the run's tasks."""
        with self._db.transaction() as con:
            return self._tasks.add(con, self._runs.get(con, run_id), tasks)

    def set_run_report(self, run_id: str, report_path: str) -> Run:
        """Record where the run's rendered report is (the link the UI shows)."""
        with self._db.transaction() as con:
            return self._runs.set_report(con, run_id, report_path)

    def add_event(
        self, run_id: str, message: str, *, task_key: str | None = None, level: str = "info"
    ) -> None:
        """Append a line to a run's history (level ``info``, ``warning`` or ``error``)."""
        with self._db.transaction() as con:
            self._runs.get(con, run_id)
            self._runs.event(con, run_id, message, task_key=task_key, level=level)

    def start_run(self, run_id: str, *, max_active_runs: int | None = None) -> bool:
        """Move a queued run to running; False (no change) when ``max_active_runs`` runs of
        its pipeline already run, a limit that holds across processes."""
        with self._db.transaction() as con:
            return self._runs.start(con, run_id, max_active_runs)

    def finish_run(self, run_id: str, state: RunState | str, *, reason: str | None = None) -> Run:
        """End a running run (or cancel a queued one); its pending and queued tasks become
        ``cancelled``. ``succeeded`` needs every task succeeded or skipped, and no state is
        allowed while a task runs (:class:`InvalidTransitionError`)."""
        with self._db.transaction() as con:
            return self._runs.finish(con, run_id, RunState(state), reason)

    def cancel_run(self, run_id: str, *, reason: str | None = None) -> list[Attempt]:
        """Cancel a queued or running run; returns the running attempts the caller must stop
        (each is finished as ``cancelled`` by whoever stops it, :meth:`finish_attempt`)."""
        with self._db.transaction() as con:
            self._runs.cancel(con, run_id, reason)
            return self._attempts.of_run(con, run_id, running=True)

    def repair(
        self,
        run_id: str,
        *,
        downstream: Mapping[str, Iterable[str]] | None = None,
        requested_by: str | None = None,
    ) -> list[str]:
        """Reset a finished run's failed tasks and everything ``downstream`` of them, under
        the same run id, all or nothing; returns the reset keys ([]: nothing to repair).
        ``requested_by`` becomes the run's requester (:meth:`RunRepository.repair
        <workspace.jobs.store.runs.RunRepository.repair>` has the rules)."""
        with self._db.transaction() as con:
            return self._runs.repair(con, run_id, downstream, requested_by)

    # -- reading runs ---------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        """One run; :class:`RunNotFoundError` if there is none."""
        with self._db.transaction(write=False) as con:
            return self._runs.get(con, run_id)

    def get_run_detail(self, run_id: str) -> RunDetail:
        """A run with its tasks, every attempt (all repair generations) and its history."""
        with self._db.transaction(write=False) as con:
            run, tasks = self._runs.get(con, run_id), self._tasks.of_run(con, run_id)
            attempts, events = self._attempts.of_run(con, run_id), self._runs.events(con, run_id)
        return RunDetail(run=run, tasks=tasks, attempts=attempts, events=events)

    def list_runs(
        self,
        *,
        pipeline: str | None = None,
        states: Iterable[RunState | str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs, newest first, filtered by pipeline, state(s) and date: the scheduled time,
        or the creation time for unscheduled runs (``since`` inclusive, ``until`` not)."""
        with self._db.transaction(write=False) as con:
            return self._runs.find(con, pipeline, states, since, until, limit, offset)

    def last_scheduled_time(self, pipeline: str) -> datetime | None:
        """The latest time a scheduled run of ``pipeline`` was created for (for catch-up)."""
        with self._db.transaction(write=False) as con:
            return self._runs.last_scheduled_time(con, pipeline)

    def count_active_runs(self, pipeline: str, *, include_queued: bool = False) -> int:
        """How many runs of ``pipeline`` are running (and queued, if asked)."""
        with self._db.transaction(write=False) as con:
            return self._runs.count_active(con, pipeline, include_queued)

    # -- tasks, attempts and pools --------------------------------------------------------

    def set_task_state(
        self, run_id: str, task_key: str, state: TaskState | str, *, reason: str | None = None
    ) -> Task:
        """Move a task that is not running: queue it, skip it, mark it upstream_failed...
        Running is entered only by :meth:`claim_task`, left only by :meth:`finish_attempt`;
        other changes not in ``TASK_TRANSITIONS`` raise :class:`InvalidTransitionError`."""
        with self._db.transaction() as con:
            return self._tasks.move(con, run_id, task_key, TaskState(state), reason)

    def running_task_count(self, pipeline: str | None = None) -> int:
        """How many tasks are running, in one pipeline's runs or in all."""
        with self._db.transaction(write=False) as con:
            return self._tasks.running_count(con, pipeline)

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
        """Start a queued task: create its next attempt and take a ``pool`` slot, or return
        None (no change) when the pool has no free slot out of ``pool_capacity`` (stale
        holders, by ``stale_after``, count as free) or ``max_running_tasks`` tasks run."""
        with self._db.transaction() as con:
            return self._attempts.claim(
                con, run_id, task_key, executor=executor, worker=worker, pid=pid,
                log_path=log_path, pool=pool, pool_capacity=pool_capacity,
                max_running_tasks=max_running_tasks, stale_after=stale_after,
            )  # fmt: skip

    def try_acquire_slot(
        self, pool: str, capacity: int, attempt_id: int, *, stale_after: timedelta | None = None
    ) -> bool:
        """Take one of ``capacity`` slots of ``pool`` (shared by every pipeline) for a running
        attempt (idempotent). Released by :meth:`release_slot` or the attempt's end."""
        with self._db.transaction() as con:
            return self._attempts.acquire_slot(con, pool, capacity, attempt_id, stale_after)

    def release_slot(self, attempt_id: int) -> None:
        """Give back the pool slot an attempt holds (no-op if it holds none)."""
        with self._db.transaction() as con:
            self._pools.release(con, attempt_id)

    def pool_usage(self) -> dict[str, int]:
        """Slots in use per pool (held by running attempts)."""
        with self._db.transaction(write=False) as con:
            return self._pools.usage(con)

    def heartbeat(self, attempt_id: int) -> bool:
        """Record that an attempt is alive. False means it was declared lost: stop working."""
        with self._db.transaction() as con:
            return self._attempts.heartbeat(con, attempt_id)

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
        resources: Mapping[str, Any] | None = None,
    ) -> Attempt:
        """End a running attempt; its task takes the same state (``queued`` if ``retry``),
        its lake ``writes`` and ``resources`` (``AttemptResources`` fields) are recorded
        whatever the state. A late result (lost attempt) raises InvalidTransitionError."""
        with self._db.transaction() as con:
            return self._attempts.finish(
                con, attempt_id, AttemptState(state), error=error, failing_cell=failing_cell,
                notebook_path=notebook_path, report_path=report_path, outputs=outputs,
                retry=retry, writes=writes, resources=resources,
            )  # fmt: skip

    def retry_counts(self, run_id: str, task_key: str) -> tuple[int, int]:
        """``(failures, lost)`` among a task's finished attempts in the run's current repair
        generation: failed or timed out, and lost to the infrastructure (a scheduler that
        stopped, a kernel that did not start), which has its own bounded retry budget."""
        with self._db.transaction(write=False) as con:
            return self._attempts.retry_counts(con, run_id, task_key)

    def running_attempts(self) -> list[Attempt]:
        """Every running attempt (of any run), oldest first."""
        with self._db.transaction(write=False) as con:
            return self._attempts.running(con)

    def find_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Running attempts whose last heartbeat is older than ``stale_after``."""
        with self._db.transaction(write=False) as con:
            return self._attempts.orphans(con, stale_after)

    def fail_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Mark orphaned attempts ``lost`` and their tasks ``failed``; returns them."""
        with self._db.transaction() as con:
            return self._attempts.fail_orphans(con, stale_after)

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
        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since."""
        state = TaskState.QUEUED if requeue else TaskState.FAILED
        with self._db.transaction() as con:
            return self._attempts.abandon(
                con, attempt_id, state, error=error, event=event, stale_after=stale_after
            )

    def requeue(self, attempt_id: int, *, stale_after: timedelta | None = None) -> Attempt | None:
        """Mark a running attempt ``lost`` and queue its task again (the next attempt resumes).
        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since."""
        with self._db.transaction() as con:
            return self._attempts.abandon(
                con, attempt_id, TaskState.QUEUED, stale_after=stale_after
            )

    # -- lineage --------------------------------------------------------------------------

    def table_writers(self, table: str) -> list[TableWriter]:
        """The pipeline tasks that wrote ``table`` (``layer.name``), most recent first: one
        entry per pipeline and task name (fan-out items of a task count as the task)."""
        with self._db.transaction(write=False) as con:
            return self._lineage.writers(con, table)
