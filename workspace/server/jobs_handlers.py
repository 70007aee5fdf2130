"""``workspace/api/jobs/...``: pipelines and runs, the scheduler API's routes in Jupyter.

The handlers are thin: :class:`workspace.jobs.service.JobsService` does the work, exactly
as for the scheduler's own API (:mod:`workspace.hub.jobs_api`), and its report and log
links are absolute paths under the Jupyter server's ``base_url``.

Behind JupyterHub, with the scheduler service configured (see
:mod:`workspace.server.scheduler_proxy`), the same routes forward every request to the
scheduler service instead, which authorizes it as the server's user (a user's server runs as
their own OS account and cannot, and must not, open the run store itself).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import tornado.web
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

from workspace.jobs.service import JobsService
from workspace.jobs.service_models import (
    AudienceRequest,
    CountQuery,
    NextTimes,
    OwnerRequest,
    PipelineList,
    RunsQuery,
    TriggerRequest,
)
from workspace.lake.settings import Settings
from workspace.server.base import WorkspaceHandler, authorized
from workspace.server.scheduler_proxy import SchedulerProxy

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
        base = url_path_join(self.base_url, "workspace/api/jobs/runs", run_id)
        if attempt_id is None:
            return url_path_join(base, "report")
        return url_path_join(base, "attempts", str(attempt_id), "report")

    def log_url(self, run_id: str, attempt_id: int) -> str:
        """Absolute path of an attempt's log."""
        return url_path_join(
            self.base_url, "workspace/api/jobs/runs", run_id, "attempts", str(attempt_id), "log"
        )

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


class JobsHandler(WorkspaceHandler):
    """Base of the jobs routes: the service for this server's workspace and pipelines."""

    @property
    def service(self) -> JobsService:
        services: JobsServices = self.settings["workspace_jobs"]
        scheduled: Path = self.settings["workspace_scheduled"]()
        return services.get(self.ws_settings, scheduled)

    async def call(self, fn: Callable[[JobsService], T]) -> T:
        """Run ``fn(service)`` off the event loop (opening the run store is blocking too)."""
        return await self.blocking(lambda: fn(self.service))

    async def forwarded(self) -> bool:
        """Under JupyterHub with the scheduler service: forward this request to the service,
        relay its answer, and return True. Otherwise (no hub, no scheduler) return False."""
        proxy = SchedulerProxy.from_env()
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


class PipelinesHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if await self.forwarded():
            return
        pipelines = await self.call(lambda s: s.pipelines(n=3))
        # without the hub, the server's user is the workspace's only user: they manage all
        everything = {"can_manage": True, "can_approve": True}
        self.send(PipelineList(pipelines=[p.model_copy(update=everything) for p in pipelines]))


class PipelineHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        if await self.forwarded():
            return
        n = self.query(CountQuery).n
        self.send(await self.call(lambda s: s.pipeline(name, n=n)))


class TriggerHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        if await self.forwarded():
            return
        request = self.body(TriggerRequest)
        user = self.current_user.username
        run = await self.call(lambda s: s.trigger(name, request.parameters, requested_by=user))
        self.set_header("Location", self.api_url("jobs/runs", run.run_id))
        self.send(run, status=201)


class PauseHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.pause(name)))


class ResumeHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.resume(name)))


class ApproveHandler(JobsHandler):
    """Approve a pipeline pending review (behind the hub: engineers and admins only)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        if await self.forwarded():
            return
        user = self.current_user.username
        self.send(await self.call(lambda s: s.approve(name, by=user)))


class OwnerHandler(JobsHandler):
    """Hand a pipeline over to another owner (recorded)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        if await self.forwarded():
            return
        request, user = self.body(OwnerRequest), self.current_user.username
        self.send(
            await self.call(
                lambda s: s.transfer_owner(name, request.owner, by=user, reason=request.reason)
            )
        )


class AudienceHandler(JobsHandler):
    """Share a pipeline's reports with groups and users (empty lists: private)."""

    @tornado.web.authenticated
    @authorized
    async def put(self, name: str) -> None:
        if await self.forwarded():
            return
        audience, user = self.body(AudienceRequest).audience(), self.current_user.username
        self.send(await self.call(lambda s: s.set_audience(name, audience, by=user)))


class HistoryHandler(JobsHandler):
    """A pipeline's promotions, approvals, owners and audiences."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.history(name)))


class RunsHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if await self.forwarded():
            return
        data: dict[str, object] = {}
        for key, raw in self.request.query_arguments.items():
            if key == "token":
                continue
            values = [v.decode("utf-8", "replace") for v in raw]
            if key == "state":
                data[key] = [p.strip() for v in values for p in v.split(",") if p.strip()]
            else:
                data[key] = values[-1]
        query = RunsQuery.model_validate(data)
        self.send(await self.call(lambda s: s.runs(query)))


class RunHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.run(run_id)))


class ReportHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, attempt_id: str | None = None) -> None:
        if await self.forwarded():
            return
        attempt = None if attempt_id is None else int(attempt_id)
        path = await self.call(lambda s: s.report(run_id, attempt))
        await self.send_report(path)


class AttemptLogHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str, attempt_id: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.attempt_log(run_id, int(attempt_id))))


class RepairHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.repair(run_id)))


class CancelHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        if await self.forwarded():
            return
        self.send(await self.call(lambda s: s.cancel(run_id)))


class NextHandler(JobsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if await self.forwarded():
            return
        n = self.query(CountQuery).n
        self.send(NextTimes(times=await self.call(lambda s: s.next_times(n=n))))


_NAME = r"(?P<name>[^/]+)"
_RUN = r"(?P<run_id>[^/]+)"
_ATTEMPT = r"(?P<attempt_id>\d+)"
#: (path under ``workspace/api/``, handler); ``openapi.yaml`` lists the same paths.
ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = (
    ("jobs/pipelines", PipelinesHandler),
    (f"jobs/pipelines/{_NAME}", PipelineHandler),
    (f"jobs/pipelines/{_NAME}/trigger", TriggerHandler),
    (f"jobs/pipelines/{_NAME}/pause", PauseHandler),
    (f"jobs/pipelines/{_NAME}/resume", ResumeHandler),
    (f"jobs/pipelines/{_NAME}/approve", ApproveHandler),
    (f"jobs/pipelines/{_NAME}/owner", OwnerHandler),
    (f"jobs/pipelines/{_NAME}/audience", AudienceHandler),
    (f"jobs/pipelines/{_NAME}/history", HistoryHandler),
    ("jobs/runs", RunsHandler),
    (f"jobs/runs/{_RUN}", RunHandler),
    (f"jobs/runs/{_RUN}/report", ReportHandler),
    (f"jobs/runs/{_RUN}/attempts/{_ATTEMPT}/report", ReportHandler),
    (f"jobs/runs/{_RUN}/attempts/{_ATTEMPT}/log", AttemptLogHandler),
    (f"jobs/runs/{_RUN}/repair", RepairHandler),
    (f"jobs/runs/{_RUN}/cancel", CancelHandler),
    ("jobs/next", NextHandler),
)
