"""Table names: parsing ``[layer.]table``, and resolving unqualified names.

A name is one of

* ``orders`` -- resolved through the search path: sandbox, gold, silver, bronze
  (for writes: the user's sandbox);
* ``gold.orders`` -- a layer of the shared lake (``bronze``, ``silver``, ``gold``);
* ``sandbox.orders`` -- the user's own sandbox;
* ``lake.gold.orders`` -- fully qualified.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import duckdb

from workspace.lake.engine import LAKE, LAYERS, META_SCHEMA, SANDBOX, SEARCH_PATH
from workspace.lake.errors import InvalidNameError, TableNotFoundError

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TableRef:
    """A fully qualified table: DuckDB catalog, schema and table name.

    Examples
    --------
    >>> TableRef("lake", "gold", "revenue").display
    'gold.revenue'
    >>> TableRef("sandbox", "main", "scratch").sql
    '"sandbox"."main"."scratch"'
    """

    catalog: str
    schema: str
    name: str

    @property
    def layer(self) -> str:
        """``bronze``/``silver``/``gold`` for lake tables, ``sandbox`` for the user's own."""
        return "sandbox" if self.catalog == SANDBOX else self.schema

    @property
    def display(self) -> str:
        """The short name users type: ``gold.revenue``, ``sandbox.scratch``."""
        return f"{self.layer}.{self.name}"

    @property
    def sql(self) -> str:
        """The quoted, fully qualified identifier for SQL text."""
        return f'"{self.catalog}"."{self.schema}"."{self.name}"'

    def __str__(self) -> str:
        return self.display


def _check_ident(part: str, full: str) -> str:
    if not _IDENT.match(part):
        raise InvalidNameError(
            f"{full!r} is not a valid table name: {part!r} must start with a letter or _ and "
            "contain only letters, digits and _ (for example gold.revenue_by_nation)."
        )
    return part


def parse_name(name: str) -> tuple[str | None, str | None, str]:
    """Split a user-typed name into (catalog, schema, table); missing parts are ``None``.

    >>> parse_name("gold.revenue")
    ('lake', 'gold', 'revenue')
    >>> parse_name("orders")
    (None, None, 'orders')
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidNameError(f"table name must be a non-empty string, got {name!r}")
    parts = [p.strip().strip('"') for p in name.strip().split(".")]
    for p in parts:
        _check_ident(p, name)
    if len(parts) == 1:
        return None, None, parts[0]
    if len(parts) == 2:
        head, table = parts
        if head == SANDBOX:
            return SANDBOX, "main", table
        if head in LAYERS:
            return LAKE, head, table
        raise InvalidNameError(
            f"{name!r}: unknown layer {head!r}. Use one of "
            f"{', '.join((*LAYERS, SANDBOX))} (for example gold.{table})."
        )
    if len(parts) == 3:
        cat, schema, table = parts
        if cat == LAKE and schema in LAYERS:
            return cat, schema, table
        if cat == SANDBOX and schema == "main":
            return cat, schema, table
        raise InvalidNameError(
            f"{name!r}: fully qualified names are lake.<bronze|silver|gold>.<table> or "
            "sandbox.main.<table>"
        )
    raise InvalidNameError(f"{name!r} has too many dots; use [layer.]table")


def existing_tables(con: duckdb.DuckDBPyConnection) -> list[TableRef]:
    """Every user-visible table of the lake and the sandbox."""
    rows = con.execute(
        """
        SELECT database_name, schema_name, table_name FROM duckdb_tables()
        WHERE database_name IN (?, ?) AND schema_name <> ?
        UNION ALL
        SELECT database_name, schema_name, view_name FROM duckdb_views()
        WHERE database_name IN (?, ?) AND schema_name <> ? AND NOT internal
        ORDER BY 1, 2, 3
        """,
        [LAKE, SANDBOX, META_SCHEMA, LAKE, SANDBOX, META_SCHEMA],
    ).fetchall()
    return [TableRef(c, s, t) for c, s, t in rows]


def resolve_read(con: duckdb.DuckDBPyConnection, name: str) -> TableRef:
    """Find the table a name refers to, raising :class:`TableNotFoundError` with suggestions."""
    catalog, schema, table = parse_name(name)
    tables = existing_tables(con)
    present = {(t.catalog, t.schema, t.name) for t in tables}
    candidates = [(catalog, schema)] if catalog and schema else list(SEARCH_PATH)
    for cat, sch in candidates:
        if (cat, sch, table) in present:
            return TableRef(cat, sch, table)
    searched = [TableRef(c, s, table).display for c, s in candidates]
    names = [t.display for t in tables] + [t.name for t in tables]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    raise TableNotFoundError(name, searched, sorted(set(close)))


def resolve_write(name: str) -> TableRef:
    """Where a write goes: qualified names as given, unqualified ones into the sandbox.

    >>> resolve_write("scratch").display
    'sandbox.scratch'
    """
    catalog, schema, table = parse_name(name)
    if catalog is None or schema is None:
        return TableRef(SANDBOX, "main", table)
    return TableRef(catalog, schema, table)
