"""The jupyter_server extension behind the Lab catalog panel and "Schedule this notebook".

Routes live under ``{base_url}workspace/api/`` (``docs/extension-api.md``, described by
``openapi.yaml`` next to this file): ``catalog/...`` over :mod:`workspace.lake`,
``jobs/...`` and ``schedule/...`` over :mod:`workspace.api` and :mod:`workspace.jobs`. The
extension is the ``ExtensionApp`` :class:`~workspace.server.app.WorkspaceServer`, enabled in
every Jupyter server by ``jupyter-config/server-config/workspace.json`` (or by hand with
``jupyter server --ServerApp.jpserver_extensions="{'workspace.server': True}"``).

Every hub user's server loads it, so loading costs next to nothing: each group of routes
imports its handlers on its first request (:mod:`workspace.server.routing`). For the same
reason ``workspace.json`` turns off two server extensions that JupyterLab installs and the
workspace does not use, about 0.2 s of CPU per server start: ``jupyter_lsp`` (no language
server is installed; a user's ``~/.jupyter`` config can turn it back on) and
``notebook_shim`` (classic Notebook configuration).

Configuration (traitlets, in ``jupyter_server_config.py``)::

    c.WorkspaceServer.scheduled_dir = "/srv/pipelines"
    c.WorkspaceServer.lake_threads = 4
    c.WorkspaceServer.forward_jobs = False  # never forward to the scheduler service

Examples
--------
>>> _jupyter_server_extension_points()[0]["app"].name
'workspace_server'
"""

from __future__ import annotations

import importlib
from typing import Any

import tornado.web

API_PREFIX = "workspace/api"
#: Route groups: first path segment under ``workspace/api/`` -> the module of its handlers
#: (each has ``ROUTES``: (path under ``workspace/api/``, handler class)).
GROUPS = {
    "catalog": "workspace.server.catalog_handlers",
    "jobs": "workspace.server.jobs_handlers",
    "quality": "workspace.server.quality_handlers",
    "schedule": "workspace.server.schedule_handlers",
    "sql": "workspace.server.sql_handlers",
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


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Where jupyter_server finds the extension: its ``ExtensionApp``.

    Examples
    --------
    >>> _jupyter_server_extension_points()[0]["module"]
    'workspace.server'
    """
    from workspace.server.app import WorkspaceServer

    return [{"module": "workspace.server", "app": WorkspaceServer}]
