"""What a notebook attempt is (:class:`AttemptSpec`) and how it ended (:class:`AttemptResult`).

An attempt's result also lists the lake tables it wrote (:class:`TableWrite`).

Both are plain dataclasses that round-trip through JSON, so an attempt can be handed to a
subprocess or a Dask worker and its result read back.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

Status = Literal["succeeded", "failed", "timed_out", "cancelled"]
STATUSES: tuple[str, ...] = ("succeeded", "failed", "timed_out", "cancelled")
DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024

__all__ = ["AttemptResult", "AttemptSpec", "RunContext", "Status", "TableWrite"]


def _default_env() -> str:
    return os.environ.get("WORKSPACE_ENV", "dev")


@dataclass(frozen=True)
class RunContext:
    """Who runs a notebook: the run, pipeline, task, attempt, logical date, environment.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> day = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> ctx = RunContext("r1", "sales", "load", logical_date=day)
    >>> ctx.parameters()["workspace_logical_date"]
    '2024-01-01T00:00:00+00:00'
    """

    run_id: str
    pipeline: str
    task: str
    attempt: int = 1
    logical_date: datetime = field(default_factory=lambda: datetime.now().astimezone())
    environment: str = field(default_factory=_default_env)

    def __post_init__(self) -> None:
        if self.logical_date.tzinfo is None:
            raise ValueError(
                f"RunContext.logical_date {self.logical_date.isoformat()} has no time zone; "
                "pass an aware datetime, e.g. datetime(..., tzinfo=timezone.utc)."
            )

    def parameters(self) -> dict[str, Any]:
        """Parameters injected into every run, next to the user's."""
        return {
            "workspace_run_id": self.run_id,
            "workspace_pipeline": self.pipeline,
            "workspace_task": self.task,
            "workspace_attempt": self.attempt,
            "workspace_logical_date": self.logical_date.isoformat(),
            "workspace_environment": self.environment,
        }

    def env(self) -> dict[str, str]:
        """Environment variables exported to the kernel."""
        return {k.upper(): str(v) for k, v in self.parameters().items()} | {
            "WORKSPACE_ENV": self.environment
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"logical_date": self.logical_date.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunContext:
        return cls(**(data | {"logical_date": datetime.fromisoformat(data["logical_date"])}))


@dataclass(frozen=True)
class AttemptSpec:
    """Everything needed to run one attempt of one task, anywhere.

    Examples
    --------
    >>> spec = AttemptSpec(Path("nb.ipynb"), {}, RunContext("r", "p", "t"), Path("/tmp/a"))
    >>> AttemptSpec.from_dict(spec.to_dict()) == spec
    True
    """

    notebook: Path
    parameters: dict[str, Any]
    context: RunContext
    attempt_dir: Path
    kernel_name: str = "workspace"
    timeout: float | None = None
    cell_timeout: float | None = None
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    env: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            notebook=str(self.notebook),
            attempt_dir=str(self.attempt_dir),
            context=self.context.to_dict(),
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttemptSpec:
        return cls(
            **data
            | {
                "notebook": Path(data["notebook"]),
                "attempt_dir": Path(data["attempt_dir"]),
                "context": RunContext.from_dict(data["context"]),
            }
        )


@dataclass(frozen=True)
class TableWrite:
    """One committed lake write made by an attempt (a line of its ``writes.jsonl``).

    Examples
    --------
    >>> line = {"table": "silver.x", "snapshot_id": 7, "rows": 3, "mode": "append",
    ...         "at": "2025-01-01T00:00:00+00:00"}
    >>> TableWrite.from_dict(line).to_dict() == line
    True
    """

    table: str
    snapshot_id: int
    rows: int
    mode: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"at": self.at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableWrite:
        return cls(
            table=str(data["table"]),
            snapshot_id=int(data["snapshot_id"]),
            rows=int(data["rows"]),
            mode=str(data["mode"]),
            at=datetime.fromisoformat(data["at"]),
        )


@dataclass
class AttemptResult:
    """How one attempt ended. ``status`` is never ``"succeeded"`` after any failure.

    ``error`` is a one-line message for people; ``cell_index``/``cell_source`` locate the
    failing cell (``cell_index`` is 1-based, counted in the notebook the user wrote, as in
    "cell 3"), ``ename``/``evalue`` the exception.
    ``writes`` are the lake writes the notebook committed, in order (also when it failed
    later: a committed write stays). ``infrastructure`` is True when the attempt failed
    before running any of the notebook because its kernel did not start: not the task's
    fault, so it is retried without using up the task's retries.
    """

    status: Status
    started: datetime
    finished: datetime
    attempt_dir: Path
    executed_notebook: Path | None = None
    report: Path | None = None
    error: str | None = None
    ename: str | None = None
    evalue: str | None = None
    cell_index: int | None = None
    cell_source: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    writes: list[TableWrite] = field(default_factory=list)
    infrastructure: bool = False
    resources: dict[str, Any] = field(default_factory=dict)  # AttemptResources fields

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def duration(self) -> float:
        return (self.finished - self.started).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("started", "finished"):
            data[key] = data[key].isoformat()
        for key in ("attempt_dir", "executed_notebook", "report"):
            data[key] = None if data[key] is None else str(data[key])
        data["writes"] = [w.to_dict() for w in self.writes]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttemptResult:
        data = dict(data)
        for key in ("started", "finished"):
            data[key] = datetime.fromisoformat(data[key])
        for key in ("attempt_dir", "executed_notebook", "report"):
            data[key] = None if data[key] is None else Path(data[key])
        data["writes"] = [TableWrite.from_dict(w) for w in data.get("writes", [])]
        return cls(**data)
