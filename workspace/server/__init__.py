"""The jupyter_server extension behind the Lab catalog panel and "Schedule this notebook".

Routes live under ``{base_url}workspace/api/`` (``docs/extension-api.md``, described by
``openapi.yaml`` next to this file): ``catalog/...`` over :mod:`workspace.lake`,
``jobs/...`` and ``schedule/...`` over :mod:`workspace.jobs`. It is enabled in every Jupyter
server by ``jupyter-config/server-config/workspace.json``, or by hand with
``jupyter server --ServerApp.jpserver_extensions="{'workspace.server': True}"``.

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
import os
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.utils import url_path_join
from traitlets import Int, Unicode
from traitlets.config import Configurable

from workspace.jobs.locations import scheduled_root
from workspace.lake.settings import Settings
from workspace.server.base import NotFoundHandler, WorkspaceHandler
from workspace.server.catalog_handlers import ROUTES as CATALOG_ROUTES
from workspace.server.jobs_handlers import ROUTES as JOBS_ROUTES
from workspace.server.jobs_handlers import JobsServices
from workspace.server.lake_access import LakeConnections
from workspace.server.schedule_handlers import ROUTES as SCHEDULE_ROUTES

#: Every route: (path under ``workspace/api/``, handler class).
ROUTES = (*CATALOG_ROUTES, *JOBS_ROUTES, *SCHEDULE_ROUTES)
API_PREFIX = "workspace/api"


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


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the handlers under ``{base_url}workspace/api/`` (called by jupyter_server).

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
        return scheduled_root(root_dir)

    resources = Resources(
        lakes=LakeConnections(),
        jobs=JobsServices(base_url),
        executor=ThreadPoolExecutor(config.lake_threads, thread_name_prefix="workspace-api"),
    )
    _OPEN.add(resources)
    web_app.settings.update(
        workspace_settings=Settings.resolve,
        workspace_lakes=resources.lakes,
        workspace_jobs=resources.jobs,
        workspace_executor=resources.executor,
        workspace_scheduled=scheduled,
        workspace_resources=resources,
    )
    handlers: list[tuple[str, type[WorkspaceHandler]]] = [
        (url_path_join(base_url, API_PREFIX, path), handler) for path, handler in ROUTES
    ]
    handlers.append((url_path_join(base_url, API_PREFIX, "(?P<rest>.*)"), NotFoundHandler))
    web_app.add_handlers(".*$", handlers)
    serverapp.log.info("workspace.server: routes under %s", url_path_join(base_url, API_PREFIX))


@dataclass(eq=False)
class Resources:
    """What the extension holds open: worker threads, lake connections and run stores."""

    lakes: LakeConnections
    jobs: JobsServices
    executor: ThreadPoolExecutor

    def close(self) -> None:
        """Stop the worker threads and close every connection (idempotent)."""
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.lakes.close_all()
        self.jobs.close()
        _OPEN.discard(self)


#: Resources of the servers of this process; whatever is still open is closed at exit
#: (jupyter_server calls stop hooks only for ExtensionApp extensions).
_OPEN: weakref.WeakSet[Resources] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for resources in list(_OPEN):
        resources.close()
