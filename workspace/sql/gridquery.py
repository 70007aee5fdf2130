"""The result grid's queries: pages, sorting, filtering, column statistics and exports.

Everything runs in DuckDB on the result where it already is (a temporary table, or the
relation of an ibis expression), and only the rows on screen travel to Python: a 10M-row
result scrolls without being loaded into pandas.

* Unsorted pages are ``LIMIT/OFFSET`` scans of the result (a few ms at any offset).
* A sort answers the first pages with DuckDB's top-N; a page past :data:`TOP_N_ROWS`, or
  any filter, materializes the sorted/filtered view once as a temporary table (its row count
  comes free), so every later page is a scan again.
* Column statistics (the header histograms) are one statement over the result.
* Exports stream from DuckDB's ``COPY`` to CSV or Parquet; pandas is never involved.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa

from workspace.lake.engine import first_row
from workspace.lake.errors import WorkspaceError
from workspace.sql.formatting import ColumnFormat, format_value, json_value

#: Sorted pages up to this row are answered by a top-N query, later ones from a sorted copy.
TOP_N_ROWS = 10_000
#: Bars in a numeric or temporal header histogram; values in a text column's top list.
BINS = 16
TOP_VALUES = 5
#: Rows the "Copy" button puts on the clipboard at most.
COPY_ROWS = 10_000
ExportFormat = Literal["csv", "parquet", "tsv"]
_VIEWS = itertools.count(1)
_NUMBER = re.compile(r"^[+-]?(\d[\d,_]*)?(\.\d+)?([eE][+-]?\d+)?$")
_COMPARE = re.compile(r"^\s*(>=|<=|!=|<>|=|>|<)\s*(.*?)\s*$", re.S)


class FilterError(WorkspaceError):
    """A column filter could not be read (for example ``> abc`` on a number column)."""


def quote(name: str) -> str:
    """A SQL identifier for ``name``.

    Examples
    --------
    >>> quote("revenue") == '"revenue"', quote('a"b') == '"a""b"'
    (True, True)
    """
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SortKey:
    """One ``ORDER BY`` term of the grid."""

    column: str
    descending: bool = False


@dataclass
class GridSource:
    """Where a grid's rows come from.

    Attributes
    ----------
    con:
        The DuckDB connection that can read ``relation``.
    relation:
        A ``FROM`` item: a table name or a parenthesised query.
    formats:
        How each column is shown (:func:`workspace.sql.formatting.table_formats`).
    row_count:
        Rows of the whole result.
    check:
        Raises a :class:`WorkspaceError` when the result is no longer available.
    has_rowid:
        Whether ``relation`` is a table (its ``rowid`` makes sorted pages stable).
    """

    con: duckdb.DuckDBPyConnection
    relation: str
    formats: list[ColumnFormat]
    row_count: int
    check: Callable[[], None] = lambda: None
    has_rowid: bool = True
    released: list[Callable[[], None]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.formats]


def parse_filter(text: str, column: ColumnFormat) -> tuple[str, list[Any]] | None:
    """A ``WHERE`` term (with its parameters) for what was typed in a column's filter box.

    Numbers and dates take ``> 10``, ``<= 2024-03-01``, ``!= 0``, ``10..20`` or a value
    (equality; a date prefix like ``2024-03`` for dates); text matches a substring
    (``=text`` exactly, ``!text`` excludes); ``null`` and ``not null`` work everywhere.

    Examples
    --------
    >>> from workspace.sql.formatting import ColumnFormat
    >>> parse_filter(">= 1,000", ColumnFormat("n", "BIGINT", "integer"))
    ('"n" >= TRY_CAST(? AS BIGINT)', ['1000'])
    >>> parse_filter("asia", ColumnFormat("region", "VARCHAR", "text"))
    ('CAST("region" AS VARCHAR) ILIKE ? ESCAPE \\'\\\\\\'', ['%asia%'])
    """
    text = text.strip()
    if not text:
        return None
    col = quote(column.name)
    lowered = text.lower()
    if lowered in {"null", "is null"}:
        return f"{col} IS NULL", []
    if lowered in {"not null", "!null", "is not null"}:
        return f"{col} IS NOT NULL", []
    if column.kind in {"integer", "float", "decimal", "temporal"}:
        return _ordered_filter(text, column, col)
    if column.kind == "boolean":
        if lowered not in {"true", "false"}:
            raise FilterError(f"Filter {text!r} on {column.name}: type true, false or null.")
        return f"{col} = ?", [lowered == "true"]
    if text.startswith("="):
        return f"CAST({col} AS VARCHAR) = ?", [text[1:]]
    negate = text.startswith("!")
    needle = text[1:] if negate else text
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    op = "NOT ILIKE" if negate else "ILIKE"
    return f"CAST({col} AS VARCHAR) {op} ? ESCAPE '\\'", [f"%{escaped}%"]


def _ordered_filter(text: str, column: ColumnFormat, col: str) -> tuple[str, list[Any]]:
    numeric = column.kind != "temporal"

    def value(raw: str) -> str:
        raw = raw.strip()
        if numeric:
            if not _NUMBER.match(raw) or not raw:
                raise FilterError(
                    f"Filter {text!r} on {column.name}: {raw!r} is not a number "
                    "(try > 10, 10..20, != 0 or null)."
                )
            return raw.replace(",", "").replace("_", "")
        return raw

    cast = f"TRY_CAST(? AS {column.type})"
    if ".." in text:
        low, high = text.split("..", 1)
        return f"{col} BETWEEN {cast} AND {cast}", [value(low), value(high)]
    match = _COMPARE.match(text)
    if match:
        op = "!=" if match.group(1) == "<>" else match.group(1)
        return f"{col} {op} {cast}", [value(match.group(2))]
    if numeric:
        return f"{col} = {cast}", [value(text)]
    return f"CAST({col} AS VARCHAR) LIKE ?", [text.replace("%", "") + "%"]


class GridData:
    """Pages, statistics and exports of one result, answered by DuckDB.

    Parameters
    ----------
    source:
        The result (:class:`GridSource`).

    Examples
    --------
    >>> import duckdb
    >>> from workspace.sql.runner import run_sql
    >>> r = run_sql(duckdb.connect(), "SELECT range AS i FROM range(1000)")
    >>> data = GridData(r.grid_source())
    >>> page = data.page(0, 5, sort=[SortKey("i", descending=True)], filters={"i": "< 500"})
    >>> page["total"], page["rows"][0]
    (500, [499])
    """

    def __init__(self, source: GridSource) -> None:
        self.source = source
        self._view_key: tuple[object, ...] = ((), ())
        self._view_table: str | None = None
        self._view_total = source.row_count
        self._stats: dict[str, Any] | None = None
        source.released.append(self.drop_view)

    # -- views ------------------------------------------------------------------------
    def _execute(self, sql: str, params: Sequence[Any] = ()) -> duckdb.DuckDBPyConnection:
        self.source.check()
        try:
            return self.source.con.execute(sql, list(params) or None)
        except duckdb.Error as exc:
            raise WorkspaceError(f"The grid could not read the result: {exc}") from None

    def _where(self, filters: Mapping[str, str]) -> tuple[str, list[Any]]:
        terms: list[str] = []
        params: list[Any] = []
        by_name = {f.name: f for f in self.source.formats}
        for name, text in sorted(filters.items()):
            if name not in by_name:
                raise FilterError(f"The grid has no column {name!r} to filter.")
            parsed = parse_filter(text, by_name[name])
            if parsed is not None:
                terms.append(parsed[0])
                params += parsed[1]
        return (" WHERE " + " AND ".join(terms) if terms else ""), params

    def _order(self, sort: Sequence[SortKey]) -> str:
        names = set(self.source.columns)
        terms = []
        for key in sort:
            if key.column not in names:
                raise FilterError(f"The grid has no column {key.column!r} to sort by.")
            terms.append(f"{quote(key.column)} {'DESC' if key.descending else 'ASC'} NULLS LAST")
        if terms and self.source.has_rowid:
            terms.append("rowid")
        return " ORDER BY " + ", ".join(terms) if terms else ""

    def drop_view(self) -> None:
        """Free the temporary table of the current sorted/filtered view, if any."""
        if self._view_table is not None:
            with contextlib.suppress(duckdb.Error, RuntimeError):
                self.source.con.execute(f"DROP TABLE IF EXISTS temp.main.{self._view_table}")
            self._view_table = None

    def _materialize(self, where: str, params: list[Any], order: str) -> None:
        self.drop_view()
        name = f"_ws_grid_view_{next(_VIEWS)}"
        sql = f"CREATE TEMP TABLE {name} AS SELECT * FROM {self.source.relation}{where}{order}"
        row = first_row(self._execute(sql, params))
        self._view_table, self._view_total = name, int(row[0]) if row else 0

    def page(
        self,
        offset: int,
        limit: int,
        *,
        sort: Sequence[SortKey] = (),
        filters: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Rows ``offset`` to ``offset + limit`` of the sorted, filtered result.

        Returns ``{"offset", "rows", "total"}``: rows as JSON-ready lists (numbers stay
        numbers, see :func:`workspace.sql.formatting.json_value`) and the filtered count.
        """
        filters = {k: v for k, v in (filters or {}).items() if v.strip()}
        where, params = self._where(filters)
        order = self._order(sort)
        key = (tuple(sort), tuple(sorted(filters.items())))
        if key != self._view_key:
            self.drop_view()
            self._view_key, self._view_total = key, self.source.row_count
            if where:
                self._materialize(where, params, order)
        offset, limit = max(0, int(offset)), max(0, min(int(limit), 1000))
        if self._view_table is None and order and offset + limit > TOP_N_ROWS:
            self._materialize(where, params, order)
        if self._view_table is not None:
            sql = f"SELECT * FROM temp.main.{self._view_table} LIMIT ? OFFSET ?"
        else:
            sql = f"SELECT * FROM {self.source.relation}{order} LIMIT ? OFFSET ?"
        table = self._execute(sql, [limit, offset]).fetch_arrow_table()
        return {"offset": offset, "rows": self.rows_json(table), "total": self._view_total}

    def rows_json(self, table: pa.Table) -> list[list[Any]]:
        """The rows of ``table`` as the front end reads them."""
        columns = [
            [json_value(v, fmt) for v in col.to_pylist()]
            for col, fmt in zip(table.columns, self.source.formats, strict=True)
        ]
        return [list(row) for row in zip(*columns, strict=True)] if columns else []

    # -- statistics -------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Per column: nulls, distinct (text), min/max, and the header histogram's bars.

        One statement: a first aggregate finds ranges and frequent values, the second
        counts the bars.
        """
        if self._stats is not None:
            return self._stats
        pre, main, plan = [], ["count(*)"], []
        for i, fmt in enumerate(self.source.formats):
            col = quote(fmt.name)
            main.append(f"count({col})")
            value = _numeric_expr(col, fmt)
            if value is not None:
                pre += [f"min({value}) AS lo{i}", f"max({value}) AS hi{i}"]
                span = f"nullif(hi{i} - lo{i}, 0)"
                bucket = f"least(floor(({value} - lo{i}) / {span} * {BINS}), {BINS - 1})"
                main += [f"histogram(coalesce({bucket}, 0)::INTEGER)", f"any_value(lo{i})"]
                main.append(f"any_value(hi{i})")
                plan.append((fmt, "range"))
            elif fmt.kind in {"text", "boolean"}:
                pre.append(f"approx_top_k({col}, {TOP_VALUES}) AS top{i}")
                main.append(f"histogram(CASE WHEN list_contains(top{i}, {col}) THEN {col} END)")
                main.append(f"approx_count_distinct({col})")
                plan.append((fmt, "top"))
            else:
                plan.append((fmt, "none"))
        cte = f"WITH b AS (SELECT {', '.join(pre)} FROM {self.source.relation}) " if pre else ""
        rel = f"{self.source.relation}, b" if pre else self.source.relation
        row = first_row(self._execute(f"{cte}SELECT {', '.join(main)} FROM {rel}"))
        assert row is not None
        values = iter(row[1:])
        total = int(row[0])
        out = []
        for fmt, how in plan:
            nonnull = int(next(values))
            entry: dict[str, Any] = {"name": fmt.name, "nulls": total - nonnull, "bins": []}
            if how == "range":
                hist, lo, hi = next(values), next(values), next(values)
                entry["bins"] = _range_bins(hist or {}, lo, hi, fmt)
            elif how == "top":
                hist, distinct = next(values), next(values)
                entry["distinct"] = int(distinct or 0)
                ranked = sorted((hist or {}).items(), key=lambda kv: -kv[1])
                shown = sum(c for _, c in ranked)
                bars = [{"label": format_value(v, fmt), "count": int(c)} for v, c in ranked]
                if nonnull - shown > 0:
                    bars.append({"label": "other", "count": nonnull - shown, "other": True})
                entry["bins"] = bars
            out.append(entry)
        self._stats = {"rows": total, "columns": out}
        return self._stats

    # -- exports ----------------------------------------------------------------------
    def export(
        self,
        path: str | Path,
        fmt: ExportFormat = "csv",
        *,
        sort: Sequence[SortKey] = (),
        filters: Mapping[str, str] | None = None,
        limit: int | None = None,
    ) -> Path:
        """Write the sorted, filtered result to ``path`` with DuckDB's ``COPY``."""
        where, params = self._where({k: v for k, v in (filters or {}).items() if v.strip()})
        query = f"SELECT * FROM {self.source.relation}{where}{self._order(sort)}"
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        return copy_to(self._execute, query, params, Path(path), fmt)

    def copy_text(
        self, *, sort: Sequence[SortKey] = (), filters: Mapping[str, str] | None = None
    ) -> str:
        """The first :data:`COPY_ROWS` rows of the view as tab-separated text."""
        with tempfile.TemporaryDirectory(prefix="ws-grid-") as tmp:
            path = self.export(Path(tmp) / "copy.tsv", "tsv", sort=sort, filters=filters,
                               limit=COPY_ROWS)  # fmt: skip
            return path.read_text(encoding="utf-8")


def copy_to(
    execute: Callable[[str, Sequence[Any]], object],
    query: str,
    params: Sequence[Any],
    path: Path,
    fmt: ExportFormat,
) -> Path:
    """``COPY (query) TO path`` as CSV (with a header), TSV or Parquet (zstd)."""
    options = {
        "csv": "FORMAT csv, HEADER",
        "tsv": "FORMAT csv, HEADER, DELIMITER '\t'",
        "parquet": "FORMAT parquet, COMPRESSION zstd",
    }
    if fmt not in options:
        raise WorkspaceError(f"Cannot export as {fmt!r}: choose csv or parquet.")
    path.parent.mkdir(parents=True, exist_ok=True)
    target = str(path).replace("'", "''")
    execute(f"COPY ({query}) TO '{target}' ({options[fmt]})", params)
    return path


def stream_file(path: Path, chunk: int = 4 << 20) -> Iterator[bytes]:
    """The bytes of ``path`` in chunks (an export on its way to the browser)."""
    with path.open("rb") as fh:
        while data := fh.read(chunk):
            yield data


def _numeric_expr(col: str, fmt: ColumnFormat) -> str | None:
    if fmt.kind == "integer" or fmt.kind == "decimal":
        return f"CAST({col} AS DOUBLE)"
    if fmt.kind == "float":
        return f"CASE WHEN isfinite({col}) THEN CAST({col} AS DOUBLE) END"
    if fmt.kind == "temporal":
        return f"epoch_us(CAST({col} AS TIMESTAMP))"
    return None


def _range_bins(hist: Mapping[int, int], lo: Any, hi: Any, fmt: ColumnFormat) -> list[Any]:
    if lo is None or hi is None:
        return []
    width = (hi - lo) / BINS if hi != lo else 0

    def label(x: float) -> str:
        if fmt.kind == "temporal":
            import datetime as dt

            stamp = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=x)
            return stamp.date().isoformat() if fmt.type == "DATE" else stamp.isoformat(" ")
        if fmt.kind == "integer":
            return format_value(math.floor(x), fmt)
        return format_value(float(x), fmt)

    count = BINS if width else 1
    return [
        {
            "label": f"{label(lo + i * width)} to {label(lo + (i + 1) * width)}"
            if width
            else label(lo),
            "count": int(hist.get(i, 0)),
        }
        for i in range(count)
    ]


__all__ = [
    "BINS",
    "COPY_ROWS",
    "TOP_N_ROWS",
    "ExportFormat",
    "FilterError",
    "GridData",
    "GridSource",
    "SortKey",
    "copy_to",
    "parse_filter",
    "quote",
    "stream_file",
]
