"""The scheduler's HTTP API: a tornado application over :class:`JobsService`.

:func:`make_app` (and :func:`serve`) mount the one route table of :mod:`workspace.api.routes`
under ``{base_url}api/jobs/`` (``jobs_openapi.yaml``), behind an
:class:`~workspace.hub.hub_auth.ApiAuth` and the caller's hub scopes. Errors are mapped in one
place, :func:`error_response`. Design notes: docs/hub.md, "Module notes".

Examples
--------
>>> app = make_app(settings, Path("scheduled"), token="s3cret", base_url="/services/jobs/")
... # doctest: +SKIP
"""

from __future__ import annotations

import html
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

from workspace.api.auth import Identity
from workspace.api.authz import Authorizer
from workspace.api.errors import error_response as api_error_response
from workspace.api.models import ErrorResponse
from workspace.api.mount import RouteDispatch, handlers
from workspace.api.routes import ROUTES_BY_NAME
from workspace.api.service import JobsService
from workspace.hub.hub_auth import ApiAuth, HubServiceAuth, StaticTokenAuth, require_read
from workspace.hub.jobs_authz import HubScopes
from workspace.hub.jobs_visibility import PathScrubber
from workspace.jobs.execution.report import REPORT_CSP
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


class JobsHandler(RouteDispatch, RequestHandler):
    """Base of every handler: authentication and read access (:meth:`prepare`), the hub
    scopes of the caller (:class:`~workspace.hub.jobs_authz.HubScopes`), JSON in and out,
    the error mapping. The routes themselves are the table of :mod:`workspace.api.routes`."""

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

    # -- the route table's questions (workspace.api.mount) -----------------------------------
    async def api_authorizer(self) -> HubScopes:
        return HubScopes(self.identity, self.scrubber())

    def jobs_service(self) -> JobsService:
        return self.service

    def url_for(self, route: str, /, **args: Any) -> str:
        return self.reverse_url(route, *(args[p] for p in ROUTES_BY_NAME[route].parameters))

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        return await IOLoop.current().run_in_executor(None, fn)

    def answer_json(self, payload: BaseModel, auth: Authorizer, status: int) -> None:
        self.set_status(status)
        self.finish(auth.present(payload))

    async def answer_report(self, path: Path) -> None:
        content = await self.run_blocking(path.read_bytes)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(content)

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

    def scrubber(self) -> PathScrubber:
        """Removes the service's folders (home, lake data, scheduled/) from payloads."""
        settings = self.service.settings
        return PathScrubber.for_service(settings.home, settings.data_path, self.service.root)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) store call off the event loop."""
        return await IOLoop.current().run_in_executor(None, lambda: fn(*args, **kwargs))


class NotFoundHandler(JobsHandler):
    """Any path under the API that matches no route."""

    async def prepare(self) -> None:
        await super().prepare()
        if not self._finished:
            raise HTTPError(404, "No such endpoint: %s", self.request.path)


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


#: (path under ``api/jobs/``, handler, route name): the table of :mod:`workspace.api.routes`.
ROUTES: tuple[tuple[str, type[JobsHandler], str], ...] = tuple(
    (pattern, handler, handler.api_routes[next(iter(handler.api_routes))].name)
    for pattern, handler in handlers(JobsHandler)
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
