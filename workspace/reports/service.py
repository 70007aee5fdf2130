"""The reports service: a hub-managed tornado app that shows pipeline reports to the people
each pipeline is shared with.

Routes under ``/services/reports/``: the gallery, a pipeline's history and latest report, run
pages and report HTML (no script, sandboxed CSP), the audit trail's JSON and the OAuth
callback. Every request is identified through hub OAuth and checked with
:func:`workspace.reports.access.can_view`; hidden and unknown pipelines get the same 403.

The routes and the "hidden or unknown" rule: docs/reports.md, "Module notes".
"""

from __future__ import annotations

import asyncio
import html as html_lib
import logging
import os
import re
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado.web import Application, HTTPError, RequestHandler, authenticated

from workspace.api.auth import NAME_PATTERN, PIPELINE_NAME, VIEW_SCOPE, Identity
from workspace.api.errors import error_response
from workspace.api.service import JobsService, ReportNotFoundError
from workspace.governance.audit import record
from workspace.jobs.execution.report import REPORT_CSP, render_report
from workspace.jobs.execution.report_layout import DESCRIPTION_SLOT, KEY_NUMBERS_SLOT
from workspace.jobs.models import Run, RunNotFoundError
from workspace.jobs.paths import REPORT_FILE
from workspace.lake.settings import Settings
from workspace.reports.access import PipelineAccess, can_view, scan_pipelines
from workspace.reports.audit_view import AuditHandler
from workspace.reports.compare import key_numbers, previous_run, run_outputs
from workspace.reports.health_view import HealthHandler
from workspace.reports.pages import BAR_CSS, PAGE_CSP, GalleryEntry, RunRow, render, when
from workspace.reports.rerun_page import rerun_handler
from workspace.reports.reruns import RERUN_PAGE_CSP, section, someone_elses

log = logging.getLogger(__name__)

__all__ = ["REPORT_PAGE_CSP", "ReportsApp", "make_app"]

#: A run page that is its report: the report's policy (no script, ``sandbox``), never framed.
REPORT_PAGE_CSP = REPORT_CSP.replace("frame-ancestors 'self'", "frame-ancestors 'none'")
_BODY = re.compile(r"<body[^>]*>")

HISTORY = 10
_LATEST_SCAN = 200
_CODE_CACHE = 16


class ReportsApp:
    """What the handlers share: the jobs service (store + report paths) and the root."""

    def __init__(self, settings: Settings, scheduled_root: Path, prefix: str) -> None:
        self.jobs = JobsService(settings, scheduled_root)
        self.root = Path(scheduled_root)
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        hub_base = os.environ.get("JUPYTERHUB_BASE_URL") or "/"
        self.logout_url = hub_base.rstrip("/") + "/hub/logout"
        self._code: OrderedDict[tuple[str, float], str] = OrderedDict()

    # -- urls -----------------------------------------------------------------------------

    def url(self, *parts: str) -> str:
        return self.prefix + "/".join(quote(p, safe="") for p in parts)

    def run_url(self, run_id: str) -> str:
        return self.url("runs", run_id)

    # -- data -----------------------------------------------------------------------------

    def pipelines(self) -> dict[str, PipelineAccess]:
        names = (p.name for p in self.jobs.store.list_pipelines())
        return scan_pipelines(self.root, names, jobs=self.jobs)  # recorded owner/audience

    def row(self, run: Run) -> RunRow:
        return RunRow(
            run_id=run.run_id,
            state=str(run.state),
            when=when(run.finished_at or run.started_at or run.scheduled_for or run.created_at),
            trigger=str(run.trigger) + (f" by {run.triggered_by}" if run.triggered_by else ""),
            url=self.run_url(run.run_id),
            has_report=bool(run.report_path),
        )

    def latest(self, name: str) -> Run | None:
        for run in self.jobs.store.list_runs(pipeline=name, limit=_LATEST_SCAN):
            if run.report_path and not someone_elses(run):  # a viewer's re-run
                return run
        return None

    def entry(self, access: PipelineAccess) -> GalleryEntry:
        runs = self.jobs.store.list_runs(pipeline=access.name, limit=HISTORY)
        latest = self.latest(access.name)
        return GalleryEntry(
            name=access.name,
            url=self.url("pipelines", access.name),
            latest_url=self.url("pipelines", access.name, "latest"),
            description=access.description,
            owner=access.owner,
            latest=self.row(latest) if latest else None,
            runs=[self.row(r) for r in runs],
        )

    def code_report(self, run_id: str, attempt_id: int | None, title: str) -> str:
        """The report re-rendered from the executed notebook with code cells shown."""
        detail = self.jobs.store.get_run_detail(run_id)
        report = self.jobs.report(run_id, attempt_id)
        match = [
            a
            for a in detail.attempts
            if (a.attempt_id == attempt_id if attempt_id is not None else a.report_path)
            and a.report_path
            and Path(a.report_path).resolve() == report
        ]
        if not match or not match[-1].notebook_path:
            raise ReportNotFoundError("This report has no executed notebook to show code from.")
        notebook = Path(match[-1].notebook_path).resolve()
        home = self.jobs.settings.home.resolve()
        if not notebook.is_relative_to(home) or not notebook.is_file():
            raise ReportNotFoundError("The executed notebook of this report is gone.")
        key = (str(notebook), notebook.stat().st_mtime)
        if key not in self._code:
            with tempfile.TemporaryDirectory(prefix="ws-report-") as tmp:
                out = render_report(
                    notebook,
                    Path(tmp) / REPORT_FILE,
                    title=title,
                    status=str(match[-1].state),
                    show_code=True,
                )
                self._code[key] = out.read_text(encoding="utf-8")
            while len(self._code) > _CODE_CACHE:
                self._code.popitem(last=False)
        return self._code[key]


class _Base(HubOAuthenticated, RequestHandler):
    """Identity on every request; headers and error pages of the service."""

    @property
    def reports(self) -> ReportsApp:
        app: ReportsApp = self.settings["reports"]
        return app

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy", PAGE_CSP)
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Cache-Control", "no-store")

    @property
    def viewer(self) -> Identity:
        user = self.current_user
        if not user:  # @authenticated redirected already; never reached
            raise HTTPError(403)
        viewer = Identity.from_hub_model(user)
        if not viewer.may_view_reports:
            self._no_scope = True
            raise HTTPError(403, log_message=f"{viewer.name} lacks {VIEW_SCOPE}")
        return viewer

    def page(self, template: str, **context: Any) -> None:
        user = self.current_user
        name = user.get("name") if isinstance(user, dict) else None
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            render(
                template,
                base=self.reports.prefix,
                viewer=name,
                logout_url=self.reports.logout_url,
                **context,
            )
        )

    def deny(self, viewer: Identity, what: str) -> None:
        """403 for hidden *and* unknown things (404 only for viewers who see everything)."""
        if viewer.sees_everything:
            raise HTTPError(404, log_message=f"{what}: unknown")
        raise HTTPError(403, log_message=f"{what}: hidden from {viewer.name} or unknown")

    def pipeline_access(self, viewer: Identity, name: str) -> PipelineAccess:
        access = self.reports.pipelines().get(name) if PIPELINE_NAME.match(name) else None
        if access is None or not can_view(viewer, access):
            self.deny(viewer, f"pipeline {name!r}")
            raise AssertionError("unreachable")
        return access

    def run_access(self, viewer: Identity, run_id: str) -> tuple[Run, PipelineAccess]:
        try:
            run = self.reports.jobs.store.get_run(run_id)
        except RunNotFoundError:
            self.deny(viewer, f"run {run_id!r}")
            raise AssertionError("unreachable") from None
        access = self.reports.pipelines().get(run.pipeline) or PipelineAccess(run.pipeline)
        if not can_view(viewer, access):
            self.deny(viewer, f"run {run_id!r}")
        return run, access

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        if exc_info and exc_info[1] is not None:  # the one mapping: the page follows it
            status_code = error_response(exc_info[1]).status
            self.set_status(status_code)
        self.set_default_headers()
        if status_code == 403 and getattr(self, "_no_scope", False):
            heading, message, hint = (
                "You cannot view reports",
                "Your account does not have permission to view pipeline reports.",
                "Ask a workspace admin to give you the reports role.",
            )
        elif status_code == 403:
            heading, message, hint = (
                "This report is not shared with you",
                "The pipeline or run you asked for is not shared with your account, "
                "or it does not exist.",
                "If someone sent you this link, ask the pipeline's owner to add you or your "
                "group to its audience.",
            )
        elif status_code == 404:
            heading, message, hint = ("Not found", "There is no such pipeline, run or report.", "")
        else:
            heading, message, hint = (
                f"Error {status_code}",
                "The reports service could not answer this request.",
                "",
            )
        user = self._hub_auth_user_cache if hasattr(self, "_hub_auth_user_cache") else None
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(
            render(
                "error",
                base=self.reports.prefix,
                logout_url=self.reports.logout_url,
                viewer=user.get("name") if isinstance(user, dict) else None,
                heading=heading,
                message=message,
                hint=hint,
            )
        )


class GalleryHandler(_Base):
    @authenticated
    def get(self) -> None:
        viewer = self.viewer
        entries = [
            self.reports.entry(access)
            for access in self.reports.pipelines().values()
            if can_view(viewer, access)
        ]
        # Only pipelines with a report: a gallery of reports, not of every job.
        self.page("gallery", pipelines=[e for e in entries if e.latest is not None])


class PipelineHandler(_Base):
    @authenticated
    def get(self, name: str) -> None:
        access = self.pipeline_access(self.viewer, name)
        self.page("pipeline", p=self.reports.entry(access))


class LatestHandler(_Base):
    @authenticated
    def get(self, name: str) -> None:
        viewer = self.viewer
        access = self.pipeline_access(viewer, name)
        run = self.reports.latest(access.name)
        if run is None:
            self.set_status(404)
            self.page(
                "error",
                heading=f"{access.name} has no report yet",
                message="This link will show the latest report once a run has written one.",
                hint="",
            )
            return
        run_page(self, viewer, run, access, latest=True)


class RunHandler(_Base):
    @authenticated
    def get(self, run_id: str) -> None:
        viewer = self.viewer
        run, access = self.run_access(viewer, run_id)
        run_page(self, viewer, run, access, latest=False)


def run_page(
    handler: _Base, viewer: Identity, run: Run, access: PipelineAccess, *, latest: bool
) -> None:
    reports = handler.reports
    detail = reports.jobs.store.get_run_detail(run.run_id)
    code = handler.get_argument("code", "") == "1" and viewer.may_see_code(access.owner)
    query = "?code=1" if code else ""
    attempts = [
        {
            "task": a.task_key,
            "number": a.number,
            "state": str(a.state),
            "url": reports.url("runs", run.run_id, "attempts", str(a.attempt_id), "report") + query,
        }
        for a in detail.attempts
        if a.report_path
    ]
    here = (
        reports.url("pipelines", access.name, "latest") if latest else reports.run_url(run.run_id)
    )
    toggle = None
    if viewer.may_see_code(access.owner) and run.report_path:
        toggle = {
            "url": here if code else here + "?code=1",
            "label": "hide code" if code else "show code",
        }
    if not run.report_path:
        handler.page(
            "run",
            pipeline=access.name,
            pipeline_url=reports.url("pipelines", access.name),
            run=reports.row(run),
            latest=latest,
            permalink=reports.run_url(run.run_id),
            attempts=attempts,
            code_toggle=toggle,
        )
        return
    try:
        if code:
            document = reports.code_report(run.run_id, None, f"{access.name} (code)")
        else:
            document = reports.jobs.report(run.run_id).read_text(encoding="utf-8")
    except LookupError as exc:  # the report file is gone: 404 (not a bare 500)
        raise HTTPError(404, log_message=str(exc)) from None
    user = handler.current_user
    bar = render(
        "runbar",
        base=reports.prefix,
        viewer=user.get("name") if isinstance(user, dict) else None,
        logout_url=reports.logout_url,
        pipeline=access.name,
        pipeline_url=reports.url("pipelines", access.name),
        run=reports.row(run),
        latest=latest,
        permalink=reports.run_url(run.run_id),
        attempts=attempts,
        code_toggle=toggle,
    )
    action = reports.url("pipelines", access.name, "reruns")
    form = section(reports.jobs, access, run, action, handler.xsrf_form_html)
    bar += form
    record(
        viewer.name, "report_view", f"run:{run.run_id}", settings=reports.jobs.settings,
        pipeline=access.name, attempt_id=None, code=code, via="reports",
    )  # fmt: skip
    handler.set_header("Content-Security-Policy", RERUN_PAGE_CSP if form else REPORT_PAGE_CSP)
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.finish(report_page(reports, document, bar, run, access))


def report_page(
    reports: ReportsApp, document: str, bar: str, run: Run, access: PipelineAccess
) -> str:
    """The report document with the service's bar, the pipeline's description (when the
    notebook has none) and the comparison with the previous successful run."""
    store = reports.jobs.store
    numbers = []
    before = None
    outputs = run_outputs(store, run.run_id)
    if outputs:
        before = previous_run(store, run)
        numbers = key_numbers(outputs, run_outputs(store, before.run_id) if before else None)
    compared = render(
        "keynumbers",
        numbers=numbers,
        previous=reports.row(before) if before else None,
    )
    description = (
        f'<p class="ws-description">{html_lib.escape(access.description)}</p>'
        if access.description
        else ""
    )
    page = document.replace("</head>", f"<style>{BAR_CSS}</style></head>", 1)
    page = page.replace(DESCRIPTION_SLOT, description, 1)
    if KEY_NUMBERS_SLOT in page:
        page = page.replace(KEY_NUMBERS_SLOT, compared, 1)
    else:  # a report rendered before the layout had the slot
        bar += compared
    found = _BODY.search(page)
    if found is None:
        return bar + page
    return page[: found.end()] + bar + page[found.end() :]


class ReportHandler(_Base):
    """The report document itself: framed by the run page, never scriptable."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("X-Frame-Options", "SAMEORIGIN")
        self.set_header("Cross-Origin-Resource-Policy", "same-origin")

    @authenticated
    async def get(self, run_id: str, attempt: str | None = None) -> None:
        viewer = self.viewer
        run, access = self.run_access(viewer, run_id)
        attempt_id = int(attempt) if attempt is not None else None
        try:
            if self.get_argument("code", "") == "1" and viewer.may_see_code(access.owner):
                html = await asyncio.to_thread(
                    self.reports.code_report, run.run_id, attempt_id, f"{access.name} (code)"
                )
            else:
                path = self.reports.jobs.report(run.run_id, attempt_id)
                html = path.read_text(encoding="utf-8")
        except LookupError as exc:  # no report, no attempt: 404 (not a bare 500)
            raise HTTPError(404, log_message=str(exc)) from None
        record(
            viewer.name, "report_view", f"run:{run.run_id}",
            settings=self.reports.jobs.settings, pipeline=access.name,
            attempt_id=attempt_id, code=self.get_argument("code", "") == "1", via="reports",
        )  # fmt: skip
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)


def make_app(
    settings: Settings,
    scheduled_root: Path,
    *,
    prefix: str | None = None,
    cookie_secret: bytes | None = None,
) -> Application:
    """The tornado application of the reports service (``prefix``: the service prefix,
    default ``$JUPYTERHUB_SERVICE_PREFIX``)."""
    prefix = prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/reports/")
    reports = ReportsApp(settings, scheduled_root, prefix)
    p = reports.prefix
    name = f"({NAME_PATTERN})"
    run = r"([A-Za-z0-9_-]+)"
    return Application(
        [
            (p, GalleryHandler),
            (rf"{p}pipelines/{name}/?", PipelineHandler),
            (rf"{p}pipelines/{name}/latest/?", LatestHandler),
            (rf"{p}runs/{run}/?", RunHandler),
            (rf"{p}runs/{run}/report", ReportHandler),
            (rf"{p}runs/{run}/attempts/(\d+)/report", ReportHandler),
            (rf"{p}pipelines/{name}/reruns", rerun_handler(_Base)),
            (rf"{p}audit", AuditHandler),  # admins and the security group (audit_view.py)
            (rf"{p}health", HealthHandler),  # admins, engineers, security (health_view.py)
            (rf"{p}oauth_callback", HubOAuthCallbackHandler),
        ],
        reports=reports,
        workspace_settings=settings,
        workspace_scheduled_root=Path(scheduled_root),
        workspace_prefix=p,
        cookie_secret=cookie_secret or os.urandom(32),
        xsrf_cookies=False,
    )
