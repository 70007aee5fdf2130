"""The ibis backend of a workspace: ibis' DuckDB backend with two shortcuts for ``ws.sql``.

``ws.sql(query)`` is an ibis table over a SQL query. Plain ibis would, for every such table,
turn the query's ``DESCRIBE`` into a schema through sqlglot type parsing, and, when the table
is fetched as it is (``.to_pyarrow()``, ``.to_pandas()``, ``.execute()``), parse the whole
query with sqlglot and print it back before DuckDB sees it. Here:

- type strings from ``DESCRIBE`` are mapped to ibis types once per distinct string;
- an unmodified SQL-query table is fetched by running the query text as written.

Anything built on top of the table (filters, joins, limits, parameters) goes through ibis'
own compiler unchanged, and results are converted to the table's schema exactly as ibis does.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.schema as sch
import ibis.expr.types as ir
from ibis.backends.duckdb import Backend as DuckDBBackend


class WorkspaceBackend(DuckDBBackend):
    """ibis' DuckDB backend over a workspace connection (see the module docstring)."""

    @functools.cached_property
    def _dtype_of(self) -> Any:
        mapper = self.compiler.type_mapper

        @functools.lru_cache(maxsize=1024)
        def dtype_of(type_string: str, nullable: bool) -> dt.DataType:
            return mapper.from_string(type_string, nullable=nullable)

        return dtype_of

    def _get_schema_using_query(self, query: str) -> sch.Schema:
        rows = self.con.execute(f"DESCRIBE {query}").fetchall()
        dtype_of = self._dtype_of
        return sch.Schema({name: dtype_of(typ, null == "YES") for name, typ, null, *_ in rows})

    def _to_duckdb_relation(
        self,
        expr: ir.Expr,
        *,
        params: Mapping[ir.Scalar, Any] | None = None,
        limit: int | str | None = None,
        **kwargs: Any,
    ) -> Any:
        query = self._plain_query(expr, params, limit, kwargs)
        if query is None:
            return super()._to_duckdb_relation(expr, params=params, limit=limit, **kwargs)
        self._run_pre_execute_hooks(expr)
        return self.con.sql(query)

    def _plain_query(
        self,
        expr: ir.Expr,
        params: Mapping[ir.Scalar, Any] | None,
        limit: int | str | None,
        kwargs: Mapping[str, Any],
    ) -> str | None:
        """The SQL text of ``expr`` when it is a ``ws.sql`` table fetched as it is."""
        if limit == "default":
            limit = ibis.options.sql.default_limit
        if limit is not None or params or kwargs or not isinstance(expr, ir.Table):
            return None
        op = expr.op()
        if isinstance(op, ops.SQLQueryResult) and op.source is self:
            return op.query
        return None


def from_connection(con: Any) -> WorkspaceBackend:
    """The workspace's ibis backend over an open DuckDB connection."""
    return WorkspaceBackend.from_connection(con)


__all__ = ["WorkspaceBackend", "from_connection"]
