"""``workspace/api/schedule/...``: "Schedule this notebook" (cron preview, notebook
parameters, promotion and the promotion test's report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado.web
from pydantic import BaseModel

from workspace.jobs.orchestration.promote import PromoteError as PromoteFailed
from workspace.server import schedule_ops, schedule_remote
from workspace.server.base import WorkspaceHandler, authorized, error_response
from workspace.server.models import (
    CronQuery,
    NotebookQuery,
    PromoteError,
    PromoteRequest,
    PromoteResponse,
)


class ScheduleHandler(WorkspaceHandler):
    """Base: the server's root folder and the pipelines folder."""

    @property
    def root_dir(self) -> Path:
        root = getattr(self.contents_manager, "root_dir", None) or self.settings.get(
            "server_root_dir", "."
        )
        return Path(root)

    @property
    def scheduled(self) -> Path:
        scheduled: Path = self.settings["workspace_scheduled"]()
        return scheduled


class CronHandler(ScheduleHandler):
    """``GET schedule/cron?cron=&timezone=``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        q = self.query(CronQuery)
        self.send(schedule_ops.cron_preview(q.cron, q.timezone))


class NotebookHandler(ScheduleHandler):
    """``GET schedule/notebook?path=``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.query(NotebookQuery).path
        root, scheduled = self.root_dir, self.scheduled
        self.send(await self.blocking(schedule_ops.notebook_info, root, path, scheduled))


class PromoteHandler(ScheduleHandler):
    """``POST schedule/promote``: test-run the notebook, then write ``scheduled/<name>/``."""

    _report_url: str | None = None

    def error_payload(self, exc: BaseException) -> BaseModel:
        base = error_response(exc)
        return PromoteError(**base.model_dump(), report_url=self._report_url)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.body(PromoteRequest)
        if await schedule_remote.forward_promote(self, request):  # behind the hub
            return
        settings, root, scheduled = self.ws_settings, self.root_dir, self.scheduled
        done = await self.blocking(schedule_ops.promote, settings, root, scheduled, request)
        if done.test_id is not None:
            self._report_url = self.api_url("schedule/reports", done.test_id)
        if done.error is not None or done.folder is None:
            raise done.error or PromoteFailed("The promotion did not finish.")
        body: dict[str, Any] = {
            "pipeline": request.name,
            "folder": str(done.folder),
            "ok": True,
            "message": f"Pipeline {request.name} promoted to {done.folder}; the test run passed.",
            "report_url": self._report_url,
            "pipeline_url": self.api_url("jobs/pipelines", request.name),
        }
        self.send(PromoteResponse(**body), status=201)


class PromotionReportHandler(ScheduleHandler):
    """``GET schedule/reports/{test_id}``: the report of a promotion test run."""

    @tornado.web.authenticated
    @authorized
    async def get(self, test_id: str) -> None:
        if await schedule_remote.forward_report(self, test_id):  # behind the hub
            return
        path = await self.blocking(schedule_ops.test_report, self.ws_settings, test_id)
        await self.send_report(path)


#: (path under ``workspace/api/``, handler); ``openapi.yaml`` lists the same paths.
ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = (
    ("schedule/cron", CronHandler),
    ("schedule/notebook", NotebookHandler),
    ("schedule/promote", PromoteHandler),
    ("schedule/reports/(?P<test_id>[^/]+)", PromotionReportHandler),
)
