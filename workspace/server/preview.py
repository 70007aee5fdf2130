"""A page of a table's rows as JSON-safe values, pinned to one snapshot.

Values become what JSON can carry without surprises: dates and timestamps as ISO strings,
decimals as numbers, bytes as ``"<N bytes>"``, NaN and infinities as ``null``; lists,
structs and maps are converted element by element.

Examples
--------
>>> import datetime as dt, decimal
>>> json_safe([dt.date(2024, 1, 2), decimal.Decimal("1.50"), b"abc", float("nan")])
['2024-01-02', 1.5, '<3 bytes>', None]
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any

from pydantic import BaseModel

from workspace.lake import snapshots
from workspace.lake.engine import first_row
from workspace.lake.workspace import Workspace

#: Largest page a client may ask for.
MAX_PREVIEW_ROWS = 500


class PreviewColumn(BaseModel):
    """A column of a preview."""

    name: str
    type: str


class TablePreview(BaseModel):
    """Rows ``offset`` .. ``offset + limit`` of a table at ``snapshot_id``."""

    name: str
    snapshot_id: int
    offset: int
    limit: int
    total: int
    columns: list[PreviewColumn]
    rows: list[list[Any]]


def json_safe(value: Any) -> Any:
    """One value converted for JSON (see the module docstring).

    Examples
    --------
    >>> json_safe({"a": [float("inf"), 1]})
    {'a': [None, 1]}
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return str(value)


def preview(
    ws: Workspace, name: str, *, offset: int = 0, limit: int = 50, at: int | None = None
) -> TablePreview:
    """A page of ``name`` at snapshot ``at`` (default: the table's latest snapshot).

    Every page of one snapshot shows the same rows in the same order (DuckDB keeps the
    insertion order of a scan), and a write between two pages does not shift them when
    the client passes the ``snapshot_id`` of the first page as ``at``.

    Examples
    --------
    >>> page = preview(ws, "silver.customers", limit=2)
    >>> page.total, len(page.rows)
    (3, 2)
    """
    ref = ws._data_ref(ws.resolve(name))  # a confidential table: its snapshots, its lake
    if at is not None:
        clause = snapshots.at_clause(ws.con, ref, at)
        snapshot_id = at
    else:
        snapshot_id = snapshots.latest_snapshot_id(ws.con, ref)
        clause = f"AT (VERSION => {snapshot_id})" if snapshot_id else ""
    source = f"SELECT * FROM {ref.sql} {clause}"
    counted = first_row(ws.con.execute(f"SELECT count(*) FROM ({source})"))
    total = int(counted[0]) if counted else 0
    cursor = ws.con.execute(f"SELECT * FROM ({source}) LIMIT ? OFFSET ?", [limit, offset])
    columns = [PreviewColumn(name=d[0], type=str(d[1])) for d in cursor.description or []]
    rows = [[json_safe(v) for v in row] for row in cursor.fetchall()]
    return TablePreview(
        name=ref.display,
        snapshot_id=snapshot_id,
        offset=offset,
        limit=limit,
        total=total,
        columns=columns,
        rows=rows,
    )
