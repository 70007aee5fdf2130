"""Payloads of the jobs HTTP APIs (:mod:`workspace.hub.jobs_api`, :mod:`workspace.server`).

Requests and responses are pydantic models; the run store's own records
(:mod:`workspace.jobs.models`) are reused inside them. :func:`component_schemas` produces the
JSON schemas that ``jobs_openapi.yaml`` carries under ``components.schemas`` (a test keeps the
two identical).

Examples
--------
>>> RunsQuery.model_validate({"limit": "10", "state": ["failed"]}).limit
10
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import models_json_schema

from workspace.api.access_models import ACCESS_MODELS
from workspace.api.classify_routes import ClassifyBody, ClassifyView
from workspace.api.lineage import TableLineage
from workspace.api.pipeline_trend import PipelineTrend, TaskCheckInfo
from workspace.governance.classify import ClassifyResult
from workspace.jobs.costs import AttemptCost
from workspace.jobs.models import Attempt, Pipeline, Run, RunEvent, RunState, Task
from workspace.jobs.spec.pipeline import Audience
from workspace.jobs.store.pipelines import Approval, PipelineEvent

REF_TEMPLATE = "#/components/schemas/{model}"


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- requests ---------------------------------------------------------------------------


class TriggerRequest(_Payload):
    """Body of ``POST pipelines/{name}/trigger`` (may be empty)."""

    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Notebook parameters for this run (override the pipeline's parameters).",
    )


class RerunRequest(_Payload):
    """Body of ``POST pipelines/{name}/reruns``: a viewer's values for declared parameters."""

    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="Values of the widget parameters the pipeline's notebooks declare; each "
        "is checked against its declaration (choices, bounds, type) before a run starts.",
    )


#: Hub user and group names accepted in audiences and owner changes.
_PRINCIPAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")
_NOTEBOOK_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_. ()-]{0,120}\.ipynb$")


def _principals(values: list[str], what: str) -> list[str]:
    bad = [v for v in values if not _PRINCIPAL.match(v)]
    if bad:
        raise ValueError(f"not a valid {what} name: {', '.join(map(repr, bad))}")
    return sorted(dict.fromkeys(values))


class AudienceRequest(_Payload):
    """Body of ``PUT pipelines/{name}/audience``: who may read the pipeline's reports
    besides its owner, engineers and admins. Both lists empty: private again."""

    groups: list[str] = Field(default_factory=list, description="Hub groups, e.g. stakeholders.")
    users: list[str] = Field(default_factory=list, description="Hub user names.")

    @field_validator("groups")
    @classmethod
    def _groups(cls, value: list[str]) -> list[str]:
        return _principals(value, "group")

    @field_validator("users")
    @classmethod
    def _users(cls, value: list[str]) -> list[str]:
        return _principals(value, "user")

    def audience(self) -> Audience | None:
        """The audience to store (``None``: private)."""
        if not self.groups and not self.users:
            return None
        return Audience(groups=self.groups, users=self.users)


class OwnerRequest(_Payload):
    """Body of ``POST pipelines/{name}/owner``: hand the pipeline over to another user."""

    owner: str = Field(description="The hub user who becomes the owner.")
    reason: str = Field("", max_length=500, description="Why (kept in the pipeline's history).")

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str) -> str:
        return _principals([value], "user")[0]


class PromotionRequest(_Payload):
    """Body of ``POST promotions``: a notebook to test-run and make a pipeline."""

    name: str = Field(description="The pipeline's name (its folder under scheduled/).")
    notebook: dict[str, Any] = Field(description="The notebook's content (.ipynb JSON).")
    notebook_name: str = Field(
        "main.ipynb", description="File name of the notebook in the pipeline's folder."
    )
    cron: str | None = Field(None, description="Cron expression; none: manual trigger only.")
    timezone: str = "UTC"
    parameters: dict[str, Any] = Field(default_factory=dict)
    force: bool = Field(False, description="Replace the existing pipeline of that name.")
    kernel: str | None = Field(None, description="Kernel of the test (default: the notebook's).")
    timeout: float | None = Field(None, gt=0, description="Seconds the test run may take.")

    @field_validator("cron")
    @classmethod
    def _blank_cron(cls, value: str | None) -> str | None:
        return " ".join(value.split()) if value and value.strip() else None

    @field_validator("notebook_name")
    @classmethod
    def _file(cls, value: str) -> str:
        if not _NOTEBOOK_FILE.match(value):
            raise ValueError(
                f"{value!r} is not a notebook file name: letters, digits, '_', '.', '-', "
                "ending in .ipynb, no folders"
            )
        return value


class PromotionResponse(_Payload):
    """How a promotion ended: the pipeline and its review state, or the failed test."""

    pipeline: str
    ok: bool = Field(description="Whether the test run passed and the pipeline was written.")
    message: str
    approval: Approval | None = Field(
        None, description="'pending' (waits for an engineer's approval) or 'approved'."
    )
    owner: str | None = None
    folder: str | None = None
    test_id: str | None = Field(None, description="Names the test run's report.")
    test_status: str | None = None
    report_url: str | None = None


class PipelineHistory(_Payload):
    """What happened to a pipeline: promotions, approvals, owners, audiences."""

    pipeline: str
    events: list[PipelineEvent]


_PLUS_AS_SPACE = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d(?::?\d\d)?)$")


def _as_utc(value: Any) -> Any:
    """ISO date or datetime text -> aware UTC datetime (a date means its midnight, UTC).

    An unescaped ``+`` of an offset arrives as a space in a query string; it is restored.
    """
    if isinstance(value, str):
        value = _PLUS_AS_SPACE.sub(r"\1+\2", value.strip())
    if isinstance(value, str) and len(value) == 10:
        try:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        except ValueError:
            return value
    return value


class RunsQuery(_Payload):
    """Query parameters of ``GET runs``."""

    pipeline: str | None = None
    state: list[RunState] = Field(default_factory=list)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> Any:
        return _as_utc(value)

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # a time without an offset is UTC
        return value

    @model_validator(mode="after")
    def _window(self) -> RunsQuery:
        if self.since and self.until and self.since >= self.until:
            raise ValueError("'since' must be earlier than 'until'")
        return self


class CountQuery(_Payload):
    """``?n=`` of the endpoints listing upcoming scheduled times."""

    n: int = Field(5, ge=1, le=100)


# -- responses --------------------------------------------------------------------------


class ScheduleInfo(_Payload):
    """A pipeline's cron schedule."""

    cron: str
    timezone: str
    catchup: str


class PipelineSummary(_Payload):
    """One pipeline as listed: its spec's headline, scheduler state and next ticks."""

    name: str
    description: str | None = None
    owner: str | None = None
    enabled: bool = True
    paused: bool = False
    registered: bool = Field(
        False, description="Whether the run store knows the pipeline (it had a run or a pause)."
    )
    approval: Approval = Field(
        "approved", description="'pending' review (it cannot run yet) or 'approved'."
    )
    approved_by: str | None = None
    approved_at: datetime | None = None
    promoted_by: str | None = None
    audience: Audience | None = Field(
        None, description="Who reads its reports besides the owner; null: private."
    )
    can_manage: bool = Field(
        False,
        description="Whether the caller may trigger, pause, share and hand over this pipeline "
        "(its owner, engineers, admins; everyone in a single-user Lab).",
    )
    can_approve: bool = Field(
        False, description="Whether the caller may approve pipelines pending review."
    )
    schedule: ScheduleInfo | None = None
    after: list[str] = Field(default_factory=list)
    next_runs: list[datetime] = Field(default_factory=list)
    last_run_id: str | None = None
    last_run_state: RunState | None = None
    error: str | None = Field(
        None, description="Why the pipeline cannot run (invalid or missing pipeline.yaml)."
    )


class PipelineList(_Payload):
    """Every pipeline, by name."""

    pipelines: list[PipelineSummary]


class DeclaredParameter(_Payload):
    """A widget parameter declared in a notebook's parameters cell (:mod:`workspace.params`)."""

    name: str
    kind: str = Field(description="dropdown, date, integer, number, text or checkbox")
    choices: list[Any] | None = None
    default: Any = None
    min: float | None = None
    max: float | None = None
    label: str | None = None
    query: str | None = Field(None, description="The query listing a dropdown's choices.")


class TaskSpecInfo(_Payload):
    """One task of a pipeline's spec."""

    name: str
    notebook: str
    depends_on: list[str]
    parameters: dict[str, Any]
    run_if: Any
    for_each: bool
    pool: str | None = None
    retries: int
    timeout: float | None = None
    on_failure: str | None = None
    declared: list[DeclaredParameter] = Field(
        default_factory=list, description="The widget parameters of the task's notebook."
    )
    checks: list[TaskCheckInfo] = Field(
        default_factory=list, description="The checks it declares for the tables it writes."
    )


class PipelineDetail(PipelineSummary):
    """A pipeline with its tasks, limits and parameters."""

    tasks: list[TaskSpecInfo] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)
    concurrency: int | None = None
    max_active_runs: int | None = None
    state: Pipeline | None = Field(None, description="The run store's record, if registered.")
    trend: PipelineTrend | None = Field(
        None, description="Duration, resources and cost of its last finished runs."
    )


class RunList(_Payload):
    """A page of runs, newest first."""

    runs: list[Run]
    limit: int
    offset: int


class AttemptInfo(Attempt):
    """An attempt with links to its rendered report and its log."""

    report_url: str | None = None
    log_url: str | None = None
    cost: AttemptCost | None = Field(
        None, description="Compute cost at the prices of costs.yaml (null if it is malformed)."
    )


class AttemptLog(_Payload):
    """The end of an attempt's log (at most 256 KiB)."""

    attempt_id: int
    text: str
    truncated: bool = Field(description="Whether earlier output was cut off.")
    source: str = Field(
        description="Where the text comes from: 'log' (the executor's log file) or "
        "'notebook' (stream and error outputs of the executed notebook)."
    )


class RunDetailResponse(_Payload):
    """A run with its tasks, attempts, outputs and history."""

    run: Run
    report_url: str | None = None
    tasks: list[Task]
    attempts: list[AttemptInfo]
    outputs: dict[str, dict[str, Any]] = Field(description="Outputs by task key.")
    events: list[RunEvent]
    cost: float | None = Field(None, description="The attempts' compute cost, summed.")
    currency: str | None = Field(None, description="The currency of costs.yaml.")
    effective_parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="The run's parameters: the pipeline's parameters merged with the run's "
        "overrides (``run.parameters``, which win).",
    )
    task_parameters: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="By task name, what its notebook gets before fan-out items and fan-in "
        "lists: the run's parameters merged with the task's own (which win).",
    )


class RepairResponse(_Payload):
    """The re-queued run and the task keys that were reset."""

    run: Run
    reset: list[str]


class CancelResponse(_Payload):
    """The cancelled run and the attempts the scheduler is stopping."""

    run: Run
    stopping: list[int]


class RerunResponse(_Payload):
    """A re-run for a parameter set: a new queued run, or the cached one (``cached``)."""

    run: Run
    cached: bool = Field(description="An earlier run with the same values was reused.")

    @property
    def run_id(self) -> str:
        """The run's id (the ``Location`` of the answer)."""
        return self.run.run_id


class NextTime(_Payload):
    """An upcoming scheduled time."""

    pipeline: str
    at: datetime


class NextTimes(_Payload):
    """Upcoming scheduled times, soonest first."""

    times: list[NextTime]


class FieldError(_Payload):
    """One invalid field of a request."""

    field: str
    message: str


class ErrorResponse(_Payload):
    """Every error response."""

    status: int
    error: str = Field(description="What happened, to which object, and what to do next.")
    errors: list[FieldError] = Field(default_factory=list)


#: Models published under ``components.schemas`` of the OpenAPI file.
SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    TriggerRequest,
    AudienceRequest,
    OwnerRequest,
    PromotionRequest,
    PromotionResponse,
    PipelineHistory,
    PipelineList,
    PipelineDetail,
    RunList,
    RunDetailResponse,
    AttemptLog,
    RepairResponse,
    CancelResponse,
    RerunRequest,
    RerunResponse,
    NextTimes,
    TableLineage,
    *ACCESS_MODELS,
    ClassifyBody,
    ClassifyResult,
    ClassifyView,
    ErrorResponse,
)


def component_schemas() -> dict[str, Any]:
    """JSON schemas of the API payloads, keyed by model name, for ``components.schemas``.

    Examples
    --------
    >>> "RunDetailResponse" in component_schemas()
    True
    """
    _, top = models_json_schema(
        [(m, "serialization") for m in SCHEMA_MODELS], ref_template=REF_TEMPLATE
    )
    return dict(sorted(top.get("$defs", {}).items()))
