"""The base of every handler: JSON in and out, blocking work off the event loop, and the
one error mapping (:func:`workspace.api.errors.error_response`).

Errors always answer ``{"status", "error", "errors"}`` (400, 403, 404, 409, else 500 with a
generic message). The mapping: docs/extension-api.md, "Module notes".

Examples
--------
>>> class PingHandler(WorkspaceHandler):
...     @tornado.web.authenticated
...     @authorized
...     async def get(self) -> None:
...         self.send({"pong": True})
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel

from workspace.api.errors import error_response as api_error_response
from workspace.api.models import ErrorResponse
from workspace.lake.settings import Settings
from workspace.server.lake_access import LakeConnections

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace
    from workspace.server.scheduler_proxy import SchedulerProxy

log = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

#: The ``auth_resource`` of every route (jupyter_server's authorizer sees this name).
AUTH_RESOURCE = "workspace"
GENERIC_500 = "Internal error in the workspace server extension; the server log has the details."

__all__ = ["AUTH_RESOURCE", "WorkspaceHandler", "authorized", "error_response"]


def error_response(exc: BaseException) -> ErrorResponse:
    """The error body of an exception raised by a handler (tornado's own errors included).

    Examples
    --------
    >>> error_response(tornado.web.HTTPError(403, "no")).status
    403
    >>> error_response(KeyError("gold.x")).status
    404
    """
    return api_error_response(exc, generic=GENERIC_500)


class WorkspaceHandler(APIHandler):
    """Shared plumbing of the workspace routes (see the module docstring)."""

    auth_resource = AUTH_RESOURCE

    # -- context ----------------------------------------------------------------------------
    @property
    def ws_settings(self) -> Settings:
        """The workspace settings (``WORKSPACE_HOME`` ...), resolved per request."""
        factory: Callable[[], Settings] = self.settings["workspace_settings"]
        return factory()

    @property
    def lakes(self) -> LakeConnections:
        lakes: LakeConnections = self.settings["workspace_lakes"]
        return lakes

    @property
    def executor(self) -> ThreadPoolExecutor:
        pool: ThreadPoolExecutor = self.settings["workspace_executor"]
        return pool

    @property
    def scheduler_proxy(self) -> SchedulerProxy | None:
        """The scheduler service to forward to (behind the hub), else ``None``
        (:meth:`workspace.server.app.WorkspaceServer.scheduler_proxy`)."""
        proxy: SchedulerProxy | None = self.settings["workspace_proxy"]()
        return proxy

    def api_url(self, *parts: str) -> str:
        """An absolute path under the server's ``base_url``: ``/user/ada/workspace/api/...``."""
        from jupyter_server.utils import url_path_join

        return url_path_join(self.base_url, "workspace/api", *parts)

    # -- running work -----------------------------------------------------------------------
    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work on the extension's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, lambda: fn(*args, **kwargs))

    async def on_lake(self, fn: Callable[[Workspace], T]) -> T:
        """Run ``fn`` with the worker thread's read-only workspace."""
        settings = self.ws_settings
        return await self.blocking(self.lakes.run, settings, fn)

    # -- input ------------------------------------------------------------------------------
    def query(self, model: type[M]) -> M:
        """Validate the query string (without ``token``) with ``model``."""
        data: dict[str, Any] = {}
        for key, raw in self.request.query_arguments.items():
            if key in ("token", "_xsrf"):
                continue
            if key.isdigit() and not any(raw):  # JupyterLab's GET cache-buster: ?1700000000
                continue
            data[key] = raw[-1].decode("utf-8", "replace")
        return model.model_validate(data)

    def body(self, model: type[M]) -> M:
        """Validate the JSON body (empty means ``{}``) with ``model``."""
        raw = self.request.body.strip()
        try:
            data = json.loads(raw) if raw else {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise tornado.web.HTTPError(
                400, "The request body is not valid JSON: %s", exc
            ) from None
        return model.model_validate(data)

    # -- output -----------------------------------------------------------------------------
    def send(self, payload: BaseModel | dict[str, Any], status: int = 200) -> None:
        """Answer JSON (a pydantic model or a plain dict)."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        if isinstance(payload, BaseModel):
            self.finish(payload.model_dump_json())
        else:
            self.finish(json.dumps(payload, default=str))

    async def send_report(self, path: Path) -> None:
        """Answer a rendered report as HTML under :data:`REPORT_CSP` (no script runs)."""
        from workspace.jobs.execution.report import REPORT_CSP  # nbconvert: only for reports

        content = await self.blocking(path.read_bytes)
        self.set_header("Content-Security-Policy", REPORT_CSP)
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Content-Type-Options", "nosniff")
        # APIHandler.finish() would force application/json; a report is a page
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        tornado.web.RequestHandler.finish(self, content)

    # -- the one error mapping ------------------------------------------------------------
    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if value is None or error_response(value).status >= 500:
            log.error("%s %s failed", self.request.method, self.request.path, exc_info=value)
        else:
            log.info("%s %s: %s", self.request.method, self.request.path, value)

    def error_payload(self, exc: BaseException) -> BaseModel:
        """The body of an error; subclasses may add fields (e.g. a report link)."""
        return error_response(exc)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        body: BaseModel
        if exc_info and exc_info[1] is not None:
            body = self.error_payload(exc_info[1])
        else:
            body = ErrorResponse(status=status_code, error=self._reason)
        status = int(getattr(body, "status", status_code))
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(body.model_dump_json())


class NotFoundHandler(WorkspaceHandler):
    """Any path under ``workspace/api/`` that matches no route: a JSON 404."""

    @tornado.web.authenticated
    @authorized
    async def get(self, rest: str) -> None:
        raise tornado.web.HTTPError(404, "No such endpoint: %s", self.request.path)

    post = get
