"""The jupyter_server extension behind the Lab catalog panel and "Schedule this notebook".

Routes live under ``{base_url}workspace/api/`` (``docs/extension-api.md``, ``openapi.yaml``
next to this file). The extension is the ``ExtensionApp``
:class:`~workspace.server.app.WorkspaceServer`, enabled by
``jupyter-config/server-config/workspace.json``; each group of routes imports its handlers on
its first request. Loading, configuration: docs/extension-api.md, "Module notes".

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
