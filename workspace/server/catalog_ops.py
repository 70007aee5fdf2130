"""What the catalog routes do, without HTTP: each function takes an open read-only workspace.

Examples
--------
>>> detail = table_detail(ws, "gold.revenue_by_nation_month")
>>> detail.snippets.sql
'SELECT * FROM gold.revenue_by_nation_month LIMIT 100'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TypeVar

from workspace.lake import names, snapshots
from workspace.lake.catalog import CatalogPage, ColumnInfo
from workspace.lake.engine import first_row
from workspace.lake.errors import TableNotFoundError, WorkspaceError
from workspace.lake.profile import TableProfile
from workspace.lake.settings import Settings
from workspace.lake.workspace import Workspace
from workspace.server.models import Snippets, TableDetail, TablesQuery, Writer
from workspace.server.preview import TablePreview, preview
from workspace.server.scheduler_proxy import SchedulerProxy

log = logging.getLogger(__name__)
T = TypeVar("T")


class TableGoneError(WorkspaceError, LookupError):
    """A table that existed in the lake's history but has been dropped."""


def _dropped(ws: Workspace, name: str) -> bool:
    """Whether ``name`` (qualified) names a table the lake once had."""
    try:
        catalog, schema, table = names.parse_name(name)
    except WorkspaceError:
        return False
    if catalog is None or schema is None:
        return False
    if catalog not in {
        r[0] for r in ws.con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }:
        return False
    return bool(snapshots.table_ids(ws.con, names.TableRef(catalog, schema, table)))


def on_table(ws: Workspace, name: str, fn: Callable[[], T]) -> T:
    """Call ``fn``; a table missing because it was dropped gets a message saying so.

    Examples
    --------
    >>> import pandas as pd
    >>> _ = ws.write("gold.gone", pd.DataFrame({"x": [1]}))
    >>> _ = ws.con.execute(f"DROP TABLE {ws.resolve('gold.gone').sql}")
    >>> on_table(ws, "gold.gone", lambda: ws.catalog.describe("gold.gone"))
    Traceback (most recent call last):
    workspace.server.catalog_ops.TableGoneError: Table gold.gone no longer exists (dropped?); ...
    """
    try:
        return fn()
    except TableNotFoundError:
        if _dropped(ws, name):
            raise TableGoneError(
                f"Table {name} no longer exists (dropped?); refresh the catalog to see the "
                "current tables."
            ) from None
        raise


def _count(ws: Workspace, source: str) -> int:
    row = first_row(ws.con.execute(f"SELECT count(*) FROM ({source})"))
    return int(row[0]) if row else 0


def tables_page(ws: Workspace, query: TablesQuery) -> CatalogPage:
    """A page of tables, optionally of one layer, optionally matching a search."""
    return ws.catalog.page(layer=query.layer, query=query.q, offset=query.offset, limit=query.limit)


def snippets(name: str) -> Snippets:
    """Code reading ``name``: SQL for a ``%%sql`` cell, ibis for the workspace kernel.

    The "Python (workspace)" kernel preloads ``ws`` (:mod:`workspace.kernel`), so the ibis
    snippet uses it; the comment says how to connect anywhere else.

    Examples
    --------
    >>> print(snippets("gold.x").ibis)
    # `ws` is preloaded in the "Python (workspace)" kernel; elsewhere first run:
    # from workspace.lake import connect; ws = connect()
    t = ws.table("gold.x")
    t.head(100).to_pandas()
    """
    return Snippets(
        sql=f"SELECT * FROM {name} LIMIT 100",
        ibis=(
            '# `ws` is preloaded in the "Python (workspace)" kernel; elsewhere first run:\n'
            "# from workspace.lake import connect; ws = connect()\n"
            f't = ws.table("{name}")\n'
            "t.head(100).to_pandas()"
        ),
    )


#: What the Pipelines tab says when the writers of a table cannot be listed.
LINEAGE_UNAVAILABLE = "Pipeline lineage is unavailable right now; the rest of the table is shown."
#: Seconds the scheduler service may take to list a table's writers.
LINEAGE_TIMEOUT = 10.0

Lineage = tuple[list[Writer], str | None]


def writers(settings: Settings, name: str) -> Lineage:
    """The pipeline tasks that wrote ``name``, newest first, read from the run store
    read-only (a missing or unreadable store: none); and why they are unknown, if they are.

    Never raises: lineage must not break the table detail.
    """
    try:
        from workspace.jobs.lineage import table_writers

        return [
            Writer.model_validate(w, from_attributes=True) for w in table_writers(settings, name)
        ], None
    except Exception:  # lineage is an extra: log it, show the rest of the table
        log.warning("could not list the writers of %s", name, exc_info=True)
        return [], LINEAGE_UNAVAILABLE


async def remote_writers(proxy: SchedulerProxy, name: str) -> Lineage:
    """Behind the hub: the writers of ``name`` from the scheduler service (as the server's
    user, who sees the runs of their own pipelines only). Never raises."""
    try:
        relayed = await proxy.forward(
            "GET", "lineage", {"table": [name.encode()]}, b"", timeout=LINEAGE_TIMEOUT
        )
        if relayed.status != 200:
            log.warning("lineage of %s: the scheduler answered %s", name, relayed.status)
            return [], LINEAGE_UNAVAILABLE
        data = json.loads(relayed.body)
        return [Writer.model_validate(w) for w in data["writers"]], None
    except Exception:  # the service is down, slow, or answered something else
        log.warning("lineage of %s: the scheduler service did not answer", name, exc_info=True)
        return [], LINEAGE_UNAVAILABLE


def table_detail(
    ws: Workspace, name: str, *, at: int | None = None, local_lineage: bool = True
) -> TableDetail:
    """Everything known about a table; with ``at`` its columns and rows at that snapshot.

    ``local_lineage=False`` leaves the writers empty (the caller fills them from the
    scheduler service, :func:`remote_writers`).
    """

    def build() -> TableDetail:
        d = ws.catalog.describe(name)
        data = d.model_dump()
        if at is not None:
            ref = ws.resolve(name)
            source = f"SELECT * FROM {ref.sql} {snapshots.at_clause(ws.con, ref, at)}"
            now = {c.name: c for c in d.columns}
            data["columns"] = [
                ColumnInfo(
                    name=col,
                    type=ctype,
                    nullable=nullable == "YES",
                    description=now[col].description if col in now else None,
                    pii=now[col].pii if col in now else False,
                )
                for col, ctype, nullable, *_ in ws.con.execute(f"DESCRIBE {source}").fetchall()
            ]
            data["row_count"] = _count(ws, source)
        found, error = writers(ws.settings, d.name) if local_lineage else ([], None)
        return TableDetail(
            **data, at=at, writers=found, lineage_error=error, snippets=snippets(d.name)
        )

    return on_table(ws, name, build)


def table_preview(
    ws: Workspace, name: str, *, offset: int, limit: int, at: int | None
) -> TablePreview:
    """A JSON-safe page of rows (see :func:`workspace.server.preview.preview`)."""
    return on_table(ws, name, lambda: preview(ws, name, offset=offset, limit=limit, at=at))


def table_profile(ws: Workspace, name: str, *, refresh: bool = False) -> TableProfile:
    """The column profile of a table at its latest snapshot (cached per snapshot)."""
    return on_table(ws, name, lambda: ws.catalog.profile(name, refresh=refresh))
