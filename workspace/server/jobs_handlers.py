"""``workspace/api/jobs/...``: pipelines and runs, the scheduler API's routes in Jupyter.

The routes are the one table of :mod:`workspace.api.routes`, mounted here behind the local
Jupyter user (:class:`~workspace.api.authz.LocalUser`: the single-user Lab's user may do
everything), exactly as the scheduler's own API (:mod:`workspace.hub.jobs_api`) mounts it
behind hub scopes; report and log links are absolute paths under the server's ``base_url``.

Behind JupyterHub, with the scheduler service configured (see
:mod:`workspace.server.scheduler_proxy`), the same routes forward every request to the
scheduler service instead, which authorizes it as the server's user (a user's server runs as
their own OS account and cannot, and must not, open the run store itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado.web
from jupyter_server.utils import url_path_join
from pydantic import BaseModel
from tornado.httpclient import HTTPClientError

from workspace.api.authz import Authorizer, LocalUser
from workspace.api.mount import RouteDispatch, handlers
from workspace.api.routes import route_path
from workspace.api.service import JobsService
from workspace.lake.settings import Settings
from workspace.server.base import WorkspaceHandler, authorized

T = TypeVar("T")


class JobsServices:
    """One :class:`JobsService` per (workspace home, scheduled folder), made on first use.

    Examples
    --------
    >>> services = JobsServices("/")
    >>> services.report_url("abc", None)
    '/workspace/api/jobs/runs/abc/report'
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._services: dict[tuple[str, Path], JobsService] = {}
        self._lock = threading.Lock()

    def report_url(self, run_id: str, attempt_id: int | None) -> str:
        """Absolute path of a run's (or an attempt's) report."""
        if attempt_id is None:
            return self._url(route_path("run_report", run_id=run_id))
        return self._url(route_path("attempt_report", run_id=run_id, attempt_id=attempt_id))

    def log_url(self, run_id: str, attempt_id: int) -> str:
        """Absolute path of an attempt's log."""
        return self._url(route_path("attempt_log", run_id=run_id, attempt_id=attempt_id))

    def _url(self, path: str) -> str:
        return url_path_join(self.base_url, "workspace/api/jobs", path)

    def get(self, settings: Settings, scheduled: Path) -> JobsService:
        """The service for ``settings`` and ``scheduled`` (opens the run store once)."""
        key = (repr(settings), scheduled)
        with self._lock:
            service = self._services.get(key)
            if service is None:
                service = JobsService(
                    settings, scheduled, links=self.report_url, log_links=self.log_url
                )
                self._services[key] = service
            return service

    def close(self) -> None:
        """Close every run store."""
        with self._lock:
            for service in self._services.values():
                service.store.close()
            self._services.clear()


class JobsHandler(RouteDispatch, WorkspaceHandler):
    """The jobs routes of the Lab: the service for this server's workspace and pipelines,
    the local user, or the scheduler service behind the hub (:meth:`forwarded`)."""

    @property
    def service(self) -> JobsService:
        services: JobsServices = self.settings["workspace_jobs"]
        scheduled: Path = self.settings["workspace_scheduled"]()
        return services.get(self.ws_settings, scheduled)

    # -- the route table's questions (workspace.api.mount) -----------------------------------
    async def dispatch_route(self, **path_args: str | None) -> None:
        if await self.forwarded():  # behind the hub: the scheduler service authorizes
            return
        await super().dispatch_route(**path_args)

    async def api_authorizer(self) -> LocalUser:
        return LocalUser(self.current_user.username)

    def jobs_service(self) -> JobsService:
        return self.service

    def url_for(self, route: str, /, **args: Any) -> str:
        return self.api_url("jobs", route_path(route, **args))

    async def run_blocking(self, fn: Callable[[], T]) -> T:
        return await self.blocking(fn)

    def answer_json(self, payload: BaseModel, auth: Authorizer, status: int) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(auth.present(payload))

    async def answer_report(self, path: Path) -> None:
        await self.send_report(path)

    async def forwarded(self) -> bool:
        """Under JupyterHub with the scheduler service: forward this request to the service,
        relay its answer, and return True. Otherwise (no hub, no scheduler) return False."""
        proxy = self.scheduler_proxy
        if proxy is None:
            return False
        local_jobs = self.api_url("jobs") + "/"
        path = self.request.path
        rest = path[len(local_jobs) :] if path.startswith(local_jobs) else ""
        try:
            relayed = await proxy.forward(
                self.request.method or "GET", rest, self.request.query_arguments, self.request.body
            )
        except (OSError, HTTPClientError) as exc:
            raise tornado.web.HTTPError(
                502, "The scheduler service (%s) did not answer: %s", proxy.base_url, exc
            ) from None
        self.set_status(relayed.status)
        for name, value in relayed.headers.items():
            self.set_header(name, value)
        if relayed.location and relayed.status == 201:
            self.set_header("Location", proxy.local_location(relayed.location, local_jobs))
        # APIHandler.finish() would force application/json; a report is a page
        tornado.web.RequestHandler.finish(self, relayed.body)
        return True


def _authenticated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Jupyter's authentication and authorization (resource ``workspace``) of each route."""
    return tornado.web.authenticated(authorized(method))


#: (path under ``workspace/api/``, handler): the Lab's routes of :mod:`workspace.api.routes`.
ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = tuple(
    (f"jobs/{pattern}", handler)
    for pattern, handler in handlers(JobsHandler, lab=True, wrap=_authenticated)
)
