"""An alert event (what happened to a run) and the errors of alerting.

:func:`event_from_run` builds an :class:`AlertEvent` from the run store's
:class:`~workspace.jobs.models.RunDetail` (failed tasks with their error and failing cell).
Sinks (:mod:`workspace.jobs.alerts.sinks`) format and send it; :mod:`workspace.jobs.alerts.config`
reads ``alerts.yaml`` and picks the sinks of each event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workspace.jobs.models import Attempt, RunDetail, TaskState
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    pass


ENTRY_POINT_GROUP = "workspace.alert_sinks"


#: ``security``: an alert of the audit trail (workspace.jobs.alerts.security)
AlertKind = Literal[
    "failure", "success", "sla_start", "sla_duration", "security", "access", "quality"
]


_HEADLINE = {
    "failure": "failed",
    "success": "succeeded",
    "sla_start": "missed its start SLA",
    "sla_duration": "missed its duration SLA",
    "security": "security alert",
    "access": "access request",
    "quality": "quality findings",
}


class AlertConfigError(WorkspaceError, ValueError):
    """Alert configuration (``alerts.yaml``, a sink's options) is invalid."""


class AlertDeliveryError(WorkspaceError):
    """A sink could not deliver an alert after its last try.

    ``sink`` is the sink's name, ``reason`` the last failure ("HTTP 500 Internal Server Error",
    "connection refused", "SMTP 550 ..."), ``tries`` how often delivery was tried.
    """

    def __init__(self, sink: str, target: str, reason: str, tries: int) -> None:
        self.sink, self.target, self.reason, self.tries = sink, target, reason, tries
        super().__init__(
            f"Alert sink {sink!r} ({target}) could not deliver the alert after {tries} "
            f"{'try' if tries == 1 else 'tries'}: {reason}. Check the sink's settings in "
            "alerts.yaml and that the receiver is reachable."
        )


def format_seconds(seconds: float | None) -> str:
    """A short human duration.

    >>> format_seconds(3725), format_seconds(42.4), format_seconds(None)
    ('1h 2m 5s', '42s', '-')
    """
    if seconds is None:
        return "-"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h"] if hours else []
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else "-"


class FailedTask(BaseModel):
    """A task that failed for good: its last error and the notebook cell that raised."""

    model_config = ConfigDict(frozen=True)

    task_key: str
    state: str = "failed"
    error: str | None = None
    failing_cell: int | None = None
    report_path: str | None = None


class AlertEvent(BaseModel):
    """What happened to a run, in the form every sink formats.

    ``summary`` is filled in from the other fields when not given.

    Examples
    --------
    >>> e = AlertEvent(kind="failure", pipeline="demo_refresh", run_id="r1", state="failed",
    ...                failed_tasks=[FailedTask(task_key="quality_gate", error="boom")])
    >>> e.summary
    'demo_refresh failed: quality_gate (run r1)'
    >>> e.title
    'demo_refresh failed: quality_gate'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: AlertKind
    pipeline: str = Field(min_length=1)
    run_id: str = Field(min_length=1)
    state: str
    scheduled_for: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration: float | None = Field(None, ge=0, description="seconds the run took (or is taking)")
    sla_limit: float | None = Field(None, ge=0, description="the SLA that was missed, seconds")
    sla_observed: float | None = Field(None, description="start delay or duration, seconds")
    failed_tasks: list[FailedTask] = Field(default_factory=list)
    findings: list[str] = Field(
        default_factory=list, description="what changed, one line each (quality alerts)"
    )
    report: str | None = Field(None, description="link or path of the run's report")
    summary: str = ""

    @model_validator(mode="after")
    def _fill_summary(self) -> AlertEvent:
        if not self.summary:
            object.__setattr__(self, "summary", self._default_summary())
        return self

    @property
    def title(self) -> str:
        """A one-line headline, used as the email subject after ``[workspace]``."""
        title = f"{self.pipeline} {_HEADLINE[self.kind]}"
        if self.kind == "failure" and self.failed_tasks:
            title += ": " + ", ".join(t.task_key for t in self.failed_tasks[:3])
            if len(self.failed_tasks) > 3:
                title += f" and {len(self.failed_tasks) - 3} more"
        return title

    def _default_summary(self) -> str:
        if self.kind == "failure":
            return f"{self.title} (run {self.run_id})"
        if self.kind == "quality":
            return f"{self.title}: {self.state} (run {self.run_id})"
        if self.kind == "success":
            return f"{self.title} in {format_seconds(self.duration)} (run {self.run_id})"
        limit = format_seconds(self.sla_limit)
        observed = format_seconds(self.sla_observed)
        if self.kind == "sla_start":
            tick = _when(self.scheduled_for)
            return (
                f"{self.title}: started {observed} after its {tick} tick "
                f"(limit {limit}, run {self.run_id})"
            )
        return f"{self.title}: ran {observed} (limit {limit}, run {self.run_id})"

    def facts(self) -> list[tuple[str, str]]:
        """Label/value pairs shown by the sinks, in order."""
        if self.kind in ("security", "access"):  # run_id: the audit entry, state: what
            return [("Alert", self.state), ("Audit entry", self.run_id),
                    ("When", _when(self.started_at))]  # fmt: skip
        out = [("Pipeline", self.pipeline), ("Run", self.run_id), ("State", self.state)]
        if self.kind == "quality":
            return [*out, *(("What changed", line) for line in self.findings)] + (
                [("Report", self.report)] if self.report else []
            )
        if self.scheduled_for:
            out.append(("Scheduled for", _when(self.scheduled_for)))
        out += [("Started", _when(self.started_at)), ("Finished", _when(self.finished_at))]
        out.append(("Duration", format_seconds(self.duration)))
        if self.sla_limit is not None:
            out.append(("SLA limit", format_seconds(self.sla_limit)))
        if self.report:
            out.append(("Report", self.report))
        return out


_FAILED_STATES = frozenset({TaskState.FAILED, TaskState.TIMED_OUT})


def event_from_run(
    detail: RunDetail,
    kind: AlertKind,
    *,
    sla_limit: float | None = None,
    report_url: str | None = None,
    now: datetime | None = None,
) -> AlertEvent:
    """Build the alert for ``kind`` from a run's detail (``RunStore.run_detail``).

    Parameters
    ----------
    detail
        The run with its tasks and attempts.
    kind
        ``"failure"``, ``"success"``, ``"sla_start"`` or ``"sla_duration"``.
    sla_limit
        The missed limit in seconds (``sla.start_within`` / ``sla.max_duration``).
    report_url
        A link to the run's report; defaults to the run's report path.
    now
        The current time, for a run that has not started or finished yet.

    Examples
    --------
    >>> event = event_from_run(detail, "failure")  # doctest: +SKIP
    >>> event.failed_tasks[0].task_key, event.failed_tasks[0].failing_cell  # doctest: +SKIP
    ('quality_gate', 3)
    """
    run = detail.run
    now = now or datetime.now(UTC)
    end = run.finished_at or now
    duration = (end - run.started_at).total_seconds() if run.started_at else None
    latest: dict[str, Attempt] = {}
    for attempt in detail.attempts:
        best = latest.get(attempt.task_key)
        key = (attempt.repair_generation, attempt.number, attempt.attempt_id)
        if best is None or key > (best.repair_generation, best.number, best.attempt_id):
            latest[attempt.task_key] = attempt
    failed = []
    for task in detail.tasks:
        if task.state not in _FAILED_STATES:
            continue
        last = latest.get(task.task_key)
        failed.append(
            FailedTask(
                task_key=task.task_key,
                state=str(task.state),
                error=(last.error if last else None) or task.reason,
                failing_cell=last.failing_cell if last else None,
                report_path=last.report_path if last else None,
            )
        )
    observed: float | None = None
    if kind == "sla_start" and run.scheduled_for:
        observed = ((run.started_at or now) - run.scheduled_for).total_seconds()
    elif kind == "sla_duration":
        observed = duration
    return AlertEvent(
        kind=kind,
        pipeline=run.pipeline,
        run_id=run.run_id,
        state=str(run.state),
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        duration=max(duration, 0.0) if duration is not None else None,
        sla_limit=sla_limit,
        sla_observed=observed,
        failed_tasks=failed,
        report=report_url or detail.report_path,
    )
