"""Column profiles computed in DuckDB and cached per table snapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any

import duckdb
from pydantic import BaseModel

from workspace.lake.names import TableRef

log = logging.getLogger(__name__)

#: Columns whose distinct count exceeds this share of the rows get no top values
#: (keys and free text: the "top" values would all have count 1).
TOP_VALUES_MAX_DISTINCT_SHARE = 0.5
TOP_K = 5


class ColumnProfile(BaseModel):
    """Statistics of one column.

    ``min``/``max``/``mean`` are rendered as text so every type (dates, strings, numbers)
    fits one shape. ``top_values`` is a list of ``(value, count)``, most frequent first.
    """

    name: str
    type: str
    null_pct: float
    approx_distinct: int
    min: str | None = None
    max: str | None = None
    mean: str | None = None
    top_values: list[tuple[str | None, int]] = []


class TableProfile(BaseModel):
    """Profile of a table at one snapshot.

    Examples
    --------
    >>> p = ws.catalog.profile("gold.revenue_by_nation_month")  # doctest: +SKIP
    >>> [c.name for c in p.columns][:2]  # doctest: +SKIP
    ['nation', 'region']
    """

    table: str
    snapshot_id: int
    row_count: int
    columns: list[ColumnProfile]
    computed_at: dt.datetime
    cached: bool = False


def cache_file(cache_dir: Path, ref: TableRef, snapshot_id: int, user: str) -> Path:
    """Where the profile of ``ref`` at ``snapshot_id`` is cached."""
    owner = user if ref.catalog == "sandbox" else "lake"
    key = f"{owner}.{ref.schema}.{ref.name}@{snapshot_id}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return cache_dir / "profiles" / f"{ref.schema}.{ref.name}@{snapshot_id}-{digest}.json"


def compute(con: duckdb.DuckDBPyConnection, ref: TableRef, snapshot_id: int) -> TableProfile:
    """Profile every column of a table with DuckDB's SUMMARIZE plus top-value queries."""
    source = (
        f"SELECT * FROM {ref.sql} AT (VERSION => {snapshot_id})"
        if snapshot_id
        else (f"SELECT * FROM {ref.sql}")
    )
    summary = con.execute(f"SUMMARIZE {source}").fetchall()
    row_count = int(summary[0][10]) if summary else 0
    columns: list[ColumnProfile] = []
    for name, ctype, cmin, cmax, approx, avg, _std, _q25, _q50, _q75, _count, nulls in summary:
        distinct = int(approx or 0)
        top: list[tuple[str | None, int]] = []
        simple = not any(ch in ctype for ch in "[](") or ctype.startswith("DECIMAL")
        if (
            row_count
            and simple
            and distinct <= max(TOP_K, row_count * TOP_VALUES_MAX_DISTINCT_SHARE)
        ):
            quoted = '"' + name.replace('"', '""') + '"'
            rows = con.execute(
                f"SELECT CAST({quoted} AS VARCHAR) AS v, count(*) AS n FROM ({source}) "
                f"GROUP BY ALL ORDER BY n DESC, v NULLS LAST LIMIT {TOP_K}"
            ).fetchall()
            top = [(v, int(n)) for v, n in rows]
        columns.append(
            ColumnProfile(
                name=name,
                type=ctype,
                null_pct=float(nulls or 0),
                approx_distinct=distinct,
                min=_text(cmin),
                max=_text(cmax),
                mean=_text(avg),
                top_values=top,
            )
        )
    return TableProfile(
        table=ref.display,
        snapshot_id=snapshot_id,
        row_count=row_count,
        columns=columns,
        computed_at=dt.datetime.now(dt.UTC),
    )


def cached(
    con: duckdb.DuckDBPyConnection,
    ref: TableRef,
    snapshot_id: int,
    cache_dir: Path,
    user: str,
    *,
    refresh: bool = False,
) -> TableProfile:
    """The profile at ``snapshot_id``: from the cache when present, else computed and stored."""
    path = cache_file(cache_dir, ref, snapshot_id, user)
    if path.exists() and not refresh:
        try:
            profile = TableProfile.model_validate_json(path.read_text())
            return profile.model_copy(update={"cached": True})
        except ValueError:
            log.warning("ignoring unreadable profile cache %s", path)
    profile = compute(con, ref, snapshot_id)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(profile.model_dump_json())
        tmp.replace(path)  # atomic: concurrent readers never see half a file
    except OSError as exc:  # a read-only home still profiles, it just does not cache
        log.warning("could not cache profile of %s: %s", ref.display, exc)
    return profile


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
