"""The reports service's re-run endpoint: ``POST pipelines/NAME/reruns`` from a report page.

The form of :mod:`workspace.reports.reruns` posts here (with the hub's XSRF token). The
values are read as their declarations say, then the jobs route ``reruns`` runs in-process
with the viewer as the caller (:func:`workspace.api.mount.invoke`: the audience check, the
checks of every value, the cache, the audit trail). The answer is a redirect to the run's
page, which reloads itself until the run has its report (no script). A refused re-run (not
allowed, a bad value) is an error page with the reason, status 403 or 400.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tornado.web import authenticated

from workspace.api.errors import error_response
from workspace.api.models import RerunRequest, RerunResponse
from workspace.api.mount import invoke
from workspace.api.routes import ROUTES_BY_NAME
from workspace.lake.errors import WorkspaceError
from workspace.reports.reruns import ViewerAuthorizer, values

__all__ = ["rerun_handler"]


def rerun_handler(base: type[Any]) -> type[Any]:
    """The handler class of the endpoint, on the service's handler ``base`` (its identity,
    audience checks, pages and error pages)."""

    class RerunHandler(base):
        """Start (or find the cached) re-run of a pipeline for the viewer, then show it."""

        @authenticated
        async def post(self, name: str) -> None:
            viewer = self.viewer
            access = self.pipeline_access(viewer, name)  # the 403 page of hidden pipelines
            jobs = self.reports.jobs
            form = dict(self.request.body_arguments)

            def work() -> RerunResponse:
                body = RerunRequest(parameters=values(jobs.spec(access.name), form))
                route = ROUTES_BY_NAME["reruns"]
                result: RerunResponse = invoke(
                    route, jobs, ViewerAuthorizer(viewer), {"name": access.name}, body=body
                )
                return result

            try:
                result = await asyncio.to_thread(work)
            except (WorkspaceError, PermissionError) as exc:
                self.set_status(error_response(exc).status)
                self.page(
                    "error",
                    heading="This re-run was refused",
                    message=str(exc),
                    hint="Go back to the report, change the values and try again.",
                )
                return
            self.redirect(self.reports.run_url(result.run.run_id), status=303)

    return RerunHandler
