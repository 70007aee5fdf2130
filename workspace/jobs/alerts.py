"""Alerts: when a run fails, succeeds or misses its SLA, tell people through sinks.

Three pieces, used by the scheduler after each state change that matters:

* :func:`event_from_run` builds an :class:`AlertEvent` from the run store's
  :class:`~workspace.jobs.models.RunDetail` (failed tasks with their error and failing cell).
* :func:`load_sinks` reads the deployment's ``alerts.yaml`` (default
  ``$WORKSPACE_HOME/alerts.yaml``) into named :class:`~workspace.jobs.alert_sinks.AlertSink`
  objects. ``${NAME}`` in a value is replaced by the environment variable ``NAME``, so secrets
  stay out of the file.
* :func:`notify` sends the event to the sinks the pipeline names, if its ``alerts:`` flags ask
  for that kind of event. It never raises: a dead webhook is logged and reported, and the
  scheduler loop carries on.

``alerts.yaml``::

    team_slack:
      type: webhook                     # webhook | email | package.module:Class
      url: ${SLACK_WEBHOOK_URL}
    ops_email:
      type: email
      host: smtp.example.org
      port: 587
      starttls: true
      username: alerts
      password: ${SMTP_PASSWORD}
      sender: workspace@example.org
      recipients: [data-platform@example.org]

Examples
--------
>>> from workspace.jobs.spec import Alerts
>>> event = AlertEvent(kind="success", pipeline="demo", run_id="r1", state="succeeded")
>>> notify(event, pipeline_alerts=Alerts(sinks=["team_slack"]), sinks={})  # on_success off
[]
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from workspace.jobs.models import Attempt, RunDetail, TaskState
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from workspace.jobs.alert_sinks import AlertSink
    from workspace.jobs.spec import Alerts

logger = logging.getLogger(__name__)

ALERTS_FILE = "alerts.yaml"
ENTRY_POINT_GROUP = "workspace.alert_sinks"

AlertKind = Literal["failure", "success", "sla_start", "sla_duration"]

_HEADLINE = {
    "failure": "failed",
    "success": "succeeded",
    "sla_start": "missed its start SLA",
    "sla_duration": "missed its duration SLA",
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
        out = [("Pipeline", self.pipeline), ("Run", self.run_id), ("State", self.state)]
        if self.scheduled_for:
            out.append(("Scheduled for", _when(self.scheduled_for)))
        out += [("Started", _when(self.started_at)), ("Finished", _when(self.finished_at))]
        out.append(("Duration", format_seconds(self.duration)))
        if self.sla_limit is not None:
            out.append(("SLA limit", format_seconds(self.sla_limit)))
        if self.report:
            out.append(("Report", self.report))
        return out


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SINK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")


class _Unset(Exception):
    def __init__(self, variable: str) -> None:
        self.variable = variable


def _substitute(value: Any, env: Mapping[str, str]) -> Any:
    """Replace ``${NAME}`` in every string of ``value`` with ``env[NAME]``."""
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            if match.group(1) not in env:
                raise _Unset(match.group(1))
            return env[match.group(1)]

        return _ENV_REF.sub(lookup, value)
    if isinstance(value, list):
        return [_substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, env) for k, v in value.items()}
    return value


def _raw_at(raw: Any, loc: tuple[Any, ...]) -> Any:
    for part in loc:
        try:
            raw = raw[part]
        except (KeyError, IndexError, TypeError):
            return None
    return raw


def _validation_message(where: str, raw: Any, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        # show the value as written in the file, never a substituted secret
        got = _raw_at(raw, tuple(err["loc"]))
        shown = "" if got is None or isinstance(got, (dict, list)) else f" (got {got!r})"
        lines.append(f"{where}{loc}: {msg}{shown}")
    return "\n".join(lines)


def default_alerts_path() -> Path:
    """``$WORKSPACE_HOME/alerts.yaml``."""
    from workspace.lake.settings import Settings

    return Settings.resolve().home / ALERTS_FILE


def load_sinks(
    path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> dict[str, AlertSink]:
    """Read ``alerts.yaml`` into sinks by name.

    Parameters
    ----------
    path
        The file; default ``$WORKSPACE_HOME/alerts.yaml``. A missing default file means no
        sinks; a missing file given explicitly is an error.
    env
        Variables for ``${NAME}`` references; default ``os.environ``.

    Raises
    ------
    AlertConfigError
        The file is not valid YAML, a sink's type is unknown, an option is invalid or a
        referenced environment variable is not set; the message names the file and field.

    Examples
    --------
    >>> sinks = load_sinks("alerts.yaml")  # doctest: +SKIP
    >>> sinks["team_slack"]  # doctest: +SKIP
    WebhookSink(name='team_slack', target='webhook https://hooks.example.org/…')
    """
    from workspace.jobs.alert_sinks import resolve_sink_class

    explicit = path is not None
    file = Path(path) if path is not None else default_alerts_path()
    if not file.is_file():
        if explicit:
            raise AlertConfigError(f"{file}: not found; create it to configure alert sinks")
        logger.debug("%s not found: no alert sinks configured", file)
        return {}
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise AlertConfigError(f"{file}:{where} not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise AlertConfigError(
            f"{file}: expected a mapping of sink names to settings "
            "(team_slack: {type: webhook, url: ...})"
        )
    env = os.environ if env is None else env
    sinks: dict[str, AlertSink] = {}
    for name, raw in data.items():
        where = f"{file}: {name}"
        if not isinstance(name, str) or not _SINK_NAME.match(name):
            raise AlertConfigError(
                f"{where}: a sink name starts with a letter and has letters, digits, _ or -"
            )
        if not isinstance(raw, dict):
            raise AlertConfigError(f"{where}: expected a mapping with 'type' and its options")
        try:
            options = _substitute(raw, env)
        except _Unset as unset:
            raise AlertConfigError(
                f"{where}: environment variable {unset.variable} is not set (referenced as "
                f"${{{unset.variable}}}); set it for the scheduler process"
            ) from None
        type_name = options.pop("type", None)
        if not isinstance(type_name, str) or not type_name:
            raise AlertConfigError(
                f"{where}.type: missing; use webhook, email or a dotted path (package.module:Class)"
            )
        try:
            cls = resolve_sink_class(type_name)
        except AlertConfigError as exc:
            raise AlertConfigError(f"{where}.type: {exc}") from None
        if cls.options_model is not None:
            try:
                options = cls.options_model.model_validate(options).model_dump()
            except ValidationError as exc:
                raise AlertConfigError(_validation_message(where, raw, exc)) from None
        try:
            sinks[name] = cls(**options, name=name)
        except (TypeError, ValueError) as exc:
            raise AlertConfigError(f"{where}: {exc}") from None
    return sinks


_WANTED = {
    "failure": "on_failure",
    "success": "on_success",
    "sla_start": "on_sla_miss",
    "sla_duration": "on_sla_miss",
}
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


def notify(
    event: AlertEvent, *, pipeline_alerts: Alerts, sinks: Mapping[str, AlertSink]
) -> list[str]:
    """Send ``event`` to the pipeline's sinks if its ``alerts:`` flags ask for it.

    Never raises: delivery errors and sink names missing from ``sinks`` are logged.

    Returns
    -------
    list of str
        Names of the sinks that did not get the event (delivery failed or unknown name);
        empty when every send succeeded or nothing was to be sent.

    Examples
    --------
    >>> notify(event, pipeline_alerts=spec.alerts, sinks=load_sinks())  # doctest: +SKIP
    ['team_slack']
    """
    try:
        flag = _WANTED[event.kind]
        if not getattr(pipeline_alerts, flag):
            logger.debug("%s: %s alerts are off (alerts.%s)", event.pipeline, event.kind, flag)
            return []
        names = list(dict.fromkeys(pipeline_alerts.sinks))
    except Exception:
        logger.exception("alert for run %s not sent: invalid event or settings", event.run_id)
        return []
    failed: list[str] = []
    for name in names:
        sink = sinks.get(name)
        if sink is None:
            known = ", ".join(sorted(sinks)) or "none"
            logger.error(
                "Pipeline %r names alert sink %r in alerts.sinks, but no sink of that name is "
                "configured (configured: %s). Add it to %s or fix the pipeline's alerts.sinks.",
                event.pipeline,
                name,
                known,
                ALERTS_FILE,
            )
            failed.append(name)
            continue
        try:
            sink.send(event)
        except AlertDeliveryError as exc:
            logger.error("%s alert for run %s not delivered: %s", event.kind, event.run_id, exc)
            failed.append(name)
        except Exception:
            logger.exception("alert sink %r failed unexpectedly for run %s", name, event.run_id)
            failed.append(name)
        else:
            logger.info("%s alert for run %s sent to %s", event.kind, event.run_id, name)
    return failed
