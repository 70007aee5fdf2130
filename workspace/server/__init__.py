"""The jupyter_server extension behind the Lab catalog panel and "Schedule this notebook".

Routes live under ``{base_url}workspace/api/`` (``docs/extension-api.md``, described by
``openapi.yaml`` next to this file): ``catalog/...`` over :mod:`workspace.lake`,
``jobs/...`` and ``schedule/...`` over :mod:`workspace.jobs`. It is enabled in every Jupyter
server by ``jupyter-config/server-config/workspace.json``, or by hand with
``jupyter server --ServerApp.jpserver_extensions="{'workspace.server': True}"``.

Every hub user's server loads this extension, so loading it costs next to nothing: each
group of routes (``catalog``, ``jobs``, ``schedule``) imports its handlers, and with them
DuckDB, pandas, pydantic or the run store, on its first request (:class:`LazyRoutes`), and
no lake connection is opened before the first catalog call.

Configuration (traitlets, in ``jupyter_server_config.py``)::

    c.WorkspaceServer.scheduled_dir = "/srv/pipelines"
    c.WorkspaceServer.lake_threads = 4

Examples
--------
>>> _jupyter_server_extension_points()
[{'module': 'workspace.server'}]
"""

from __future__ import annotations

import atexit
import importlib
import os
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.utils import url_path_join
from tornado.httputil import HTTPMessageDelegate, HTTPServerRequest
from tornado.routing import PathMatches, Rule, RuleRouter
from traitlets import Int, Unicode
from traitlets.config import Configurable

from workspace.server.lake_access import LakeConnections

if TYPE_CHECKING:
    from workspace.lake.settings import Settings
    from workspace.server.jobs_handlers import JobsServices

API_PREFIX = "workspace/api"
#: Route groups: first path segment under ``workspace/api/`` -> the module of its handlers
#: (each has ``ROUTES``: (path under ``workspace/api/``, handler class)).
GROUPS = {
    "catalog": "workspace.server.catalog_handlers",
    "jobs": "workspace.server.jobs_handlers",
    "schedule": "workspace.server.schedule_handlers",
}

Routes = tuple[tuple[str, type[tornado.web.RequestHandler]], ...]


def __getattr__(name: str) -> Any:
    # ``ROUTES``: every route, (path under ``workspace/api/``, handler class); imports all
    # handler modules, so only tests and tools use it.
    if name == "ROUTES":
        return tuple(r for module in GROUPS.values() for r in group_routes(module))
    raise AttributeError(f"module 'workspace.server' has no attribute {name!r}")


def group_routes(module: str) -> Routes:
    """The ``ROUTES`` of a handler module (imports it)."""
    routes: Routes = importlib.import_module(module).ROUTES
    return routes


class WorkspaceServer(Configurable):
    """Settings of the workspace server extension."""

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


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the extension.

    Examples
    --------
    >>> _jupyter_server_extension_points()[0]["module"]
    'workspace.server'
    """
    return [{"module": "workspace.server"}]


def _resolve_settings() -> Settings:
    from workspace.lake.settings import Settings

    return Settings.resolve()


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the routes under ``{base_url}workspace/api/`` (called by jupyter_server).

    Examples
    --------
    >>> _load_jupyter_server_extension(serverapp)  # doctest: +SKIP
    """
    config = WorkspaceServer(parent=serverapp)
    web_app = serverapp.web_app
    base_url = web_app.settings["base_url"]
    root_dir = getattr(serverapp, "root_dir", None) or os.getcwd()

    def scheduled() -> Path:
        if config.scheduled_dir:
            return Path(config.scheduled_dir).expanduser().absolute()
        from workspace.jobs.spec.locations import scheduled_root

        return scheduled_root(root_dir)

    resources = Resources(
        lakes=LakeConnections(),
        executor=ThreadPoolExecutor(config.lake_threads, thread_name_prefix="workspace-api"),
    )
    _OPEN.add(resources)
    web_app.settings.update(
        workspace_settings=_resolve_settings,
        workspace_lakes=resources.lakes,
        workspace_executor=resources.executor,
        workspace_scheduled=scheduled,
        workspace_resources=resources,
    )

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
    serverapp.log.info("workspace.server: routes under %s", prefix)


class LazyRoutes(RuleRouter):
    """The extension's routes, each group's handler module imported on its first request.

    A request under ``prefix`` names its group by its first path segment
    (:data:`GROUPS`); the group's routes are added on the first request, and a path that
    matches none of them gets the JSON 404 of
    :class:`~workspace.server.base.NotFoundHandler`.
    """

    def __init__(
        self,
        application: tornado.web.Application,
        prefix: str,
        *,
        on_load: dict[str, Callable[[], None]] | None = None,
    ) -> None:
        super().__init__()
        self.application = application
        self.prefix = prefix.rstrip("/") + "/"
        self.on_load = on_load or {}
        self.loaded: dict[str, RuleRouter] = {}

    def _group(self, name: str) -> RuleRouter:
        router = self.loaded.get(name)
        if router is None:
            module = GROUPS.get(name)
            if module is None:
                from workspace.server.base import NotFoundHandler

                routes: Routes = (("(?P<rest>.*)", NotFoundHandler),)
            else:
                if name in self.on_load:
                    self.on_load[name]()
                routes = group_routes(module)
                _check_authenticated(self.application, routes)
            router = _HandlerRouter(self.application)
            router.add_rules(
                [(PathMatches(self.prefix + path), handler) for path, handler in routes]
            )
            self.loaded[name] = router
            # ``rules`` lists the loaded groups (for tools that walk the application's routers)
            self.rules.append(Rule(PathMatches(self.prefix + (name and name + "/") + ".*"), router))
        return router

    def load_all(self) -> None:
        """Import every group now (tools and tests that list the routes)."""
        for name in [*GROUPS, ""]:
            self._group(name)

    def find_handler(self, request: HTTPServerRequest, **kwargs: Any) -> HTTPMessageDelegate | None:
        rest = request.path[len(self.prefix) :] if request.path.startswith(self.prefix) else ""
        name = rest.split("/", 1)[0]
        if name in GROUPS:
            delegate = self._group(name).find_handler(request)
            if delegate is not None:
                return delegate
        return self._group("").find_handler(request)


class _HandlerRouter(RuleRouter):
    """A router whose targets are handler classes of ``application``."""

    def __init__(self, application: tornado.web.Application) -> None:
        super().__init__()
        self.application = application

    def get_target_delegate(
        self, target: Any, request: HTTPServerRequest, **target_params: Any
    ) -> HTTPMessageDelegate | None:
        if isinstance(target, type) and issubclass(target, tornado.web.RequestHandler):
            return self.application.get_handler_delegate(request, target, **target_params)
        return super().get_target_delegate(target, request, **target_params)


def _check_authenticated(application: tornado.web.Application, routes: Routes) -> None:
    """jupyter_server's warning for handlers without authentication, as ``add_handlers``."""
    check = getattr(application, "_check_handler_auth", None)
    if check is None:
        return
    missing = [m for path, handler in routes for m in check(path, handler)]
    if missing:
        import warnings

        from jupyter_server.serverapp import JupyterServerAuthWarning

        warnings.warn(
            "Extension endpoints without @allow_unauthenticated, @ws_authenticated, nor "
            "@web.authenticated:\n" + "\n".join(missing),
            JupyterServerAuthWarning,
            stacklevel=2,
        )


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


#: Resources of the servers of this process; whatever is still open is closed at exit
#: (jupyter_server calls stop hooks only for ExtensionApp extensions).
_OPEN: weakref.WeakSet[Resources] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for resources in list(_OPEN):
        resources.close()
