"""Mount the route table on a tornado application, behind a front end's authentication.

A front end writes ONE handler base class that mixes in :class:`RouteDispatch` (the service,
the caller, blocking work, JSON and HTML answers); :func:`handlers` then makes one small class
per path, with only the route's methods. Design notes: docs/api.md, "Module notes".

Examples
--------
>>> class Lab(RouteDispatch, APIHandler): ...  # doctest: +SKIP
>>> [(pattern, cls.__name__) for pattern, cls in handlers(Lab, lab=True)][:1]  # doctest: +SKIP
[('pipelines', 'PipelinesHandler')]
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from tornado.web import HTTPError, RequestHandler

from workspace.api.audit_routes import audit_call, audit_refusal
from workspace.api.authz import Authorizer, authorize
from workspace.api.routes import ROUTES, ROUTES_BY_NAME, Call, Route
from workspace.api.service import JobsService

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: Query arguments that are never part of a route's query model.
IGNORED_QUERY = ("token", "_xsrf")


def parse_query(
    model: type[M], arguments: dict[str, list[bytes]], lists: tuple[str, ...] = ()
) -> M:
    """Validate a query string (without ``token``, ``_xsrf`` or a ``?1700000000``
    cache-buster) with ``model``; fields in ``lists`` take comma-separated or repeated values.

    Examples
    --------
    >>> from workspace.api.models import RunsQuery
    >>> query = parse_query(RunsQuery, {"state": [b"failed,queued"], "token": [b"t"]}, ("state",))
    >>> [str(state) for state in query.state]
    ['failed', 'queued']
    """
    data: dict[str, Any] = {}
    for key, raw in arguments.items():
        if key in IGNORED_QUERY or (key.isdigit() and not any(raw)):
            continue
        values = [v.decode("utf-8", "replace") for v in raw]
        if key in lists:
            data[key] = [p.strip() for v in values for p in v.split(",") if p.strip()]
        else:
            data[key] = values[-1]
    return model.model_validate(data)


def parse_body(model: type[M], raw: bytes) -> M:
    """Validate a JSON body (empty means ``{}``) with ``model``; 400 if it is not JSON."""
    raw = raw.strip()
    try:
        data = json.loads(raw) if raw else {}
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPError(400, "The request body is not valid JSON: %s", exc) from None
    return model.model_validate(data)


class RouteDispatch:
    """The one handler of the jobs routes (mix in before a tornado ``RequestHandler``)."""

    #: method -> route, set on each class :func:`handlers` makes
    api_routes: dict[str, Route] = {}

    # -- what a front end provides ----------------------------------------------------------
    async def api_authorizer(self) -> Authorizer:
        """The caller of this request (authenticated already)."""
        raise NotImplementedError

    def jobs_service(self) -> JobsService:
        """The service (called on a worker thread: it may open the run store)."""
        raise NotImplementedError

    def url_for(self, route: str, /, **args: Any) -> str:
        """The absolute path of ``route`` with ``args``."""
        raise NotImplementedError

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` off the event loop."""
        raise NotImplementedError

    def answer_json(self, payload: BaseModel, auth: Authorizer, status: int) -> None:
        """Answer ``payload`` (as the caller may see it) with ``status``."""
        raise NotImplementedError

    async def answer_report(self, path: Path) -> None:
        """Answer a rendered report (HTML, no script runs)."""
        raise NotImplementedError

    # -- the dispatch -----------------------------------------------------------------------
    async def dispatch_route(self, **path_args: str | None) -> None:
        """Validate, authorize, call the service and answer, as the route says."""
        handler: Any = self
        assert isinstance(handler, RequestHandler)
        route = self.api_routes[handler.request.method or "GET"]
        args = {k: v for k, v in path_args.items() if v is not None}
        query = None
        if route.query is not None:
            query = parse_query(route.query, handler.request.query_arguments, route.lists)
        auth = await self.api_authorizer()
        raw = handler.request.body

        def work() -> Any:
            return invoke(
                route,
                self.jobs_service(),
                auth,
                args,
                query=query,
                body=lambda: parse_body(route.body, raw) if route.body is not None else None,
                url_for=self.url_for,
            )

        result = await self.run_blocking(work)
        if route.response is None:
            await self.answer_report(result)
            return
        if route.location is not None:
            target = ROUTES_BY_NAME[route.location]
            link = self.url_for(target.name, **{p: getattr(result, p) for p in target.parameters})
            handler.set_header("Location", link)
        self.answer_json(result, auth, route.success(result))


def invoke(
    route: Route,
    service: JobsService,
    auth: Authorizer,
    args: dict[str, str],
    *,
    query: BaseModel | None = None,
    body: Callable[[], BaseModel | None] | BaseModel | None = None,
    url_for: Callable[..., str] | None = None,
) -> Any:
    """Run one route for ``auth``: check its permission, then validate the body (so a caller
    who may not call it learns nothing from validation errors), then call the service. The
    HTTP dispatch and the CLI (:mod:`workspace.cli.jobs_client`) both call routes this way.
    Each state change and report view goes into the audit trail when this process may write
    it (:mod:`workspace.api.audit_routes`).

    Examples
    --------
    >>> from workspace.api.authz import LocalUser
    >>> invoke(ROUTES_BY_NAME["pipelines"], service, LocalUser("ana"), {})  # doctest: +SKIP
    PipelineList(pipelines=[...])
    """
    call = Call(service, auth, args, query)
    if url_for is not None:
        call.url_for = url_for
    try:
        authorize(route.permission, call)
    except Exception as exc:
        audit_refusal(route, call, exc)
        raise
    call.body = body() if callable(body) else body
    result = route.call(call)
    audit_call(route, call, result)  # state changes and report views, with the caller
    return result


async def _dispatch(self: RouteDispatch, **path_args: str | None) -> None:
    await self.dispatch_route(**path_args)


def handlers(
    base: type[RouteDispatch],
    *,
    lab: bool = False,
    wrap: Callable[[Callable[..., Any]], Callable[..., Any]] | None = None,
) -> list[tuple[str, type[Any]]]:
    """``(path pattern, handler class)`` for every route (``lab``: the Lab's routes only),
    one class per path with only that path's methods, made from ``base``; ``wrap`` decorates
    each method (e.g. jupyter_server's authentication)."""
    by_path: dict[str, dict[str, Route]] = {}
    for route in ROUTES:
        if lab and not route.lab:
            continue
        by_path.setdefault(route.pattern, {})[route.method] = route
    made: list[tuple[str, type[Any]]] = []
    for pattern, routes in by_path.items():
        first = next(iter(routes.values()))
        name = "".join(part.title() for part in first.name.split("_")) + "Handler"
        namespace: dict[str, Any] = {"api_routes": routes, "__module__": base.__module__}
        for method in routes:
            namespace[method.lower()] = _dispatch if wrap is None else wrap(_dispatch)
        made.append((pattern, type(name, (base,), namespace)))
    return made
