"""The jupyter_server ``ExtensionApp`` of the workspace: its settings, routes and resources.

:class:`WorkspaceServer` holds the traitlets configuration, the handlers' settings, one lazy
route rule under ``{base_url}workspace/api/`` and the clean-up at stop. Loading it imports
nothing beyond jupyter_server and traitlets. Design notes: docs/extension-api.md.

Examples
--------
>>> WorkspaceServer.name
'workspace_server'
>>> WorkspaceServer().scheduler_proxy(environ={}) is None  # no hub, no scheduler service
True
"""

from __future__ import annotations

import atexit
import os
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tornado.web
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from traitlets import Bool, Float, Int, Unicode

from workspace.server import API_PREFIX
from workspace.server.lake_access import LakeConnections
from workspace.server.routing import LazyRoutes

if TYPE_CHECKING:
    from workspace.lake.settings import Settings
    from workspace.server.jobs_handlers import JobsServices
    from workspace.server.scheduler_proxy import SchedulerProxy

__all__ = ["Resources", "WorkspaceServer"]

#: The hub's token of the server and the scheduler service's URL (``hub_config``).
TOKEN_ENV, HUB_API_ENV, SCHEDULER_URL_ENV = (
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_API_URL",
    "WORKSPACE_SCHEDULER_URL",
)


class WorkspaceServer(ExtensionApp):
    """The workspace's server extension (configure it as ``c.WorkspaceServer.<trait>``)."""

    name = "workspace_server"
    description = "The workspace's REST API under /workspace/api/ (catalog, jobs, schedule)."

    scheduled_dir = Unicode(
        "",
        help=(
            "Folder of the production pipelines (one sub-folder per pipeline). Empty: "
            "$WORKSPACE_SCHEDULED, else <server root>/scheduled when it exists, else "
            "./scheduled relative to the server's working directory."
        ),
    ).tag(config=True)

    lake_threads = Int(
        4,
        min=1,
        help=(
            "Worker threads for lake and run-store work. Each keeps its own read-only lake "
            "connection (about half a second to open), so more threads use more memory."
        ),
    ).tag(config=True)

    scheduler_url = Unicode(
        "",
        help=(
            "URL of the scheduler service, e.g. http://127.0.0.1:8082/services/scheduler/. "
            "Empty: $WORKSPACE_SCHEDULER_URL, which the hub config gives every user server."
        ),
    ).tag(config=True)

    forward_jobs = Bool(
        None,
        allow_none=True,
        help=(
            "Send the jobs routes, a promotion and a table's writers to the scheduler "
            "service with the server's hub token instead of using a local run store. "
            "None (default): when the scheduler URL, $JUPYTERHUB_API_TOKEN and "
            "$JUPYTERHUB_API_URL are all set (a server the hub spawned). False: never. "
            "True: always (a request fails with 503 while the URL or the token is missing)."
        ),
    ).tag(config=True)

    scheduler_timeout = Float(
        60.0,
        min=1.0,
        help="Seconds a forwarded request may take (a promotion's test run has an hour).",
    ).tag(config=True)

    resources: Resources | None = None

    # -- what the handlers read ---------------------------------------------------------------
    def scheduler_proxy(self, environ: Mapping[str, str] | None = None) -> SchedulerProxy | None:
        """The scheduler service to forward to, or ``None`` to serve locally.

        The environment is read at each call (the hub's variables are the defaults).

        Examples
        --------
        >>> app = WorkspaceServer(scheduler_url="http://127.0.0.1:8082/services/scheduler")
        >>> app.scheduler_proxy({"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_API_URL": "u"}).url(
        ...     "runs", "")
        'http://127.0.0.1:8082/services/scheduler/api/jobs/runs'
        >>> WorkspaceServer(forward_jobs=False).scheduler_proxy(
        ...     {"JUPYTERHUB_API_TOKEN": "t", "JUPYTERHUB_API_URL": "u",
        ...      "WORKSPACE_SCHEDULER_URL": "http://s/"}) is None
        True
        """
        if self.forward_jobs is False:
            return None
        env = os.environ if environ is None else environ
        url = self.scheduler_url or env.get(SCHEDULER_URL_ENV, "")
        token = env.get(TOKEN_ENV, "")
        if url and token and (self.forward_jobs or env.get(HUB_API_ENV)):
            from workspace.server.scheduler_proxy import SchedulerProxy

            return SchedulerProxy(url.rstrip("/") + "/", token, timeout=self.scheduler_timeout)
        if self.forward_jobs:
            missing = "the scheduler URL" if not url else f"${TOKEN_ENV}"
            raise tornado.web.HTTPError(
                503,
                "c.WorkspaceServer.forward_jobs is True but %s is not set; set it (or "
                "c.WorkspaceServer.scheduler_url), or leave forward_jobs unset",
                missing,
            )
        return None

    def scheduled(self) -> Path:
        """The production pipelines folder (``scheduled_dir``, else the environment's)."""
        if self.scheduled_dir:
            return Path(self.scheduled_dir).expanduser().absolute()
        from workspace.jobs.spec.locations import scheduled_root

        assert self.serverapp is not None
        return scheduled_root(getattr(self.serverapp, "root_dir", None) or os.getcwd())

    # -- ExtensionApp ---------------------------------------------------------------------------
    def initialize_settings(self) -> None:
        """The ``workspace_*`` settings the handlers read (nothing is opened here)."""
        resources = Resources(
            lakes=LakeConnections(),
            executor=ThreadPoolExecutor(self.lake_threads, thread_name_prefix="workspace-api"),
        )
        self.resources = resources
        _OPEN.add(resources)
        self.settings.update(
            workspace_settings=_resolve_settings,
            workspace_lakes=resources.lakes,
            workspace_executor=resources.executor,
            workspace_scheduled=self.scheduled,
            workspace_proxy=self.scheduler_proxy,
            workspace_resources=resources,
        )

    def initialize_handlers(self) -> None:
        """One rule for ``{base_url}workspace/api/.*``; each group's handlers load on its
        first request (:class:`~workspace.server.routing.LazyRoutes`)."""
        assert self.serverapp is not None
        web_app = self.serverapp.web_app
        base_url = web_app.settings["base_url"]
        resources = self.resources
        assert resources is not None

        def jobs_loaded() -> None:
            # the jobs routes' run stores (one per workspace home), made with their module
            from workspace.server.jobs_handlers import JobsServices

            resources.jobs = JobsServices(base_url)
            web_app.settings["workspace_jobs"] = resources.jobs

        prefix = url_path_join(base_url, API_PREFIX)
        routes = LazyRoutes(web_app, prefix, on_load={"jobs": jobs_loaded})
        # tornado's own add_handlers: jupyter_server's checks that every handler class is
        # authenticated, which LazyRoutes does for each group when it loads it
        tornado.web.Application.add_handlers(web_app, ".*$", [(prefix + "/.*", routes)])
        self.log.info("workspace.server: routes under %s", prefix)

    async def stop_extension(self) -> None:
        """Close the worker threads, lake connections and run stores (server shutdown)."""
        if self.resources is not None:
            self.resources.close()


def _resolve_settings() -> Settings:
    from workspace.lake.settings import Settings

    return Settings.resolve()


@dataclass(eq=False)
class Resources:
    """What the extension holds open: worker threads, lake connections and run stores."""

    lakes: LakeConnections
    executor: ThreadPoolExecutor
    jobs: JobsServices | None = None

    def close(self) -> None:
        """Stop the worker threads and close every connection (idempotent)."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.lakes.close_all()
        if self.jobs is not None:
            self.jobs.close()
        _OPEN.discard(self)


#: Resources of the servers of this process; whatever is still open at exit is closed (a
#: server that exits without stopping its extensions, e.g. on a signal).
_OPEN: weakref.WeakSet[Resources] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for resources in list(_OPEN):
        resources.close()
