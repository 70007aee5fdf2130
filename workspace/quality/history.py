"""The metrics history of the shared tables, filled in from the lake's snapshots on read.

Every read first brings the history up to date: the commits made since the store's
watermark (by ``ws.write``, a raw ``%%sql INSERT``, a Dask write, a process that never
told anyone) are found in DuckLake's snapshots, and only those are profiled, each at its own
snapshot. So ``scan`` works from the lake alone, and a writer that records right after its
commit (:func:`record`) only saves the next reader the work.

Examples
--------
>>> last = table_history(ws, "silver.customers")[-1]
>>> last.rows_added, round(last.column("phone").null_fraction, 2)
(3, 0.33)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from workspace.lake import metadata as ann
from workspace.lake.engine import LAKE, META_SCHEMA
from workspace.lake.errors import TableNotFoundError, WorkspaceError
from workspace.quality.commits import (
    Commit,
    LakeMeta,
    TableFiles,
    TableVersion,
    file_column_stats,
    lake_commits,
    live_tables,
    table_versions,
)
from workspace.quality.metrics import CommitMetrics, compute
from workspace.quality.store import Store

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

log = logging.getLogger(__name__)


@contextlib.contextmanager
def read_transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body's reads in one transaction: one consistent view of the lake, and one
    catalog round trip to start it instead of one per statement (about 10 ms each on a
    SQLite catalog). Inside a transaction the caller opened, the body just runs in it.
    The body must not write to the lake: the transaction is rolled back."""
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException:
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")


@contextlib.contextmanager
def monitoring(ws: Workspace, *, transaction: bool = True) -> Iterator[Store]:
    """One consistent read of the lake's metadata, and the metrics store.

    With ``transaction`` (for callers that run many DuckDB statements, like ``scan``) the
    body also runs in one DuckDB read transaction (see :func:`read_transaction`). Without
    it, on a SQLite catalog no DuckDB transaction is started at all: the metadata is read
    from the catalog file, and the few DuckDB statements left run on their own.
    """
    settings = ws.settings
    catalog_file = settings.catalog.path if settings.catalog.kind == "sqlite" else None
    outer = read_transaction(ws.con) if transaction or catalog_file is None else None
    with outer if outer is not None else contextlib.nullcontext():
        lake = LakeMeta.read(ws.con, catalog_file)
        try:
            store = Store(settings, lake.lake_id, lake)
            try:
                yield store
            finally:
                store.close()
        finally:
            lake.close()


def shared_table(ws: Workspace, name: str) -> str:
    """``layer.name`` of a shared table, or a clear error for sandbox and unknown names."""
    ref = ws.resolve(name)
    if ref.catalog != LAKE:
        raise WorkspaceError(
            f"{ref.display} is in your sandbox: quality monitors watch the shared layers "
            "(bronze, silver, gold) only. Name a shared table, e.g. gold.revenue."
        )
    return ref.display


class Filled:
    """What one fill found: the live shared tables and the metrics no store could keep."""

    def __init__(
        self,
        tables: list[str],
        unsaved: dict[str, list[CommitMetrics]],
        versions: dict[str, list[TableVersion]],
        profiled: int = 0,
    ) -> None:
        self.tables = tables
        self.unsaved = unsaved
        self.versions = versions
        self.profiled = profiled


def fill(ws: Workspace, store: Store, tables: Iterable[str] | None = None) -> Filled:
    """Profile the commits of ``tables`` (default: every shared table) not yet in ``store``.

    Run it inside :func:`monitoring` (one read transaction).
    """
    con = ws.con
    lake = store.lake or LakeMeta.read(con)
    upto = lake.snapshot_id
    wanted = None if tables is None else list(tables)
    versions = table_versions(lake, wanted)
    live = live_tables(versions)
    names = live if wanted is None else [t for t in wanted if t in set(live)]
    marks = store.watermarks()
    pending = {n for n in names if marks.get(n, -1) < upto}
    unsaved: dict[str, list[CommitMetrics]] = {}
    if not pending:
        return Filled(names, unsaved, versions)
    found = lake_commits(lake, versions, {n: marks.get(n, -1) for n in pending}, upto=upto)
    todo = {n: cs for n, cs in found.items() if cs}
    plans = {name: _plan(lake, todo[name], versions[name]) for name in todo}
    lake.release()  # profiling reads data files only: let writers commit meanwhile
    notes = annotated_pii(lake, versions, list(todo))
    computed: list[CommitMetrics] = []
    for name in sorted(todo):
        pii = notes.get(name, frozenset()) | _detected_pii(store, name)
        last = store.last_commit(name)
        metrics = _profile_commits(lake.con, todo[name], *plans[name], pii, last)
        computed.extend(metrics)
        if not store.writable:
            unsaved[name] = metrics
    store.save_commits(computed, dict.fromkeys(pending, upto))
    return Filled(names, unsaved, versions, len(computed))


#: Per lake, annotations table and its last change: every table's PII columns.
_annotations: dict[tuple[str, int, int], dict[str, frozenset[str]]] = {}


def annotated_pii(
    lake: LakeMeta, versions: dict[str, list[TableVersion]], names: list[str]
) -> dict[str, frozenset[str]]:
    """Per table, the columns its catalog annotation flags as PII.

    The annotations table is read once per change of it (the snapshot of its last data or
    delete file, from the metadata) and kept in this process.
    """
    key = f"{META_SCHEMA}.{ann.ANNOTATIONS_TABLE}"
    if not names or key not in versions or versions[key][-1].end is not None:
        return {}
    tid = versions[key][-1].table_id
    (changed,) = lake.query(
        f"SELECT max(s) FROM (SELECT max(begin_snapshot) AS s FROM "
        f"{lake.table('ducklake_data_file')} WHERE table_id = ? UNION ALL "
        f"SELECT max(end_snapshot) FROM {lake.table('ducklake_data_file')} WHERE table_id = ? "
        f"UNION ALL SELECT max(begin_snapshot) FROM {lake.table('ducklake_delete_file')} "
        f"WHERE table_id = ?) AS t",
        [tid, tid, tid],
    )
    cache = (lake.lake_id, tid, int(changed[0] or 0))
    if cache not in _annotations:
        rows = lake.con.execute(
            f'SELECT table_name, doc FROM "{LAKE}"."{META_SCHEMA}"."{ann.ANNOTATIONS_TABLE}"'
        ).fetchall()
        flagged: dict[str, frozenset[str]] = {}
        for name, doc in rows:
            note = ann.TableAnnotation.model_validate_json(doc)
            flagged[str(name)] = frozenset(c for c, a in note.columns.items() if a.pii)
        _annotations.clear()  # one lake per process, as a rule: keep the latest only
        _annotations[cache] = flagged
    everything = _annotations[cache]
    return {n: everything[n] for n in names if n in everything}


def _detected_pii(store: Store, name: str) -> frozenset[str]:
    """Columns detected as PII whose suggestion was not dismissed: treated as PII."""
    dismissed = store.dismissals(name)
    return frozenset(
        col
        for col, found in store.pii_columns(name).items()
        if found["kind"] and (col, found["kind"]) not in dismissed
    )


def _plan(
    lake: LakeMeta, commits: list[Commit], versions: list[TableVersion]
) -> tuple[TableFiles, dict[int, dict[int, tuple[int, str | None, str | None]]]]:
    """The metadata profiling ``commits`` needs: the table's files and their statistics."""
    files = TableFiles.read(lake, versions)
    added = [f for c in commits for f in files.volume(c).added_files]
    return files, file_column_stats(lake, added)


def _profile_commits(
    con: duckdb.DuckDBPyConnection,
    commits: list[Commit],
    files: TableFiles,
    stats: dict[int, dict[int, tuple[int, str | None, str | None]]],
    pii: frozenset[str],
    last: CommitMetrics | None,
) -> list[CommitMetrics]:
    out = []
    for commit in commits:
        low = frozenset(m.name for m in last.columns if m.top_values) if last else frozenset()
        try:
            out.append(compute(con, commit, files, stats, pii_columns=pii, low_cardinality=low))
        except duckdb.Error as exc:  # keep the volume; never fail a whole fill on one commit
            log.warning(
                "could not profile %s at snapshot %s: %s", commit.table, commit.snapshot_id, exc
            )
            out.append(compute(con, commit, files, stats, profile=False))
        last = out[-1] if out[-1].columns else last
    return out


def table_history(ws: Workspace, table: str, *, store: Store | None = None) -> list[CommitMetrics]:
    """Every commit of a shared table with its metrics, oldest first (filled in first).

    Examples
    --------
    >>> [c.rows_added for c in table_history(ws, "gold.revenue")]  # doctest: +SKIP
    [1200, 1210, 1195]
    """
    name = shared_table(ws, table)
    if store is None:
        with monitoring(ws) as own:
            return table_history(ws, name, store=own)
    filled = fill(ws, store, [name])
    if name not in filled.tables:
        raise TableNotFoundError(name, [name], [])
    stored = {c.snapshot_id: c for c in store.commits(name)}
    for c in filled.unsaved.get(name, []):
        stored.setdefault(c.snapshot_id, c)
    return [stored[k] for k in sorted(stored)]


def record(ws: Workspace, table: str) -> int:
    """Record the metrics of the commits of ``table`` not yet in the store (after a write);
    returns how many were profiled.

    Call it right after committing to a shared table: the data is still in the OS cache,
    so profiling costs little. Commits nobody records are profiled by the next reader.

    Examples
    --------
    >>> res = ws.write("silver.fx", frame)  # doctest: +SKIP
    >>> record(ws, res.table)  # doctest: +SKIP
    1
    """
    with monitoring(ws, transaction=False) as store:
        return fill(ws, store, [table]).profiled


def history_frame(history: list[CommitMetrics]) -> pd.DataFrame:
    """One row per commit and column (or per commit without columns), for charts and the CLI.

    Columns: ``snapshot_id``, ``committed_at``, ``operations``, ``rows_added``,
    ``rows_deleted``, ``rows_total``, ``bytes``, ``column``, ``null_fraction``, ``distinct``,
    ``min``, ``max``, ``mean``, ``stddev``.
    """
    rows: list[dict[str, Any]] = []
    for c in history:
        base = {
            "snapshot_id": c.snapshot_id,
            "committed_at": c.committed_at,
            "operations": ",".join(c.operations),
            "rows_added": c.rows_added,
            "rows_deleted": c.rows_deleted,
            "rows_total": c.rows_total,
            "bytes": c.bytes,
        }
        if not c.columns:
            rows.append({**base, "column": None})
        for m in c.columns:
            rows.append(
                {
                    **base,
                    "column": m.name,
                    "null_fraction": m.null_fraction,
                    "distinct": m.distinct,
                    "min": m.min,
                    "max": m.max,
                    "mean": m.mean,
                    "stddev": m.stddev,
                }
            )
    columns = [
        "snapshot_id", "committed_at", "operations", "rows_added", "rows_deleted",
        "rows_total", "bytes", "column", "null_fraction", "distinct", "min", "max", "mean",
        "stddev",
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)
