"""``workspace/api/catalog/...``: browse the lake (layers, tables, detail, preview, profile).

Every call runs on a worker thread with that thread's read-only lake connection
(:mod:`workspace.server.lake_access`); a workspace without a lake answers
``exists: false`` and is not created by browsing.
"""

from __future__ import annotations

import tornado.web

from workspace.lake.catalog import LayerInfo
from workspace.lake.workspace import Workspace
from workspace.server import catalog_ops
from workspace.server.base import WorkspaceHandler, authorized
from workspace.server.lake_access import lake_exists, no_lake_message
from workspace.server.models import (
    AtQuery,
    LayersResponse,
    PreviewQuery,
    ProfileQuery,
    TablesQuery,
)


class LayersHandler(WorkspaceHandler):
    """``GET catalog/layers``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        settings = self.ws_settings
        if not lake_exists(settings):
            self.send(
                LayersResponse(
                    exists=False, message=no_lake_message(settings), user=settings.user, layers=[]
                )
            )
            return

        def layers(ws: Workspace) -> list[LayerInfo]:
            return ws.catalog.layers()

        found = await self.on_lake(layers)
        self.send(LayersResponse(exists=True, user=settings.user, layers=found))


class TablesHandler(WorkspaceHandler):
    """``GET catalog/tables?layer=&q=&offset=&limit=``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        query = self.query(TablesQuery)
        self.send(await self.on_lake(lambda ws: catalog_ops.tables_page(ws, query)))


class TableHandler(WorkspaceHandler):
    """``GET catalog/tables/{name}?at=``. Behind the hub the table's writers come from the
    scheduler service (:func:`catalog_ops.remote_writers`), never from the run store."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        at = self.query(AtQuery).at
        proxy = self.scheduler_proxy  # behind the hub: the run store is the service's
        local = proxy is None
        detail = await self.on_lake(
            lambda ws: catalog_ops.table_detail(ws, name, at=at, local_lineage=local)
        )
        if proxy is not None:
            detail.writers, detail.lineage_error = await catalog_ops.remote_writers(
                proxy, detail.name
            )
        self.send(detail)


class PreviewHandler(WorkspaceHandler):
    """``GET catalog/tables/{name}/preview?offset=&limit=&at=``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        q = self.query(PreviewQuery)
        page = await self.on_lake(
            lambda ws: catalog_ops.table_preview(ws, name, offset=q.offset, limit=q.limit, at=q.at)
        )
        self.send(page)


class ProfileHandler(WorkspaceHandler):
    """``GET catalog/tables/{name}/profile?refresh=``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        refresh = self.query(ProfileQuery).refresh
        self.send(
            await self.on_lake(lambda ws: catalog_ops.table_profile(ws, name, refresh=refresh))
        )


_TABLE = r"(?P<name>[^/]+)"
#: (path under ``workspace/api/``, handler); ``openapi.yaml`` lists the same paths.
ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = (
    ("catalog/layers", LayersHandler),
    ("catalog/tables", TablesHandler),
    (f"catalog/tables/{_TABLE}", TableHandler),
    (f"catalog/tables/{_TABLE}/preview", PreviewHandler),
    (f"catalog/tables/{_TABLE}/profile", ProfileHandler),
)
