"""The scheduler's HTTP API: a tornado application over :class:`JobsService`.

Routes live under ``{base_url}api/jobs/`` and are described in ``jobs_openapi.yaml``. Every
request is authenticated by an :class:`~workspace.hub.hub_auth.ApiAuth`: the standalone
scheduler's API token (``Authorization: token <T>`` or ``?token=<T>``), or, as a JupyterHub
service (``workspace scheduler --hub``), the hub's OAuth (a hub token, or the service's
cookie in a browser). Every route then checks the caller's scopes
(:func:`~workspace.hub.hub_auth.require_read`, :func:`~workspace.hub.hub_auth.require_change`).
Responses are JSON, except the rendered reports, which are served as HTML under a
Content-Security-Policy that forbids scripts. Errors are mapped in one place,
:func:`error_response`.

Examples
--------
>>> app = make_app(settings, Path("scheduled"), token="s3cret", base_url="/services/jobs/")
... # doctest: +SKIP
>>> served = serve(settings, Path("scheduled"), token="s3cret", port=0)  # doctest: +SKIP
>>> served.url  # doctest: +SKIP
'http://127.0.0.1:41234/api/jobs/'
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from jupyter_server.utils import url_path_join
from pydantic import BaseModel
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.web import Application, HTTPError, RequestHandler

from workspace.api.errors import error_response as api_error_response
from workspace.hub.hub_auth import (
    SCOPE_MANAGE,
    ApiAuth,
    HubServiceAuth,
    Identity,
    StaticTokenAuth,
    require_change,
    require_manage,
    require_read,
    require_see,
)
from workspace.hub.jobs_visibility import PathScrubber, shaped
from workspace.jobs.models import PipelineNotFoundError
from workspace.jobs.report import REPORT_CSP
from workspace.jobs.service import JobsService
from workspace.jobs.service_models import (
    AudienceRequest,
    CountQuery,
    ErrorResponse,
    NextTimes,
    OwnerRequest,
    PipelineList,
    PipelineSummary,
    PromotionRequest,
    RunsQuery,
    TriggerRequest,
)
from workspace.jobs.service_promote import PromotionNotFoundError, auto_approved
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

API_PREFIX = "api/jobs/"
JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


def error_response(exc: BaseException) -> ErrorResponse:
    """The status and message of any exception a handler raised (the one mapping).

    Tornado's :class:`HTTPError` (auth: 401/403, bad JSON) keeps its status; everything else
    goes through :func:`workspace.api.errors.error_body`: validation -> 400, unknown
    object -> 404, forbidden state change -> 409, anything unexpected -> 500 with a generic
    message.

    Examples
    --------
    >>> from workspace.jobs.models import RunNotFoundError
    >>> error_response(RunNotFoundError("abc")).status
    404
    """
    return api_error_response(
        exc, generic="Internal error in the scheduler API; the server log has the details."
    )


class JobsHandler(RequestHandler):
    """Base of every handler: authentication, read access, JSON in and out, the error
    mapping. Handlers that change a pipeline or a run call :meth:`may_change` first."""

    service: JobsService
    auth: ApiAuth
    identity: Identity

    def initialize(self, service: JobsService, auth: ApiAuth) -> None:
        self.service = service
        self.auth = auth

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.set_header("Content-Security-Policy", JSON_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    async def prepare(self) -> None:
        identity = await self.auth.identify(self)
        if identity is None:
            login = self._browser_login()
            if login is not None:
                self.redirect(login)
                return
            raise HTTPError(
                401, "Authentication required: send 'Authorization: token <T>' or ?token=<T>."
            )
        self.identity = identity
        require_read(identity)

    def _browser_login(self) -> str | None:
        """The login URL for an unauthenticated browser navigation (GET of HTML)."""
        if self.request.method not in ("GET", "HEAD"):
            return None
        if "text/html" not in self.request.headers.get("Accept", ""):
            return None
        return self.auth.login_redirect(self)

    async def may_change(self, name: str | None = None, *, run_id: str | None = None) -> None:
        """403 unless the caller may change pipeline ``name`` (or the pipeline of run
        ``run_id``); 404 if it does not exist."""
        if run_id is not None:
            pipeline, owner = await self.call(self.service.run_owner, run_id)
        else:
            assert name is not None
            pipeline, owner = name, await self.call(self.service.owner, name)
        require_change(self.identity, pipeline, owner)

    async def may_see(self, run_id: str) -> None:
        """403 unless the caller may read run ``run_id`` (its pipeline's owner, engineers,
        admins); 404 if it does not exist."""
        pipeline, owner = await self.call(self.service.run_owner, run_id)
        require_see(self.identity, pipeline, owner)

    # -- the one error mapping ------------------------------------------------------------
    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if value is None or error_response(value).status >= 500:
            log.error("%s %s failed", self.request.method, self.request.path, exc_info=value)
        else:
            log.info("%s %s: %s", self.request.method, self.request.path, value)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and exc_info[1] is not None:
            body = error_response(exc_info[1])
        else:
            body = ErrorResponse(status=status_code, error=self._reason)
        self.set_status(body.status)
        self.set_default_headers()
        if body.status == 401:
            self.set_header("WWW-Authenticate", "token")
        identity: Identity | None = getattr(self, "identity", None)
        if identity is None or not identity.admin:  # no server paths in messages
            body.error = self.scrubber().text(body.error)
        self.finish(body.model_dump_json())

    # -- helpers ----------------------------------------------------------------------------
    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) store call off the event loop."""
        return await IOLoop.current().run_in_executor(None, lambda: fn(*args, **kwargs))

    def query(self, model: type[M], *, lists: tuple[str, ...] = ()) -> M:
        """Validate the query string (except ``token``) with ``model``."""
        data: dict[str, Any] = {}
        for key, raw in self.request.query_arguments.items():
            if key == "token":
                continue
            values = [v.decode("utf-8", "replace") for v in raw]
            if key in lists:
                data[key] = [p.strip() for v in values for p in v.split(",") if p.strip()]
            else:
                data[key] = values[-1]
        return model.model_validate(data)

    def body(self, model: type[M]) -> M:
        """Validate the JSON body (empty means ``{}``) with ``model``."""
        raw = self.request.body.strip()
        try:
            data = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise HTTPError(400, "The request body is not valid JSON: %s", exc) from None
        return model.model_validate(data)

    def send(self, payload: BaseModel, status: int = 200) -> None:
        """Answer ``payload`` as the caller may see it (:mod:`workspace.hub.jobs_visibility`):
        others' pipelines reduced to their headline, no server paths unless an admin asks."""
        self.set_status(status)
        payload = shaped(self.identity, payload)
        if self.identity.admin:
            self.finish(payload.model_dump_json())
        else:
            data = json.loads(payload.model_dump_json())  # pydantic's JSON (NaN -> null)
            self.finish(json.dumps(self.scrubber()(data), separators=(",", ":")))

    def scrubber(self) -> PathScrubber:
        """Removes the service's folders (home, lake data, scheduled/) from payloads."""
        settings = self.service.settings
        return PathScrubber.for_service(settings.home, settings.data_path, self.service.root)

    async def visible(self, name: str) -> None:
        """404, as for an unknown pipeline, unless the caller may see pipeline ``name``
        (:meth:`~workspace.hub.hub_auth.Identity.can_see`)."""
        try:
            owner = await self.call(self.service.owner, name)
        except WorkspaceError:
            if self.identity.can_see(None):  # engineers, admins: the real error (400, 404)
                raise
            raise PipelineNotFoundError(name) from None
        if not self.identity.can_see(owner):
            raise PipelineNotFoundError(name)


class NotFoundHandler(JobsHandler):
    """Any path under the API that matches no route."""

    async def prepare(self) -> None:
        await super().prepare()
        if not self._finished:
            raise HTTPError(404, "No such endpoint: %s", self.request.path)


class PipelinesHandler(JobsHandler):
    async def get(self) -> None:
        pipelines = await self.call(self.service.pipelines, n=3)
        self.send(PipelineList(pipelines=with_permissions(self.identity, pipelines)))


def with_permissions(identity: Identity, pipelines: list[PipelineSummary]) -> list[PipelineSummary]:
    """``pipelines`` with what ``identity`` may do to each (``can_manage``, ``can_approve``),
    so that the Lab offers only those actions (the routes still check every request)."""
    approve = identity.has(SCOPE_MANAGE)
    return [
        p.model_copy(update={"can_manage": identity.can_change(p.owner), "can_approve": approve})
        for p in pipelines
    ]


class PipelineHandler(JobsHandler):
    """``GET pipelines/{name}``: for those who may see it; 404 for everyone else."""

    async def get(self, name: str) -> None:
        n = self.query(CountQuery).n
        await self.visible(name)
        self.send(await self.call(self.service.pipeline, name, n=n))


class TriggerHandler(JobsHandler):
    async def post(self, name: str) -> None:
        await self.may_change(name)
        request = self.body(TriggerRequest)
        run = await self.call(
            self.service.trigger, name, request.parameters, requested_by=self.identity.name
        )
        self.set_header("Location", self.reverse_url("run", run.run_id))
        self.send(run, status=201)


class PauseHandler(JobsHandler):
    async def post(self, name: str) -> None:
        await self.may_change(name)
        self.send(await self.call(self.service.pause, name, requested_by=self.identity.name))


class ResumeHandler(JobsHandler):
    async def post(self, name: str) -> None:
        await self.may_change(name)
        self.send(await self.call(self.service.resume, name, requested_by=self.identity.name))


class ApproveHandler(JobsHandler):
    """``POST pipelines/{name}/approve``: engineers and admins enable a pending pipeline."""

    async def post(self, name: str) -> None:
        require_manage(self.identity, name, "approve")
        self.send(await self.call(self.service.approve, name, by=self.identity.name))


class OwnerHandler(JobsHandler):
    """``POST pipelines/{name}/owner``: engineers, admins, or the owner handing over."""

    async def post(self, name: str) -> None:
        await self.may_change(name)
        request = self.body(OwnerRequest)
        self.send(
            await self.call(
                self.service.transfer_owner,
                name,
                request.owner,
                by=self.identity.name,
                reason=request.reason,
            )
        )


class AudienceHandler(JobsHandler):
    """``PUT pipelines/{name}/audience``: the owner (or engineers, admins) shares the
    pipeline's reports; empty lists make it private again."""

    async def put(self, name: str) -> None:
        await self.may_change(name)
        audience = self.body(AudienceRequest).audience()
        self.send(await self.call(self.service.set_audience, name, audience, by=self.identity.name))


class HistoryHandler(JobsHandler):
    """``GET pipelines/{name}/history``: promotions, approvals, owners, audiences."""

    async def get(self, name: str) -> None:
        await self.visible(name)
        self.send(await self.call(self.service.history, name))


class PromoteHandler(JobsHandler):
    """``POST promotions``: test-run a notebook and make it a pipeline of the caller,
    pending review unless the deployment auto-approves them (``WORKSPACE_AUTO_APPROVE``)."""

    async def post(self) -> None:
        request = self.body(PromotionRequest)
        exists = await self.call(self._exists, request.name)
        if exists:
            await self.may_change(request.name)
        pending = not auto_approved(manager=self.identity.has(SCOPE_MANAGE))
        result = await self.call(
            self.service.promote, request, by=self.identity.name, pending=pending
        )
        if result.test_id is not None:
            result.report_url = self.reverse_url("promotion_report", result.test_id)
        self.send(result, status=201 if result.ok else 422)

    def _exists(self, name: str) -> bool:
        try:
            self.service.governance(name)
        except WorkspaceError:
            return (self.service.root / name).exists()
        return True


class PromotionReportHandler(JobsHandler):
    """``GET promotions/{test_id}/report``: the report of a promotion test run, for the
    person who promoted and for engineers and admins; 404 for anyone else, as for an unknown
    test (no hint that it exists)."""

    async def get(self, test_id: str) -> None:
        unknown = PromotionNotFoundError(f"No promotion test run {test_id!r}.")
        try:
            test = await self.call(self.service.promotion_test, test_id)
        except PromotionNotFoundError:
            raise unknown from None
        mine = test.requested_by is not None and test.requested_by == self.identity.name
        if not (mine or self.identity.has(SCOPE_MANAGE)):
            raise unknown
        if test.report is None:
            raise HTTPError(404, "Promotion test %r has no report.", test_id)
        content = await self.call(test.report.read_bytes)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(content)


class RunsHandler(JobsHandler):
    async def get(self) -> None:
        query = self.query(RunsQuery, lists=("state",))
        if query.pipeline is not None:
            owner = await self.call(self.service.owner, query.pipeline)
            require_see(self.identity, query.pipeline, owner)
        found = await self.call(self.service.runs, query)
        if not self.identity.has(SCOPE_MANAGE):  # runs are private to their owners
            found.runs = [r for r in found.runs if self.identity.can_change(r.owner)]
        self.send(found)


class RunHandler(JobsHandler):
    async def get(self, run_id: str) -> None:
        await self.may_see(run_id)
        self.send(await self.call(self.service.run, run_id))


class ReportHandler(JobsHandler):
    async def get(self, run_id: str, attempt_id: str | None = None) -> None:
        await self.may_see(run_id)
        attempt = None if attempt_id is None else int(attempt_id)
        path = await self.call(self.service.report, run_id, attempt)
        content = await self.call(path.read_bytes)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(content)


class AttemptLogHandler(JobsHandler):
    async def get(self, run_id: str, attempt_id: str) -> None:
        await self.may_see(run_id)
        self.send(await self.call(self.service.attempt_log, run_id, int(attempt_id)))


class RepairHandler(JobsHandler):
    async def post(self, run_id: str) -> None:
        await self.may_change(run_id=run_id)
        self.send(await self.call(self.service.repair, run_id, requested_by=self.identity.name))


class CancelHandler(JobsHandler):
    async def post(self, run_id: str) -> None:
        await self.may_change(run_id=run_id)
        self.send(await self.call(self.service.cancel, run_id, requested_by=self.identity.name))


class LineageHandler(JobsHandler):
    """``GET lineage?table=``: the pipelines that wrote a lake table; their runs only for
    pipelines the caller may see (:func:`workspace.jobs.lineage.visible_lineage`)."""

    async def get(self) -> None:
        from workspace.jobs.lineage import LineageQuery, visible_lineage

        table = self.query(LineageQuery).table
        self.send(await self.call(visible_lineage, self.service, table, self.identity.can_change))


class NextHandler(JobsHandler):
    async def get(self) -> None:
        n = self.query(CountQuery).n
        self.send(NextTimes(times=await self.call(self.service.next_times, n=n)))


class HomeHandler(JobsHandler):
    """``{base_url}`` of the hub service: a plain page for browsers (who am I, what may I
    do, the pipelines and their last runs). No script; the API is JSON."""

    async def get(self) -> None:
        pipelines = await self.call(self.service.pipelines, n=1)
        me = self.identity
        rows = "".join(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
                html.escape(p.name),
                html.escape(p.owner or ""),
                html.escape(str(p.last_run_state or "") if me.can_see(p.owner) else ""),
                "yes" if me.can_change(p.owner) else "no",
            )
            for p in pipelines
        )
        api = html.escape(self.reverse_url("pipelines"))
        page = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Scheduler</title></head>"
            f"<body><h1>Pipeline scheduler</h1><p>Signed in as <b>{html.escape(me.name)}</b>"
            f" ({html.escape(', '.join(sorted(me.groups)) or 'no group')}).</p>"
            "<table><tr><th>Pipeline</th><th>Owner</th><th>Last run</th><th>You may run it</th>"
            f"</tr>{rows}</table><p>JSON API: <a href='{api}'>{api}</a></p></body></html>"
        )
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.finish(page)


_NAME = r"(?P<name>[^/]+)"
_RUN = r"(?P<run_id>[^/]+)"
#: (path under ``api/jobs/``, handler, route name); the OpenAPI file lists the same paths.
ROUTES: tuple[tuple[str, type[JobsHandler], str], ...] = (
    ("pipelines", PipelinesHandler, "pipelines"),
    (f"pipelines/{_NAME}", PipelineHandler, "pipeline"),
    (f"pipelines/{_NAME}/trigger", TriggerHandler, "trigger"),
    (f"pipelines/{_NAME}/pause", PauseHandler, "pause"),
    (f"pipelines/{_NAME}/resume", ResumeHandler, "resume"),
    (f"pipelines/{_NAME}/approve", ApproveHandler, "approve"),
    (f"pipelines/{_NAME}/owner", OwnerHandler, "owner"),
    (f"pipelines/{_NAME}/audience", AudienceHandler, "audience"),
    (f"pipelines/{_NAME}/history", HistoryHandler, "history"),
    ("promotions", PromoteHandler, "promotions"),
    ("promotions/(?P<test_id>[^/]+)/report", PromotionReportHandler, "promotion_report"),
    ("runs", RunsHandler, "runs"),
    (f"runs/{_RUN}", RunHandler, "run"),
    (f"runs/{_RUN}/report", ReportHandler, "run_report"),
    (rf"runs/{_RUN}/attempts/(?P<attempt_id>\d+)/report", ReportHandler, "attempt_report"),
    (rf"runs/{_RUN}/attempts/(?P<attempt_id>\d+)/log", AttemptLogHandler, "attempt_log"),
    (f"runs/{_RUN}/repair", RepairHandler, "repair"),
    (f"runs/{_RUN}/cancel", CancelHandler, "cancel"),
    ("lineage", LineageHandler, "lineage"),
    ("next", NextHandler, "next"),
)


def _access_log(handler: RequestHandler) -> None:
    """Access log without the query string (it may carry the token)."""
    status = handler.get_status()
    level = log.info if status < 400 else log.warning if status < 500 else log.error
    ms = 1000.0 * handler.request.request_time()
    level("%d %s %s %.1fms", status, handler.request.method, handler.request.path, ms)


def make_app(
    settings: Settings,
    scheduled_root: Path,
    *,
    token: str | None = None,
    base_url: str = "/",
    auth: ApiAuth | None = None,
) -> Application:
    """The scheduler API application.

    Parameters
    ----------
    settings
        The workspace whose run store the API reads and changes.
    scheduled_root
        The ``scheduled/`` folder with one sub-folder per pipeline.
    token
        The API token every request must present (standalone mode; without ``auth``).
    base_url
        Prefix of every route (a JupyterHub service's ``JUPYTERHUB_SERVICE_PREFIX``).
    auth
        How requests are authenticated instead of ``token``: a
        :class:`~workspace.hub.hub_auth.HubServiceAuth` for the hub service, which also adds
        the OAuth callback route and a page for browsers at ``base_url``.

    Examples
    --------
    >>> app = make_app(Settings.resolve("/tmp/ws-doc"), Path("scheduled"), token="t")
    >>> app.reverse_url("run", "abc")
    '/api/jobs/runs/abc'
    """
    if auth is None:
        if not token:
            raise WorkspaceError("The scheduler API needs a non-empty token; set one and retry.")
        auth = StaticTokenAuth(token)
    prefix = url_path_join(base_url, API_PREFIX)

    def report_link(run_id: str, attempt_id: int | None) -> str:
        if attempt_id is None:
            return app.reverse_url("run_report", run_id)
        return app.reverse_url("attempt_report", run_id, attempt_id)

    def log_link(run_id: str, attempt_id: int) -> str:
        return app.reverse_url("attempt_log", run_id, attempt_id)

    service = JobsService(settings, scheduled_root, links=report_link, log_links=log_link)
    init = {"service": service, "auth": auth}
    wrap: Callable[[type[JobsHandler]], Any] = lambda cls: cls  # noqa: E731
    routes = list(ROUTES)
    if isinstance(auth, HubServiceAuth):
        wrap = auth.handler_class
        routes.append(("", HomeHandler, "home"))
    handlers: list[Any] = [
        *auth.routes(base_url),
        *[(url_path_join(prefix, path) if path else base_url, wrap(handler), init, name)
          for path, handler, name in routes],
    ]  # fmt: skip
    app = Application(
        handlers,
        default_handler_class=wrap(NotFoundHandler),
        default_handler_args=init,
        log_function=_access_log,
        jobs_service=service,
        **auth.app_settings(),
    )
    return app


@dataclass
class Served:
    """A listening API server: stop it with ``served.server.stop()``."""

    server: HTTPServer
    app: Application
    host: str
    port: int

    @property
    def url(self) -> str:
        """The root of the API routes."""
        base = self.app.reverse_url("pipelines").removesuffix("pipelines")
        return f"http://{self.host}:{self.port}{base}"


def serve(
    settings: Settings,
    scheduled_root: Path,
    *,
    token: str | None = None,
    base_url: str = "/",
    host: str = "127.0.0.1",
    port: int = 8790,
    auth: ApiAuth | None = None,
) -> Served:
    """Listen on ``host:port`` (0 picks a free port) on the current event loop.

    The caller runs the loop (``IOLoop.current().start()`` or ``asyncio.run``).
    """
    app = make_app(settings, scheduled_root, token=token, base_url=base_url, auth=auth)
    sockets = bind_sockets(port, address=host)
    server = HTTPServer(app)
    server.add_sockets(sockets)
    bound = sockets[0].getsockname()[1]
    log.info("scheduler API listening on http://%s:%d%s", host, bound, base_url)
    return Served(server=server, app=app, host=host, port=bound)
