"""Stakeholder re-runs: a pipeline's audience runs its report again with other values.

A pipeline opts in with ``audience_reruns: true`` in its ``pipeline.yaml``. The route
``POST pipelines/{name}/reruns`` (:mod:`workspace.api.routes`, permission ``view``: the
pipeline's report audience, by :func:`workspace.reports.access.can_view`) then takes values
for the widget parameters its notebooks declare (:mod:`workspace.params`), checks each one
against its declaration (choices, bounds, type) *before* anything starts, and queues a manual
run requested by the viewer, which the scheduler service runs like any trigger.

**Cache, per parameter set** (the canonical JSON of the values, :func:`parameter_key`): a
queued or running run of the pipeline with the same values is returned, and so is a
succeeded one with a report that is younger than :data:`RERUN_TTL` and not older than the
pipeline's last scheduled run (a scheduled run refreshes the data the report reads).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workspace.api.models import RerunResponse
from workspace.jobs.models import Run, RunState, Trigger
from workspace.jobs.spec.pipeline import Pipeline as PipelineSpec
from workspace.lake.errors import WorkspaceError
from workspace.params import ParamError, ParamSpec, declared_parameters

if TYPE_CHECKING:
    from workspace.api.service import JobsService

__all__ = [
    "RERUN_TTL",
    "RerunRefusedError",
    "cached_run",
    "checked",
    "parameter_key",
    "rerun",
    "rerunnable",
]

#: How long a succeeded re-run answers the same values again (unless a scheduled run is newer).
RERUN_TTL = timedelta(hours=24)
#: How many of the pipeline's latest runs the cache looks at.
_CACHE_SCAN = 200
#: One look-up-then-queue at a time in this process (a double click queues one run).
_QUEUEING = threading.Lock()


class RerunRefusedError(WorkspaceError, PermissionError):
    """The pipeline does not let its audience re-run it (403)."""


def parameter_key(parameters: Mapping[str, Any]) -> str:
    """The cache key of a parameter set: SHA-256 of its canonical JSON.

    Examples
    --------
    >>> parameter_key({"b": 1, "a": "x"}) == parameter_key({"a": "x", "b": 1})
    True
    >>> parameter_key({"a": 1}) == parameter_key({"a": 2})
    False
    """
    text = json.dumps(dict(parameters), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rerunnable(spec: PipelineSpec) -> dict[str, ParamSpec]:
    """The declared parameters the audience may set: every task notebook's declarations
    (the first declaration of a name wins), without those a task's ``parameters:`` fixes
    (a task's value wins over a run's, so the control would change nothing) and without
    query-backed dropdowns (their choices are only known in the kernel, so a value could
    not be checked before the run starts).

    Raises :class:`~workspace.params.ParamError` for a declaration that is not valid.
    """
    found: dict[str, ParamSpec] = {}
    fixed = {name for task in spec.tasks for name in task.parameters}
    for task in spec.tasks:
        for declared in declared_parameters(spec.notebook_path(task)):
            static = not (declared.kind == "dropdown" and declared.choices is None)
            if declared.name not in fixed and static:
                found.setdefault(declared.name, declared)
    return found


def checked(spec: PipelineSpec, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` checked against the declarations, in the form the notebooks get.

    Raises :class:`RerunRefusedError` (403) unless the pipeline declares
    ``audience_reruns: true``, and :class:`~workspace.params.ParamError` (400) naming every
    value that is not declared or does not fit its declaration.

    Examples
    --------
    >>> checked(spec, {"region": "MARS"})  # doctest: +SKIP
    Traceback (most recent call last):
    ParamError: Pipeline 'sales': parameter region: 'MARS' is not one of ASIA, EUROPE ...
    """
    if not spec.audience_reruns:
        raise RerunRefusedError(
            f"Pipeline {spec.name!r} does not allow re-runs by its audience; its owner can add "
            "'audience_reruns: true' to its pipeline.yaml."
        )
    declared = rerunnable(spec)
    values: dict[str, Any] = {}
    problems = []
    for name, value in parameters.items():
        if name not in declared:
            offered = ", ".join(sorted(declared)) or "none"
            problems.append(f"parameter {name} cannot be set by a re-run (it takes: {offered})")
            continue
        try:
            values[name] = declared[name].check(value)
        except ParamError as exc:
            problems.append(str(exc))
    if problems:
        raise ParamError(
            f"Pipeline {spec.name!r}: {'; '.join(problems)}. Choose a value the report offers."
        )
    return dict(sorted(values.items()))


def cached_run(
    service: JobsService, name: str, parameters: Mapping[str, Any], now: datetime
) -> Run | None:
    """The run that answers ``parameters`` already (see the module doc), or None."""
    runs = service.store.list_runs(pipeline=name, limit=_CACHE_SCAN)  # newest first
    scheduled = [r.created_at for r in runs if r.trigger == Trigger.SCHEDULE]
    fresh_since = max([now - RERUN_TTL, *scheduled[:1]])
    key = parameter_key(parameters)
    for run in runs:
        if run.trigger != Trigger.MANUAL or parameter_key(run.parameters) != key:
            continue
        if run.state in (RunState.QUEUED, RunState.RUNNING):
            return run
        if run.state == RunState.SUCCEEDED and run.report_path and run.created_at >= fresh_since:
            return run
    return None


def rerun(
    service: JobsService, name: str, parameters: Mapping[str, Any], *, by: str
) -> RerunResponse:
    """Re-run pipeline ``name`` with ``parameters`` for ``by`` (who may do so is the route's
    permission), or answer the cached run for the same values.

    Examples
    --------
    >>> rerun(service, "sales", {"region": "EUROPE"}, by="sam").cached  # doctest: +SKIP
    False
    """
    values = checked(service.spec(name), parameters)
    with _QUEUEING:
        found = cached_run(service, name, values, service.clock())
        if found is not None:
            return RerunResponse(run=found, cached=True)
        return RerunResponse(run=service.trigger(name, values, requested_by=by), cached=False)
