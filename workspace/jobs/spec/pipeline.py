"""``scheduled/<name>/pipeline.yaml``: the pipeline spec, validated by pydantic.

Errors name the file, the field and what is expected, e.g.
``scheduled/refresh/pipeline.yaml: tasks[1].retries.count: must be >= 0 (got -1)``.
A pipeline's **name is its folder's name**; its **owner** and report **audience** are
recorded by the scheduler service, and ``owner:``/``audience:`` in the file are only initial
values. The fields and a full example: docs/pipelines.md ("Fields", "Module notes").
"""

from __future__ import annotations

import graphlib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from workspace.jobs.paths import SPEC_FILE
from workspace.jobs.spec.schedule import CronSchedule, ScheduleError, validate_cron
from workspace.lake.errors import WorkspaceError
from workspace.quality.contract import Contract
from workspace.quality.task_checks import validate_task_checks

#: The name rule of pipelines, tasks and pools (a pipeline's name is its folder's name): a
#: lower-case letter, then lower-case letters, digits and ``_``. The one definition;
#: :mod:`workspace.api.auth` re-exports it for the HTTP layers.
NAME_PATTERN = r"[a-z][a-z0-9_]*"
#: :data:`NAME_PATTERN` anchored: ``PIPELINE_NAME.match("daily_sales")``.
PIPELINE_NAME = re.compile(rf"^{NAME_PATTERN}$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


class PipelineSpecError(WorkspaceError):
    """A pipeline.yaml is invalid: the message names the file, the field and the fix."""


def parse_duration(value: Any) -> float:
    """Seconds from ``30``, ``"30s"``, ``"10m"``, ``"2h"``, ``"1d"``.

    >>> parse_duration("1.5h"), parse_duration(90)
    (5400.0, 90.0)
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 2h")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 30s, 10m, 2h (got {value!r})")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Retries(_Model):
    """How often a failed task is tried again, and how long to wait in between."""

    count: int = Field(0, ge=0, le=20)
    backoff: Duration = 30.0
    factor: float = Field(2.0, ge=1.0, le=10.0)
    max_backoff: Duration = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based).

        >>> Retries(count=3, backoff="10s").delay(3)
        40.0
        """
        return float(min(self.backoff * self.factor ** (attempt - 1), self.max_backoff))


def _retries(value: Any) -> Any:
    return {"count": value} if isinstance(value, int) and not isinstance(value, bool) else value


class OutputCondition(_Model):
    """``run_if`` on an upstream task's output: ``{output: gate.passed, op: "==", value: true}``
    (check outputs have dots: ``silver.checks.passed``)."""

    output: str = Field(pattern=rf"^{NAME_PATTERN}(\.[A-Za-z_][A-Za-z0-9_]*)+$")
    op: Literal["==", "!=", ">", ">=", "<", "<=", "in", "not in"] = "=="
    value: Any = True

    @property
    def task(self) -> str:
        """The upstream task whose output is tested."""
        return self.output.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The output name."""
        return self.output.split(".", 1)[1]


RunIf = Literal["all_success", "all_done", "any_failed"] | OutputCondition


class ForEach(_Model):
    """Fan out over a list of values or the rows of a lake query.

    Each item runs the task once, with the item bound to the parameter named ``as``.
    A query's first column is the item (or the whole row as a dict with ``row: true``).
    """

    values: list[Any] | None = None
    query: str | None = None
    as_: str = Field("item", alias="as", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    row: bool = False
    max_items: int = Field(100, ge=1, le=10_000)

    @model_validator(mode="after")
    def _one_source(self) -> ForEach:
        if (self.values is None) == (self.query is None):
            raise ValueError("give exactly one of 'values' (a list) or 'query' (lake SQL)")
        if self.values is not None and len(self.values) > self.max_items:
            raise ValueError(f"{len(self.values)} values exceed max_items={self.max_items}")
        return self


class Task(_Model):
    """One notebook of the pipeline."""

    name: str = Field(pattern=PIPELINE_NAME.pattern)
    notebook: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)
    retries: Annotated[Retries | None, BeforeValidator(_retries)] = None
    timeout: Duration | None = None
    run_if: RunIf = "all_success"
    for_each: ForEach | None = None
    on_failure: str | None = None
    pool: str | None = Field(None, pattern=PIPELINE_NAME.pattern)
    kernel: str | None = None
    #: Table -> checks enforced in the task's writes (workspace.quality.task_checks).
    checks: Annotated[dict[str, Contract], BeforeValidator(validate_task_checks)] = Field(
        default_factory=dict
    )

    @field_validator("notebook", "on_failure")
    @classmethod
    def _notebook_path(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.endswith(".ipynb"):
            raise ValueError(f"expected a .ipynb notebook path, got {value!r}")
        if Path(value).is_absolute() or ".." in Path(value).parts:
            raise ValueError("notebook paths are relative to the pipeline folder, without '..'")
        return value


class Schedule(_Model):
    """When the pipeline runs by itself."""

    cron: str
    timezone: str = "UTC"
    catchup: Literal["latest", "all"] = "latest"
    max_catchup: int = Field(10, ge=1, le=1000)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            return validate_cron(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _zone(self) -> Schedule:
        try:
            CronSchedule(self.cron, self.timezone)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return self

    @property
    def cron_schedule(self) -> CronSchedule:
        """The evaluator for this schedule."""
        return CronSchedule(self.cron, self.timezone)


class Sla(_Model):
    """Service levels that raise alerts when missed."""

    start_within: Duration | None = None
    max_duration: Duration | None = None


class Alerts(_Model):
    """When to alert, and where (sink names configured for the deployment)."""

    on_failure: bool = True
    on_success: bool = False
    on_sla_miss: bool = True
    #: anomalies and failed checks on the tables a run wrote (workspace.jobs.alerts.quality)
    on_quality: bool = True
    sinks: list[str] = Field(default_factory=list)


class TaskDefaults(_Model):
    """Defaults applied to every task that does not set its own."""

    retries: Annotated[Retries, BeforeValidator(_retries)] = Retries()
    timeout: Duration | None = None
    kernel: str = "workspace"


class Audience(_Model):
    """Who may read a pipeline's reports: ``audience: {groups: [...], users: [...]}``.

    Without an audience a pipeline is private: only its owner, engineers and admins read it.
    The scheduler service stores it (``workspace jobs share``); in ``pipeline.yaml`` it is
    only the initial value of an operator-installed folder.

    >>> Audience(groups=["stakeholders"]).users
    []
    """

    groups: list[str] = Field(default_factory=list)
    users: list[str] = Field(default_factory=list)


class Pipeline(_Model):
    """A validated ``pipeline.yaml``. ``name`` is the folder name.

    ``owner`` and ``audience`` are initial values only (see the module doc): who owns a
    pipeline and who reads its reports is what the run store records.
    """

    name: str = Field(pattern=PIPELINE_NAME.pattern)
    description: str | None = None
    owner: str | None = Field(None, description="Initial owner of an operator-installed folder.")
    audience: Audience | None = Field(None, description="Initial audience (operators' folders).")
    audience_reruns: bool = Field(
        False,
        description="The audience may re-run the report with other values of the declared "
        "widget parameters, from the report page (workspace.api.reruns).",
    )
    enabled: bool = True
    schedule: Schedule | None = None
    after: list[str] = Field(default_factory=list)
    concurrency: int = Field(4, ge=1, le=256)
    max_active_runs: int = Field(1, ge=1, le=100)
    parameters: dict[str, Any] = Field(default_factory=dict)
    defaults: TaskDefaults = Field(default_factory=TaskDefaults)
    sla: Sla = Field(default_factory=Sla)
    alerts: Alerts = Field(default_factory=Alerts)
    tasks: list[Task] = Field(min_length=1)
    folder: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _graph(self) -> Pipeline:
        names = [t.name for t in self.tasks]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"task names must be unique; repeated: {', '.join(duplicates)}")
        known = set(names)
        for i, task in enumerate(self.tasks):
            missing = [d for d in task.depends_on if d not in known]
            if missing:
                raise ValueError(
                    f"tasks[{i}] ({task.name}).depends_on: unknown task(s) {', '.join(missing)}; "
                    f"tasks are {', '.join(names)}"
                )
        try:
            list(graphlib.TopologicalSorter(self.dependencies).static_order())
        except graphlib.CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise ValueError(f"depends_on has a cycle: {cycle}") from None
        ancestors = self.ancestors()
        for i, task in enumerate(self.tasks):
            if (
                isinstance(task.run_if, OutputCondition)
                and task.run_if.task not in ancestors[task.name]
            ):
                raise ValueError(
                    f"tasks[{i}] ({task.name}).run_if: {task.run_if.task!r} is not upstream of "
                    f"{task.name!r}; add it to depends_on"
                )
        return self

    @property
    def dependencies(self) -> dict[str, set[str]]:
        """Task name -> names it depends on."""
        return {t.name: set(t.depends_on) for t in self.tasks}

    @property
    def downstream(self) -> dict[str, set[str]]:
        """Task name -> names that depend on it directly."""
        out: dict[str, set[str]] = {t.name: set() for t in self.tasks}
        for t in self.tasks:
            for dep in t.depends_on:
                out[dep].add(t.name)
        return out

    def ancestors(self) -> dict[str, set[str]]:
        """Task name -> every task upstream of it (transitively)."""
        deps = self.dependencies
        memo: dict[str, set[str]] = {}

        def up(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
            if name in memo:
                return memo[name]
            if name in seen:  # a cycle; reported by the topological sort
                return set()
            result: set[str] = set()
            for d in deps.get(name, ()):
                result |= {d} | up(d, seen | {name})
            memo[name] = result
            return result

        return {t.name: up(t.name) for t in self.tasks}

    def task(self, name: str) -> Task:
        """The task called ``name``."""
        for t in self.tasks:
            if t.name == name:
                return t
        raise PipelineSpecError(f"pipeline {self.name!r} has no task {name!r}")

    def retries_for(self, task: Task) -> Retries:
        """The task's retries, else the pipeline defaults."""
        return task.retries or self.defaults.retries

    def timeout_for(self, task: Task) -> float | None:
        """The task's timeout in seconds, else the pipeline default."""
        return task.timeout if task.timeout is not None else self.defaults.timeout

    def file_path(self, relative: str) -> Path:
        """A file of the pipeline folder (a notebook named in the spec)."""
        return (self.folder or Path.cwd()) / relative

    def notebook_path(self, task: Task) -> Path:
        """Path of the task's notebook."""
        return self.file_path(task.notebook)


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = (
            ""
            if isinstance(got, (dict, list)) or got is None or repr(got) in msg
            else f" (got {got!r})"
        )
        lines.append(f"{source}: {loc or 'pipeline'}: {msg}{shown}")
    return "\n".join(lines)


def parse_pipeline(text: str, *, source: str, name: str, folder: Path | None = None) -> Pipeline:
    """Validate pipeline YAML text. ``source`` names the file in error messages."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PipelineSpecError(f"{source}:{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PipelineSpecError(f"{source}: expected a mapping of fields (name, tasks, ...)")
    declared = data.get("name", name)
    if declared != name:
        raise PipelineSpecError(
            f"{source}: name: {declared!r} differs from the pipeline's folder name {name!r}; a "
            "pipeline is named by its folder: remove the name field (or rename the folder)"
        )
    data["name"] = name
    try:
        pipeline = Pipeline.model_validate({**data, "folder": folder})
    except ValidationError as exc:
        raise PipelineSpecError(_format_errors(source, exc)) from None
    return pipeline


def load_pipeline(folder: str | Path) -> Pipeline:
    """Load and validate ``<folder>/pipeline.yaml``; its notebooks must exist.

    Examples
    --------
    >>> load_pipeline("scheduled/demo_refresh").tasks[0].name  # doctest: +SKIP
    'bronze'
    """
    folder = Path(folder)
    spec = folder / SPEC_FILE
    if not spec.is_file():
        raise PipelineSpecError(f"{spec}: not found; a pipeline folder needs a {SPEC_FILE}")
    pipeline = parse_pipeline(
        spec.read_text(encoding="utf-8"), source=str(spec), name=folder.name, folder=folder
    )
    for i, task in enumerate(pipeline.tasks):
        for field, nb in (("notebook", task.notebook), ("on_failure", task.on_failure)):
            if nb and not (folder / nb).is_file():
                raise PipelineSpecError(
                    f"{spec}: tasks[{i}].{field}: {nb} does not exist in {folder}"
                )
        _check_notebook_parameters(pipeline, i, task, spec)
    return pipeline


def _check_notebook_parameters(pipeline: Pipeline, index: int, task: Task, spec: Path) -> None:
    """Parameters the spec passes must exist in the notebook's parameters cell, with the
    type of its default (papermill's inspection); fan-out and fan-in names must be declared."""
    from workspace.jobs.errors import JobError
    from workspace.jobs.execution.runner import declared_parameters, validate_parameters

    notebook = pipeline.notebook_path(task)
    static = {**pipeline.parameters, **task.parameters}
    where = f"{spec}: tasks[{index}] ({task.name})"
    try:
        if static:
            validate_parameters(notebook, static, kernel_name=task.kernel or "python3")
        dynamic = [task.for_each.as_] if task.for_each else []
        dynamic += [
            f"{dep}_outputs" for dep in task.depends_on if pipeline.task(dep).for_each is not None
        ]
        if dynamic:
            declared = declared_parameters(notebook, kernel_name=task.kernel or "python3")
            missing = [name for name in dynamic if name not in declared]
            if missing:
                raise PipelineSpecError(
                    f"{where}: {task.notebook} must declare {', '.join(missing)} in its "
                    "parameters cell (the fan-out item / the fan-in list of outputs)"
                )
    except (JobError, ValueError) as exc:
        if isinstance(exc, PipelineSpecError):
            raise
        raise PipelineSpecError(f"{where}.parameters: {exc}") from None
