"""``workspace/api/sql/...``: help with SQL cells that needs no kernel ("Format SQL").

``POST sql/format`` formats the body of a ``%%sql`` cell with
:func:`workspace.sql.sql_format.format_sql` (sqlglot, checked by DuckDB's parser). SQL that
does not parse answers 400 with a one-line message; nothing touches the lake.
"""

from __future__ import annotations

import tornado.web
from pydantic import BaseModel, ConfigDict, Field

from workspace.server.base import WorkspaceHandler, authorized
from workspace.sql.sql_format import format_sql

#: Largest SQL text formatted (characters).
MAX_SQL = 1_000_000


class FormatRequest(BaseModel):
    """``POST sql/format`` body: the SQL to format (a cell's body, without ``%%sql``)."""

    model_config = ConfigDict(extra="forbid")
    sql: str = Field(max_length=MAX_SQL)


class FormatResponse(BaseModel):
    """The formatted SQL."""

    sql: str


class FormatHandler(WorkspaceHandler):
    """``POST sql/format``."""

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        request = self.body(FormatRequest)
        formatted = await self.blocking(format_sql, request.sql)
        self.send(FormatResponse(sql=formatted))


ROUTES: tuple[tuple[str, type[WorkspaceHandler]], ...] = (("sql/format", FormatHandler),)
