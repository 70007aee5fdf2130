"""The metrics of one commit: its volume, and statistics of the rows it added, per column.

Column metrics describe the rows a commit *added* (read with ``ducklake_table_insertions``),
from DuckLake's file statistics where they suffice, else from one aggregate query over a
sample (:data:`SAMPLE_TARGET_ROWS`). PII columns keep only their null fraction and distinct
count. Why per commit, and what is kept: docs/quality-monitors.md, "Module notes".

Examples
--------
>>> kind_of("int64"), kind_of("decimal(10,2)"), kind_of("varchar"), kind_of("timestamptz")
('number', 'number', 'text', 'temporal')
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from typing import Any, Literal

import duckdb
from pydantic import BaseModel, Field

from workspace.lake.engine import LAKE
from workspace.quality.commits import Commit, TableFiles, Volume, merge_stats

log = logging.getLogger(__name__)

ColumnKind = Literal["number", "text", "temporal", "boolean", "other"]

#: Points of the quantile sketch kept per numeric column (0, 5%, ..., 100%).
QUANTILES: tuple[float, ...] = tuple(i / 20 for i in range(21))
#: A commit that added more rows than this is profiled on a sample.
SAMPLE_ABOVE_ROWS = 20_000
#: About how many rows the sample holds.
SAMPLE_TARGET_ROWS = 10_000
#: Text and boolean columns with at most this many distinct values keep their top values.
TOP_MAX_DISTINCT = 50
#: How many top values are kept (the rest is counted as "other").
TOP_K = 20

_NUMBER_PREFIXES = ("int", "uint", "float", "decimal")
_TEMPORAL = ("date", "time", "timestamp", "timestamptz", "timestamp_s", "timestamp_ms")


def kind_of(ducklake_type: str) -> ColumnKind:
    """How a column of a DuckLake type is profiled."""
    t = ducklake_type.lower()
    if t.startswith(_NUMBER_PREFIXES):
        return "number"
    if t == "varchar":
        return "text"
    if t == "boolean":
        return "boolean"
    if t in _TEMPORAL or t.startswith("timestamp"):
        return "temporal"
    return "other"


class ColumnMetrics(BaseModel):
    """Statistics of one column over the rows a commit added."""

    name: str
    type: str = Field(description="The DuckLake type, e.g. int64, varchar, timestamp.")
    kind: ColumnKind
    null_fraction: float | None = None
    distinct: int | None = Field(None, description="Approximate distinct non-null values.")
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    stddev: float | None = None
    quantiles: list[float] | None = Field(None, description="At QUANTILES, for numbers.")
    top_values: list[tuple[str, float]] | None = Field(
        None, description="(value, share of non-null values), low-cardinality text only."
    )
    pii: bool = Field(False, description="Annotated as PII: no values are kept.")


class CommitMetrics(BaseModel):
    """One commit of a table, as the metrics history keeps it."""

    table: str
    snapshot_id: int
    committed_at: dt.datetime
    operations: list[str]
    author: str | None = None
    message: str | None = None
    rows_added: int
    rows_deleted: int
    rows_total: int
    bytes: int
    table_schema: list[tuple[str, str]] = Field(description="(column, DuckLake type).")
    columns: list[ColumnMetrics] = Field(
        default_factory=list, description="Of the rows this commit added; empty if none."
    )
    sample_rows: int | None = Field(None, description="Rows profiled when sampled.")

    def column(self, name: str) -> ColumnMetrics | None:
        """The metrics of one column, if it had any."""
        return next((c for c in self.columns if c.name == name), None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def compute(
    con: duckdb.DuckDBPyConnection,
    commit: Commit,
    files: TableFiles,
    stats: dict[int, dict[int, tuple[int, str | None, str | None]]],
    *,
    pii_columns: frozenset[str] = frozenset(),
    low_cardinality: frozenset[str] = frozenset(),
    profile: bool = True,
) -> CommitMetrics:
    """The metrics of ``commit``, from its table's files (:class:`TableFiles`) and the file
    statistics of the files it added (:func:`~workspace.quality.commits.file_column_stats`).

    ``low_cardinality`` names the text columns that had top values at the previous commit:
    their histograms are taken in the main query; the others only when their distinct count
    turns out small (a second query), since a histogram of unique strings is costly.
    ``profile=False`` keeps only the volume and the schema (no data is read).
    """
    volume = files.volume(commit)
    schema = files.schema(commit)
    if volume.inlined:  # some rows live in the catalog: count what SQL sees
        volume = _counted_volume(con, commit, volume)
    base = CommitMetrics(
        table=commit.table,
        snapshot_id=commit.snapshot_id,
        committed_at=commit.time,
        operations=list(commit.operations),
        author=commit.author,
        message=commit.message,
        rows_added=volume.rows_added,
        rows_deleted=volume.rows_deleted,
        rows_total=volume.rows_total,
        bytes=volume.bytes,
        table_schema=[(name, ctype) for _, name, ctype in schema],
    )
    if not profile or not ({"inserted", "created"} & set(commit.operations)) or not schema:
        return base
    if volume.rows_added == 0 and not volume.inlined:  # created empty: nothing to read
        return base
    merged = merge_stats(stats, volume.added_files) if not volume.inlined else {}
    columns, sample_rows = _profile(
        con, commit, schema, volume, merged, pii_columns, low_cardinality
    )
    return base.model_copy(update={"columns": columns, "sample_rows": sample_rows})


def _counted_volume(con: duckdb.DuckDBPyConnection, commit: Commit, volume: Volume) -> Volume:
    """The volume of a commit of a table with inlined rows, counted through SQL."""
    ref = f"{_quote(LAKE)}.{_quote(commit.schema)}.{_quote(commit.name)}"
    (total,) = con.execute(
        f"SELECT count(*) FROM {ref} AT (VERSION => {commit.snapshot_id})"
    ).fetchall()
    before = 0
    if commit.snapshot_id > 0 and "created" not in commit.operations:
        (before,) = con.execute(
            f"SELECT count(*) FROM {ref} AT (VERSION => {commit.snapshot_id - 1})"
        ).fetchall()[0]
    (added,) = con.execute(f"SELECT count(*) FROM {_insertions(commit)}").fetchall()[0]
    return Volume(
        rows_added=int(added),
        rows_deleted=max(0, int(before) + int(added) - int(total[0])),
        rows_total=int(total[0]),
        bytes=volume.bytes,
        added_files=volume.added_files,
        inlined=True,
    )


def _insertions(commit: Commit) -> str:
    return (
        f"ducklake_table_insertions({_literal(LAKE)}, {_literal(commit.schema)}, "
        f"{_literal(commit.name)}, {commit.snapshot_id}, {commit.snapshot_id})"
    )


def _profile(
    con: duckdb.DuckDBPyConnection,
    commit: Commit,
    schema: list[tuple[int, str, str]],
    volume: Volume,
    stats: dict[int, tuple[int, str | None, str | None]],
    pii: frozenset[str],
    low: frozenset[str],
) -> tuple[list[ColumnMetrics], int | None]:
    """One aggregate query over the rows the commit added (a block of big commits), and
    one more for the histograms of newly low-cardinality text columns, if any."""
    cols = [(cid, name, ctype, kind_of(ctype)) for cid, name, ctype in schema]
    profiled = [c for c in cols if c[3] != "other"]
    parts = [_quote(c[1]) for c in profiled]
    for i, (_cid, name, ctype, kind) in enumerate(profiled):
        if kind == "number" and name not in pii:  # as a finite double, once per row
            x = f"CAST({_quote(name)} AS DOUBLE)"
            if ctype.lower().startswith("float"):
                x = f"CASE WHEN isfinite({x}) THEN {x} END"
            parts.append(f'{x} AS "__x{i}"')
    select = ", ".join(parts) or "1 AS _none"
    sampled = volume.rows_added > SAMPLE_ABOVE_ROWS
    aggs = ["count(*)"]
    for i, (_cid, name, _ctype, kind) in enumerate(profiled):
        q = _quote(name)
        aggs += [f"count({q})", f"approx_count_distinct({q})"]
        if name in pii:
            continue
        if kind == "number":
            x = f'"__x{i}"'
            quantiles = ", ".join(repr(p) for p in QUANTILES)
            aggs += [f"avg({x})", f"stddev_samp({x})", f"approx_quantile({x}, [{quantiles}])"]
        elif kind in ("text", "boolean") and name in low:
            aggs.append(_histogram(q))
    row = _aggregate(con, commit, volume, select, ", ".join(aggs), sampled)
    n = int(row[0])
    it = iter(row[1:])
    out: list[ColumnMetrics] = []
    found: dict[str, ColumnMetrics] = {}
    for _cid, name, ctype, kind in profiled:
        count, distinct = int(next(it)), int(next(it) or 0)
        m = ColumnMetrics(name=name, type=ctype, kind=kind, pii=name in pii)
        m.null_fraction = 1.0 - count / n if n else None
        if sampled and count and distinct >= 0.9 * count:  # near-unique: scale up
            distinct = round(distinct * volume.rows_added / max(n, 1))
        m.distinct = distinct
        if name not in pii and kind == "number":
            m.mean, m.stddev, qs = _finite(next(it)), _finite(next(it)), next(it)
            m.quantiles = [float(q) for q in qs] if qs else None
        elif name not in pii and kind in ("text", "boolean") and name in low:
            m.top_values = _top(next(it))
        found[name] = m
    late = [
        name
        for _cid, name, _ctype, kind in profiled
        if kind in ("text", "boolean") and name not in pii and name not in low
        and 0 < (found[name].distinct or 0) <= TOP_MAX_DISTINCT
    ]  # fmt: skip
    if late:
        hists = _aggregate(
            con, commit, volume, select, ", ".join(_histogram(_quote(c)) for c in late), sampled
        )
        for name, hist in zip(late, hists, strict=True):
            found[name].top_values = _top(hist)
    for cid, name, ctype, kind in cols:
        m = found.get(name) or ColumnMetrics(name=name, type=ctype, kind=kind, pii=name in pii)
        stat = stats.get(cid)
        if stat is not None and volume.rows_added:  # exact, from the file statistics
            m.null_fraction = stat[0] / volume.rows_added
            if kind in ("number", "temporal") and name not in pii:
                m.min, m.max = _bound(stat[1], kind), _bound(stat[2], kind)
        out.append(m)
    return out, (n if sampled else None)


def _aggregate(
    con: duckdb.DuckDBPyConnection,
    commit: Commit,
    volume: Volume,
    select: str,
    aggs: str,
    sampled: bool,
) -> tuple[Any, ...]:
    """Run the aggregates over the rows the commit added, or over a block of them.

    The commit's own Parquet files are read directly when DuckLake lists them (unencrypted,
    no rows inlined in the catalog): that skips the table function's catalog round trip,
    and a block of :data:`SAMPLE_TARGET_ROWS` consecutive rows from the middle of the
    largest file is cut by ``file_row_number``, so only about one row group is decoded (a
    ``USING SAMPLE`` clause decodes every row before choosing). Blocks are taken at the
    same place of each commit, so commits stay comparable. It runs on a cursor of its own:
    if the files cannot be read that way, the statement fails there, not in the caller's
    transaction, and DuckLake's ``ducklake_table_insertions`` is used instead.
    """
    paths = volume.paths
    if paths and all(paths) and not volume.inlined:
        if sampled:
            (start, rows), path = max(zip(volume.row_ranges, paths, strict=False),
                                      key=lambda rp: rp[0][1])  # fmt: skip
            first = max(0, (rows - SAMPLE_TARGET_ROWS) // 2)
            source = (
                f"read_parquet({_literal(str(path))}, file_row_number = true) WHERE "
                f"file_row_number BETWEEN {first} AND {first + SAMPLE_TARGET_ROWS - 1}"
            )
        else:
            files = ", ".join(_literal(str(p)) for p in paths)
            source = f"read_parquet([{files}])"
        cursor = con.cursor()
        try:
            sql = f"SELECT {aggs} FROM (SELECT {select} FROM {source})"
            (row,) = cursor.execute(sql).fetchall()
            return tuple(row)
        except duckdb.Error as exc:
            log.debug("profiling %s from its files failed, using DuckLake: %s", commit.table, exc)
        finally:
            cursor.close()
    sample = ""
    if sampled and volume.row_ranges:
        start, rows = max(volume.row_ranges, key=lambda r: r[1])
        first = start + max(0, (rows - SAMPLE_TARGET_ROWS) // 2)
        sample = f" WHERE rowid BETWEEN {first} AND {first + SAMPLE_TARGET_ROWS - 1}"
    elif sampled:
        pct = max(0.01, min(100.0, 100.0 * SAMPLE_TARGET_ROWS / max(volume.rows_added, 1)))
        sample = f" USING SAMPLE {pct:.4f} PERCENT (system)"
    (row,) = con.execute(
        f"SELECT {aggs} FROM (SELECT {select} FROM {_insertions(commit)}{sample})"
    ).fetchall()
    return tuple(row)


def _histogram(quoted: str) -> str:
    """The histogram of a column, only when it has few distinct values."""
    return (
        f"CASE WHEN approx_count_distinct({quoted}) <= {TOP_MAX_DISTINCT} "
        f"THEN histogram(CAST({quoted} AS VARCHAR)) END"
    )


def _top(hist: dict[str, int] | None) -> list[tuple[str, float]] | None:
    """Shares of the most frequent values, unless one of them looks like personal data."""
    from workspace.quality.pii import looks_personal  # phonenumbers and stdnum load slowly

    if not hist or len(hist) > TOP_MAX_DISTINCT or any(looks_personal(v) for v in hist):
        return None
    total = sum(hist.values()) or 1
    ranked = sorted(hist.items(), key=lambda kv: (-kv[1], str(kv[0])))[:TOP_K]
    return [(str(v), c / total) for v, c in ranked]


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _bound(text: str | None, kind: ColumnKind) -> float | str | None:
    if text is None:
        return None
    if kind == "number":
        try:
            f = float(text)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return text
