"""``workspace/api/quality/...``: table health for the catalog's badges and its Quality tab.

* ``GET quality/health``: every shared table's health in one request (the tree's badges);
* ``GET quality/tables/{name}``: one table's health, last check results, active findings,
  row count over its commits and PII suggestions;
* ``POST quality/tables/{name}/pii`` ``{"column", "action": "confirm" | "dismiss"}``: the
  owner confirms (flags the column as PII) or dismisses a suggestion.

Reads run on the worker threads' read-only lake connections
(:mod:`workspace.server.lake_access`); a review opens a writable one for its call.
"""

from __future__ import annotations

import tornado.web

from workspace.server import quality_ops
from workspace.server.base import WorkspaceHandler, authorized
from workspace.server.lake_access import lake_exists


class HealthHandler(WorkspaceHandler):
    """``GET quality/health``."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        if not lake_exists(self.ws_settings):
            self.send(quality_ops.HealthResponse(tables=[]))
            return
        self.send(await self.on_lake(quality_ops.health_all))


class TableQualityHandler(WorkspaceHandler):
    """``GET quality/tables/{name}``."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        self.send(await self.on_lake(lambda ws: quality_ops.table_quality(ws, name)))


class PiiReviewHandler(WorkspaceHandler):
    """``POST quality/tables/{name}/pii``."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        review = self.body(quality_ops.PiiReview)
        settings = self.ws_settings
        self.send(await self.blocking(quality_ops.review_pii, settings, name, review))


_TABLE = r"(?P<name>[^/]+)"
#: (path under ``workspace/api/``, handler); ``openapi.yaml`` lists the same paths.
ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = (
    ("quality/health", HealthHandler),
    (f"quality/tables/{_TABLE}", TableQualityHandler),
    (f"quality/tables/{_TABLE}/pii", PiiReviewHandler),
)
