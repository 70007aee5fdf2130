"""Records and errors of the run store (:mod:`workspace.jobs.store.run_store`).

The records are frozen pydantic models: ``record.model_dump(mode="json")`` is what the HTTP
API sends. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workspace.lake.errors import WorkspaceError


class RunState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"

    @property
    def finished(self) -> bool:
        return self not in (RunState.QUEUED, RunState.RUNNING)


class TaskState(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self not in (TaskState.PENDING, TaskState.QUEUED, TaskState.RUNNING)


class AttemptState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    LOST = "lost"  # orphaned: its process stopped sending heartbeats


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    AFTER = "after"
    BACKFILL = "backfill"


#: Task states a repair resets (together with everything downstream of them).
REPAIRABLE = frozenset(
    {TaskState.FAILED, TaskState.TIMED_OUT, TaskState.CANCELLED, TaskState.UPSTREAM_FAILED}
)

#: Allowed task transitions. Terminal states leave only through a repair.
TASK_TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.PENDING: frozenset(
        {TaskState.QUEUED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED, TaskState.CANCELLED}
    ),
    TaskState.QUEUED: frozenset(
        {
            TaskState.RUNNING,
            TaskState.PENDING,
            TaskState.SKIPPED,
            TaskState.UPSTREAM_FAILED,
            TaskState.CANCELLED,
        }
    ),
    TaskState.RUNNING: frozenset(
        {
            TaskState.SUCCEEDED,
            TaskState.FAILED,
            TaskState.TIMED_OUT,
            TaskState.CANCELLED,
            TaskState.QUEUED,  # retry, or an orphaned attempt requeued
        }
    ),
}

#: Allowed run transitions (a repair moves a finished run back to queued).
RUN_TRANSITIONS: dict[RunState, frozenset[RunState]] = {
    RunState.QUEUED: frozenset({RunState.RUNNING, RunState.CANCELLED}),
    RunState.RUNNING: frozenset(
        {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED, RunState.TIMED_OUT}
    ),
}


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Pipeline(_Record):
    """A pipeline as the scheduler knows it."""

    name: str
    paused: bool
    enabled_at: datetime
    paused_at: datetime | None = None
    spec_hash: str | None = None
    updated_at: datetime
    owner: str | None = Field(
        None, description="The owner in pipeline.yaml when the pipeline was last registered."
    )


class Run(_Record):
    """One run of a pipeline (scheduled, manual, after another run, or a backfill)."""

    run_id: str
    pipeline: str
    scheduled_for: datetime | None
    trigger: Trigger
    triggered_by: str | None = None
    state: RunState
    repair_generation: int = 0
    parameters: dict[str, Any] = Field(default_factory=dict)
    report_path: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    owner: str | None = Field(
        None, description="The pipeline's owner (pipeline.yaml `owner:`) when the run was created."
    )
    requested_by: str | None = Field(
        None,
        description="Who asked for the run: the user of a manual run or of its last repair, "
        "'scheduler' for schedule ticks, backfills and `after:` runs.",
    )


class Task(_Record):
    """One task of a run; a fan-out item is a task of its own (``report[2]``)."""

    run_id: str
    task_key: str
    name: str
    item_index: int | None = None
    item_value: Any = None
    state: TaskState
    attempts: int = 0
    outputs: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
    updated_at: datetime


class AttemptResources(_Record):
    """What an attempt used: measured by the runner (psutil, outside the kernel) and the
    run store (queue wait, lateness). None where it was not measured."""

    wall_seconds: float | None = Field(None, description="Kernel start to end of the attempt.")
    cpu_seconds: float | None = Field(
        None, description="CPU time (user + system) of the kernel's process tree."
    )
    peak_rss_bytes: int | None = Field(
        None, description="Peak resident memory of the kernel's process tree (sampled ~0.5 s)."
    )
    bytes_read: int | None = Field(
        None, description="Bytes the kernel's process tree read (files and pipes, rchar)."
    )
    dask_workers_min: int | None = Field(
        None, description="Fewest workers of the Dask cluster while the attempt ran."
    )
    dask_workers_max: int | None = Field(
        None, description="Most workers of the Dask cluster while the attempt ran."
    )
    rows_written: int | None = Field(None, description="Rows of the attempt's lake writes.")
    bytes_written: int | None = Field(
        None, description="Bytes of the data files the attempt's writes added, when known."
    )
    queue_wait_seconds: float | None = Field(
        None, description="From the task becoming queued to the attempt's claim."
    )
    lateness_seconds: float | None = Field(
        None, description="The run's start minus its scheduled time (scheduled runs only)."
    )
    measured: str | None = Field(
        None, description="What was measured: 'kernel' (its process tree) or nothing."
    )
    samples: int = Field(0, description="How many psutil samples were taken.")


class Attempt(_Record):
    """One execution of a task: where it ran, its heartbeat and what it left behind."""

    attempt_id: int
    run_id: str
    task_key: str
    number: int
    repair_generation: int
    state: AttemptState
    executor: str | None = None
    worker: str | None = None
    pid: int | None = None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None = None
    error: str | None = None
    failing_cell: int | None = None
    notebook_path: str | None = None
    report_path: str | None = None
    log_path: str | None = None
    pool: str | None = None
    resources: AttemptResources = Field(default_factory=AttemptResources)


class RunEvent(_Record):
    """A line of a run's history."""

    event_id: int
    run_id: str
    task_key: str | None = None
    at: datetime
    level: str
    message: str


class RunDetail(_Record):
    """A run with its tasks, attempts (all repair generations) and history."""

    run: Run
    tasks: list[Task]
    attempts: list[Attempt]
    events: list[RunEvent]

    @property
    def report_path(self) -> str | None:
        """The run's report, if one was rendered."""
        return self.run.report_path


class NewTask(_Record):
    """A task to add to a run: ``NewTask(key="report[2]", name="report", item_index=2)``."""

    key: str
    name: str
    item_index: int | None = None
    item_value: Any = None


class TableWriter(_Record):
    """A pipeline task that wrote a lake table, summarised over the run store's history.

    ``last_run_id`` and ``last_written`` are its newest write; ``runs`` counts the runs
    in which it wrote the table.
    """

    pipeline: str
    task: str
    last_run_id: str
    last_written: datetime
    runs: int


class RunStoreError(WorkspaceError):
    """Base of the run store's errors."""


class RunStoreVersionError(RunStoreError):
    """The store file was written by a newer version of the workspace."""


class PipelineNotFoundError(RunStoreError, LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"Pipeline {name!r} is not registered with the scheduler. "
            "Check its folder under scheduled/ and list them with `workspace jobs list`."
        )


class PipelinePausedError(RunStoreError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"Pipeline {name!r} is paused, so no scheduled run was created. "
            "Resume it with `workspace jobs resume NAME` first."
        )


class RunNotFoundError(RunStoreError, LookupError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"Run {run_id!r} not found. List runs with `workspace jobs runs`.")


class TaskNotFoundError(RunStoreError, LookupError):
    def __init__(self, run_id: str, task_key: str) -> None:
        self.run_id, self.task_key = run_id, task_key
        super().__init__(
            f"Run {run_id!r} has no task {task_key!r}. "
            "Show its tasks with `workspace jobs run RUN_ID`."
        )


class AttemptNotFoundError(RunStoreError, LookupError):
    def __init__(self, attempt_id: int) -> None:
        self.attempt_id = attempt_id
        super().__init__(f"Attempt {attempt_id} not found in the run store.")


class InvalidTransitionError(RunStoreError, ValueError):
    """A state change that the lifecycle does not allow (e.g. succeeding a queued task)."""

    def __init__(self, what: str, current: str, target: str, hint: str = "") -> None:
        self.what, self.current, self.target = what, str(current), str(target)
        super().__init__(
            f"Cannot move {what} from {self.current!r} to {self.target!r}."
            + (f" {hint}" if hint else "")
        )
