"""Column profiles computed in DuckDB and cached per table snapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import os
from collections.abc import Callable
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
#: Most bins of a histogram.
HISTOGRAM_BINS = 12
#: Bumped when profiles gain fields, so older cache files are recomputed, not reused.
CACHE_FORMAT = 2

#: Types whose values are whole numbers: bins hold whole ranges of them (``low``/``high``
#: inclusive). DATE counts in days.
_WHOLE_TYPES = frozenset(
    (
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
        "DATE",
    )
)
#: Types binned as real numbers (``[low, high)``, the last bin includes ``high``).
_REAL_TYPES = frozenset(("FLOAT", "DOUBLE", "HUGEINT", "UHUGEINT"))
#: Types binned in microseconds since 1970 (UTC for ``WITH TIME ZONE``).
_TIMESTAMP_TYPES = frozenset(
    ("TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE")
)
_EPOCH = dt.datetime(1970, 1, 1)


class HistogramBin(BaseModel):
    """One bin of a column histogram; ``low``/``high`` are text like ``min``/``max``."""

    low: str
    high: str
    count: int


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
    histogram: list[HistogramBin] | None = None


class TableProfile(BaseModel):
    """Profile of a table at one snapshot.

    Examples
    --------
    >>> p = ws.catalog.profile("gold.revenue_by_nation_month")
    >>> [c.name for c in p.columns][:2]
    ['nation', 'month']
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
    name = f"{ref.schema}.{ref.name}@{snapshot_id}-{digest}.v{CACHE_FORMAT}.json"
    return cache_dir / "profiles" / name


def compute(con: duckdb.DuckDBPyConnection, ref: TableRef, snapshot_id: int) -> TableProfile:
    """Profile every column of a table with DuckDB's SUMMARIZE, top-value queries and one
    histogram query for all numeric, date and timestamp columns."""
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
    hists = histograms(con, source, [(c.name, c.type) for c in columns]) if row_count else {}
    columns = [c.model_copy(update={"histogram": hists.get(c.name)}) for c in columns]
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
    personal_dir: Path | None = None,
) -> TableProfile:
    """The profile at ``snapshot_id``: from the cache when present, else computed and stored.

    Profiles of lake tables are read from the shared ``cache_dir`` (written by accounts
    that may write it: the pipelines' runner, an admin) or from ``personal_dir``, and are
    stored in the first of the two this account can write. Profiles of sandbox tables
    describe private data: they are kept in ``personal_dir`` only (when given). A cache no
    one can write is not an error: the profile is computed each time.
    """
    dirs = [cache_dir] if personal_dir is None else [personal_dir]
    if ref.catalog != "sandbox" and personal_dir is not None:
        dirs = [cache_dir, personal_dir]
    paths = [cache_file(d, ref, snapshot_id, user) for d in dirs]
    if not refresh:
        for path in paths:
            try:
                text = path.read_text()
            except OSError:  # absent, or not readable by this account
                continue
            try:
                profile = TableProfile.model_validate_json(text)
            except ValueError:
                log.warning("ignoring unreadable profile cache %s", path)
                continue
            return profile.model_copy(update={"cached": True})
    profile = compute(con, ref, snapshot_id)
    for path in paths:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_text(profile.model_dump_json())
            tmp.replace(path)  # atomic: concurrent readers never see half a file
        except OSError as exc:  # not this account's to write: try the next one
            log.debug("could not cache the profile of %s in %s: %s", ref.display, path, exc)
            continue
        break
    return profile


def _binning(ctype: str) -> str | None:
    """How a column type is binned: ``whole``, ``real``, ``timestamp``, or ``None`` (not)."""
    base = ctype.upper()
    if base in _WHOLE_TYPES:
        return "whole"
    if base in _REAL_TYPES or base.startswith("DECIMAL"):
        return "real"
    if base in _TIMESTAMP_TYPES:
        return "timestamp"
    return None


def _numeric_expr(quoted: str, kind: str, ctype: str) -> str:
    """SQL for a column's value as a number that bins can be cut from (NULL: left out)."""
    if ctype.upper() == "DATE":
        return f"CASE WHEN isfinite({quoted}) THEN CAST({quoted} - DATE '1970-01-01' AS BIGINT) END"
    if kind == "whole":
        return f"CAST({quoted} AS HUGEINT)"
    if kind == "timestamp":
        return f"CASE WHEN isfinite({quoted}) THEN CAST(epoch_us({quoted}) AS DOUBLE) END"
    return f"CASE WHEN isfinite(CAST({quoted} AS DOUBLE)) THEN CAST({quoted} AS DOUBLE) END"


def histograms(
    con: duckdb.DuckDBPyConnection, source: str, columns: list[tuple[str, str]]
) -> dict[str, list[HistogramBin] | None]:
    """Equal-width histograms (at most :data:`HISTOGRAM_BINS` bins) of the numeric, date
    and timestamp columns, all computed by one query over ``source``.

    Whole numbers and dates are cut into ranges of whole values, so a column holding
    1..5 gets five bins of one value each; ``low`` and ``high`` are then inclusive. Other
    numbers and timestamps get ``[low, high)`` bins (the last one includes ``high``).
    NULL, NaN and infinite values are not counted. Columns without values get ``None``.
    """
    binned = [(name, ctype, kind) for name, ctype in columns if (kind := _binning(ctype))]
    if not binned:
        return {}
    values, bounds, counts = [], [], []
    for i, (name, ctype, kind) in enumerate(binned):
        quoted = '"' + name.replace('"', '""') + '"'
        values.append(f"{_numeric_expr(quoted, kind, ctype)} AS x{i}")
        bounds.append(f"min(x{i}) AS lo{i}, max(x{i}) AS hi{i}")
        if kind == "whole":  # exact integer arithmetic: bin = (x - lo) * n // span
            span = f"(hi{i} - lo{i} + 1)"
            cut = f"(x{i} - lo{i}) * least({HISTOGRAM_BINS}, {span}) // {span}"
        else:
            width = f"(hi{i} - lo{i})"
            cut = (
                f"CASE WHEN {width} = 0 THEN 0 ELSE least({HISTOGRAM_BINS - 1}, "
                f"CAST(floor((x{i} - lo{i}) / {width} * {HISTOGRAM_BINS}) AS BIGINT)) END"
            )
        counts.append(
            f"any_value(lo{i}), any_value(hi{i}), "
            f"histogram(CAST({cut} AS BIGINT)) FILTER (WHERE x{i} IS NOT NULL)"
        )
    sql = (
        f"WITH v AS (SELECT {', '.join(values)} FROM ({source})), "
        f"b AS (SELECT {', '.join(bounds)} FROM v) "
        f"SELECT {', '.join(counts)} FROM v, b"
    )
    try:
        rows = con.execute(sql).fetchall()  # fetchall: never leave a result (and lock) open
    except duckdb.Error as exc:  # a histogram is a nicety: never fail the whole profile
        log.warning("could not compute histograms: %s", exc)
        return {}
    out: dict[str, list[HistogramBin] | None] = {}
    for i, (name, ctype, kind) in enumerate(binned):
        lo, hi, hist = rows[0][3 * i : 3 * i + 3] if rows else (None, None, None)
        try:
            out[name] = _bins(lo, hi, hist or {}, kind, ctype)
        except (OverflowError, ValueError, ArithmeticError) as exc:
            log.debug("no histogram for %s: %s", name, exc)
            out[name] = None
    return out


def _bins(
    lo: Any, hi: Any, hist: dict[int, int], kind: str, ctype: str
) -> list[HistogramBin] | None:
    if lo is None or hi is None:
        return None
    if kind == "whole":
        lo, hi = int(lo), int(hi)
        span = hi - lo + 1
        n = min(HISTOGRAM_BINS, span)
        edges = [lo + -(-k * span // n) for k in range(n + 1)]  # ceil(k * span / n)
        whole: Callable[[int], str] = _day_text if ctype.upper() == "DATE" else str
        return [
            HistogramBin(low=whole(edges[k]), high=whole(edges[k + 1] - 1), count=hist.get(k, 0))
            for k in range(n)
        ]
    lo, hi = float(lo), float(hi)
    n = 1 if hi == lo else HISTOGRAM_BINS
    if not math.isfinite(hi - lo):
        return None
    edges = [lo + (hi - lo) * k / n for k in range(n)] + [hi]
    if kind == "timestamp":
        zone = "+00:00" if ctype.upper().endswith("TIME ZONE") else ""
        label: Callable[[float], str] = lambda us: _timestamp_text(us) + zone  # noqa: E731
    else:
        label = _number_text
    return [
        HistogramBin(low=label(edges[k]), high=label(edges[k + 1]), count=hist.get(k, 0))
        for k in range(n)
    ]


def _day_text(days: int) -> str:
    return (_EPOCH.date() + dt.timedelta(days=days)).isoformat()


def _timestamp_text(micros: float) -> str:
    return str(_EPOCH + dt.timedelta(microseconds=round(micros)))


def _number_text(value: float) -> str:
    return repr(float(f"{value:.12g}"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
