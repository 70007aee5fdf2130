"""The jobs routes, declared once: path, method, the :class:`JobsService` call, the request and
response models, and the permission each needs.

The Lab server extension mounts them under ``{base_url}workspace/api/jobs/``, the scheduler
service under ``{base_url}api/jobs/`` (:mod:`workspace.api.mount`); the OpenAPI documents are
generated from the same table (:mod:`workspace.api.openapi`).

Examples
--------
>>> ROUTES_BY_NAME["run"].method, ROUTES_BY_NAME["run"].path
('GET', 'runs/{run_id}')
>>> route_path("attempt_log", run_id="abc", attempt_id=2)
'runs/abc/attempts/2/log'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from workspace.api import access_routes as access
from workspace.api.access_models import (
    AccessDecision,
    AccessRequest,
    AccessRequestBody,
    AccessRequestList,
    GrantBody,
    GrantList,
    GrantsQuery,
    GrantView,
    RequestsQuery,
    RevokeQuery,
)
from workspace.api.authz import Authorizer, Permission
from workspace.api.classify_routes import (
    ClassifyBody,
    ClassifyQuery,
    ClassifyView,
    classify_table,
    classify_view,
)
from workspace.api.lineage import LineageQuery, TableLineage, visible_lineage
from workspace.api.models import (
    AttemptLog,
    AudienceRequest,
    CancelResponse,
    CountQuery,
    NextTimes,
    OwnerRequest,
    PipelineDetail,
    PipelineHistory,
    PipelineList,
    PipelineSummary,
    PromotionRequest,
    PromotionResponse,
    RepairResponse,
    RerunRequest,
    RerunResponse,
    RunDetailResponse,
    RunList,
    RunsQuery,
    TriggerRequest,
)
from workspace.api.promote import PromotionNotFoundError, auto_approved
from workspace.api.reruns import rerun
from workspace.api.service import JobsService
from workspace.governance.classify import ClassifyResult
from workspace.jobs.models import Run
from workspace.lake.errors import WorkspaceError

#: The pattern of each path parameter.
PARAMETERS = {
    "name": "[^/]+", "run_id": "[^/]+", "test_id": "[^/]+", "attempt_id": r"\d+",
    "request_id": r"\d+",
}  # fmt: skip


@dataclass
class Call:
    """One request as a route's call sees it: the service, the caller and the validated input."""

    service: JobsService
    auth: Authorizer
    args: dict[str, str]
    query: Any = None
    body: Any = None
    #: absolute path of another route: ``url_for("run", run_id="abc")``
    url_for: Callable[..., str] = field(default=lambda route, /, **args: route_path(route, **args))


@dataclass(frozen=True)
class Route:
    """One operation of the jobs API."""

    name: str
    method: str
    path: str
    call: Callable[[Call], Any]
    permission: Permission
    #: the JSON answer's model; None: an HTML report (the call returns its file)
    response: type[BaseModel] | None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    #: query fields given as a comma-separated (or repeated) list
    lists: tuple[str, ...] = ()
    #: the success status, or a function of the call's result
    status: int | Callable[[Any], int] = 200
    #: the route whose URL (path args from the result) goes in the ``Location`` header
    location: str | None = None
    #: mounted by the Lab server extension too (False: the scheduler service only)
    lab: bool = True

    @property
    def pattern(self) -> str:
        """The tornado path pattern: ``runs/(?P<run_id>[^/]+)``."""
        return re.sub(r"{(\w+)}", lambda m: f"(?P<{m[1]}>{PARAMETERS[m[1]]})", self.path)

    @property
    def parameters(self) -> list[str]:
        """The path parameters, in order."""
        return re.findall(r"{(\w+)}", self.path)

    def success(self, result: Any) -> int:
        """The status of a successful answer with ``result``."""
        return self.status(result) if callable(self.status) else self.status


def route_path(route: str, /, **args: Any) -> str:
    """The path of ``route`` (relative to the jobs prefix) with ``args`` filled in."""
    return ROUTES_BY_NAME[route].path.format(**{k: str(v) for k, v in args.items()})


# -- the calls that are more than one service method ----------------------------------------
def with_permissions(auth: Authorizer, pipelines: list[PipelineSummary]) -> list[PipelineSummary]:
    """``pipelines`` with what the caller may do to each (``can_manage``, ``can_approve``),
    so that the Lab offers only those actions (the routes still check every request)."""
    return [
        p.model_copy(update={"can_manage": auth.can_change(p.owner), "can_approve": auth.manager})
        for p in pipelines
    ]


def _pipelines(c: Call) -> PipelineList:
    return PipelineList(pipelines=with_permissions(c.auth, c.service.pipelines(n=3)))


def _runs(c: Call) -> RunList:
    found = c.service.runs(c.query)
    if not c.auth.manager:  # runs are private to their owners
        found.runs = [r for r in found.runs if c.auth.can_change(r.owner)]
    return found


def _exists(service: JobsService, name: str) -> bool:
    try:
        service.governance(name)
    except WorkspaceError:
        return (service.root / name).exists()
    return True


def _promote(c: Call) -> PromotionResponse:
    request: PromotionRequest = c.body
    if _exists(c.service, request.name):
        c.auth.may_change(c.service, pipeline=request.name)
    pending = not auto_approved(manager=c.auth.manager)
    result = c.service.promote(request, by=c.auth.user, pending=pending)
    if result.test_id is not None:
        result.report_url = c.url_for("promotion_report", test_id=result.test_id)
    return result


def _promotion_report(c: Call) -> Path:
    """For the person who promoted, engineers and admins; 404 for anyone else, as for an
    unknown test (no hint that it exists)."""
    test_id = c.args["test_id"]
    unknown = PromotionNotFoundError(f"No promotion test run {test_id!r}.")
    try:
        test = c.service.promotion_test(test_id)
    except PromotionNotFoundError:
        raise unknown from None
    if not ((test.requested_by is not None and test.requested_by == c.auth.user) or c.auth.manager):
        raise unknown
    if test.report is None:
        raise PromotionNotFoundError(f"Promotion test {test_id!r} has no report.")
    return test.report


def _report(c: Call) -> Path:
    attempt = c.args.get("attempt_id")
    return c.service.report(c.args["run_id"], None if attempt is None else int(attempt))


_P = "pipelines/{name}"
_R = "runs/{run_id}"
S, C = Permission.SEE, Permission.CHANGE

#: Every jobs route, in the order they are mounted.
ROUTES: tuple[Route, ...] = (
    Route("pipelines", "GET", "pipelines", _pipelines, Permission.RUN, PipelineList),
    Route("pipeline", "GET", _P, lambda c: c.service.pipeline(c.args["name"], n=c.query.n),
          S, PipelineDetail, query=CountQuery),
    Route("trigger", "POST", f"{_P}/trigger",
          lambda c: c.service.trigger(c.args["name"], c.body.parameters, requested_by=c.auth.user),
          C, Run, body=TriggerRequest, status=201, location="run"),
    Route("pause", "POST", f"{_P}/pause",
          lambda c: c.service.pause(c.args["name"], requested_by=c.auth.user), C, PipelineSummary),
    Route("resume", "POST", f"{_P}/resume",
          lambda c: c.service.resume(c.args["name"], requested_by=c.auth.user), C, PipelineSummary),
    Route("approve", "POST", f"{_P}/approve",
          lambda c: c.service.approve(c.args["name"], by=c.auth.user),
          Permission.APPROVE, PipelineSummary),
    Route("owner", "POST", f"{_P}/owner",
          lambda c: c.service.transfer_owner(
              c.args["name"], c.body.owner, by=c.auth.user, reason=c.body.reason),
          C, PipelineSummary, body=OwnerRequest),
    Route("audience", "PUT", f"{_P}/audience",
          lambda c: c.service.set_audience(c.args["name"], c.body.audience(), by=c.auth.user),
          C, PipelineSummary, body=AudienceRequest),
    Route("reruns", "POST", f"{_P}/reruns",
          lambda c: rerun(c.service, c.args["name"], c.body.parameters, by=c.auth.user),
          Permission.VIEW, RerunResponse, body=RerunRequest,
          status=lambda r: 200 if r.cached else 201, location="run", lab=False),
    Route("history", "GET", f"{_P}/history", lambda c: c.service.history(c.args["name"]),
          S, PipelineHistory),
    Route("runs", "GET", "runs", _runs, S, RunList, query=RunsQuery, lists=("state",)),
    Route("run", "GET", _R, lambda c: c.service.run(c.args["run_id"]), S, RunDetailResponse),
    Route("run_report", "GET", f"{_R}/report", _report, S, None),
    Route("attempt_report", "GET", f"{_R}/attempts/{{attempt_id}}/report", _report, S, None),
    Route("attempt_log", "GET", f"{_R}/attempts/{{attempt_id}}/log",
          lambda c: c.service.attempt_log(c.args["run_id"], int(c.args["attempt_id"])),
          S, AttemptLog),
    Route("repair", "POST", f"{_R}/repair",
          lambda c: c.service.repair(c.args["run_id"], requested_by=c.auth.user),
          C, RepairResponse),
    Route("cancel", "POST", f"{_R}/cancel",
          lambda c: c.service.cancel(c.args["run_id"], requested_by=c.auth.user),
          C, CancelResponse),
    Route("lineage", "GET", "lineage",
          lambda c: visible_lineage(c.service, c.query.table, c.auth.can_change),
          Permission.RUN, TableLineage, query=LineageQuery, lab=False),
    Route("next", "GET", "next", lambda c: NextTimes(times=c.service.next_times(n=c.query.n)),
          Permission.RUN, NextTimes, query=CountQuery),
    Route("promotions", "POST", "promotions", _promote, Permission.RUN, PromotionResponse,
          body=PromotionRequest, status=lambda r: 201 if r.ok else 422, lab=False),
    Route("promotion_report", "GET", "promotions/{test_id}/report", _promotion_report,
          Permission.RUN, None, lab=False),
    # access to protected tables (workspace.api.access_routes decides who may do what)
    Route("access_requests", "GET", "access/requests", access.requests, Permission.RUN,
          AccessRequestList, query=RequestsQuery),
    Route("access_request", "POST", "access/requests", access.request, Permission.RUN,
          AccessRequest, body=AccessRequestBody, status=201),
    Route("access_approve", "POST", "access/requests/{request_id}/approve", access.approve,
          Permission.RUN, GrantView, body=AccessDecision, status=201),
    Route("access_deny", "POST", "access/requests/{request_id}/deny", access.deny,
          Permission.RUN, AccessRequest, body=AccessDecision),
    Route("access_grants", "GET", "access/grants", access.grants, Permission.RUN, GrantList,
          query=GrantsQuery),
    Route("access_grant", "POST", "access/grants", access.grant, Permission.RUN, GrantView,
          body=GrantBody, status=201),
    Route("access_revoke", "DELETE", "access/grants", access.revoke, Permission.RUN, GrantList,
          query=RevokeQuery),
    # tiers: the table's owner and the legal group (workspace.api.classify_routes)
    Route("classify", "POST", "governance/classify", classify_table, Permission.RUN,
          ClassifyResult, body=ClassifyBody),
    Route("classify_view", "GET", "governance/classify", classify_view, Permission.RUN,
          ClassifyView, query=ClassifyQuery),
)  # fmt: skip

ROUTES_BY_NAME: dict[str, Route] = {route.name: route for route in ROUTES}
