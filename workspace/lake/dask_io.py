"""Dask I/O for lake tables: read a snapshot as a Dask DataFrame, write one in one commit.

Reading: each partition is one data file of a pinned snapshot, read on a worker through
DuckDB (``WHERE filename = ?``), so deletes and schema evolution apply exactly as in SQL.
Writing: workers write one Parquet file per partition into a staging folder under the
table's data path; the client registers them with DuckLake in one transaction. If anything
fails, the staged files are deleted. dask is imported only inside functions.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from workspace.lake import snapshots
from workspace.lake.engine import attach_string, open_connection
from workspace.lake.errors import SchemaMismatchError, WorkspaceError
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings
from workspace.lake.writes import WriteMode, WriteResult, schema_diff, type_compatible
from workspace.lake.writes import write_sql_source as _commit

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd

    from workspace.lake.workspace import Workspace

_CONNECTIONS: dict[tuple[int, tuple[tuple[str, str], ...]], duckdb.DuckDBPyConnection] = {}
_LOCK = threading.Lock()


# -- reading ------------------------------------------------------------------------------
def to_dask(
    ws: Workspace, ref: TableRef, at: int | str | dt.datetime | None = None
) -> dd.DataFrame:
    """A Dask DataFrame over one snapshot of a lake or sandbox table.

    The snapshot is pinned when this is called: later writes do not change the result.
    Integer and boolean columns use pandas' nullable dtypes (``Int64``, ``boolean``), so
    every partition has the same dtypes whether or not it holds NULLs.

    Examples
    --------
    >>> ddf = to_dask(ws, ws.resolve("gold.orders"))  # doctest: +SKIP
    >>> ddf.groupby("o_orderstatus").o_totalprice.sum().compute()  # doctest: +SKIP
    """
    import dask.dataframe as dd

    con = ws.con
    version = _pin_version(con, ref, at)
    clause = f"AT (VERSION => {version})"
    meta = arrow_to_pandas(
        con.execute(f"SELECT * FROM {ref.sql} {clause} LIMIT 0").fetch_arrow_table()
    )
    files = [
        str(r[0])
        for r in con.execute(
            "SELECT data_file FROM ducklake_list_files(?, ?, schema => ?, snapshot_version => ?)",
            [ref.catalog, ref.name, ref.schema, version],
        ).fetchall()
    ]
    files += _inlined_tables(con, ref)
    if not files:
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_map(
        read_file,
        files,
        meta=meta,
        label=f"read-lake-{ref.name}",
        settings=ws.settings,
        table_sql=ref.sql,
        version=version,
    )


def _pin_version(
    con: duckdb.DuckDBPyConnection, ref: TableRef, at: int | str | dt.datetime | None
) -> int:
    """The catalog snapshot id to read: the current one, or the one ``at`` names."""
    if at is None:
        row = con.execute(f'SELECT id FROM "{ref.catalog}".current_snapshot()').fetchone()
        return int(row[0]) if row else 0
    snapshots.at_clause(con, ref, at)  # validates, raising SnapshotNotFoundError
    if isinstance(at, int):
        return at
    when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    row = con.execute(
        f'SELECT max(snapshot_id) FROM "{ref.catalog}".snapshots() WHERE snapshot_time <= ?',
        [when],
    ).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _inlined_tables(con: duckdb.DuckDBPyConnection, ref: TableRef) -> list[str]:
    """Names under which rows inlined in the catalog appear in the ``filename`` column."""
    ids = snapshots.table_ids(con, ref)
    if not ids:
        return []
    meta = snapshots.metadata_tables(con, ref.catalog)
    try:
        rows = con.execute(
            f"SELECT table_name FROM {meta}.ducklake_inlined_data_tables "
            f"WHERE table_id IN ({', '.join('?' * len(ids))}) ORDER BY 1",
            ids,
        ).fetchall()
    except duckdb.Error:  # a catalog version without inlining
        return []
    return [str(r[0]) for r in rows]


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """Arrow to pandas with dtypes that do not depend on the data (nullable ints, booleans)."""
    import pandas as pd

    mapping: dict[pa.DataType, Any] = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return table.to_pandas(types_mapper=mapping.get)


def read_file(
    filename: str,
    *,
    settings: Settings,
    table_sql: str,
    version: int,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """On a worker: the rows of one data file (or inlined-data table) of a pinned snapshot.

    ``columns`` is set by dask's column projection, so ``ddf[["a"]]`` reads only ``a``.
    """
    cols = "*" if columns is None else ", ".join(_q(c) for c in columns)
    sql = f"SELECT {cols} FROM {table_sql} AT (VERSION => {version}) WHERE filename = ?"
    try:
        table = _query(settings, sql, [filename])
    except (duckdb.CatalogException, duckdb.BinderException):
        with _LOCK:  # e.g. a sandbox created after this worker connected: reconnect once
            _CONNECTIONS.pop(_key(settings), None)  # not closed: other threads may use it
        table = _query(settings, sql, [filename])
    return arrow_to_pandas(table)


def _key(settings: Settings) -> tuple[int, tuple[tuple[str, str], ...]]:
    return os.getpid(), tuple(sorted(settings.env().items()))


def _query(settings: Settings, sql: str, params: list[Any]) -> pa.Table:
    """Run a query on this process's cached read-only lake connection (thread-safe)."""
    key = _key(settings)
    with _LOCK:
        con = _CONNECTIONS.get(key)
        if con is None:
            con = _CONNECTIONS[key] = open_connection(settings, read_only=True)
        cursor = con.cursor()
    try:
        return cursor.execute(sql, params).fetch_arrow_table()
    finally:
        cursor.close()


# -- writing ------------------------------------------------------------------------------
def table_data_dir(settings: Settings, ref: TableRef) -> Path:
    """Folder where DuckLake keeps the Parquet files of ``ref``."""
    _, options = attach_string(settings, sandbox=ref.catalog != "lake")
    return Path(options["DATA_PATH"]) / ref.schema / ref.name


def write_dask(
    ws: Workspace,
    ref: TableRef,
    ddf: dd.DataFrame,
    *,
    mode: WriteMode = "append",
    evolve: bool = False,
    message: str | None = None,
) -> WriteResult:
    """Write a Dask DataFrame: the workers write Parquet, the client commits once.

    Examples
    --------
    >>> ref = TableRef("lake", "silver", "events")
    >>> write_dask(ws, ref, ddf, mode="overwrite")  # doctest: +SKIP
    WriteResult(table='silver.events', snapshot_id=9, rows=1000, mode='overwrite', attempts=1)
    """
    import dask

    if mode not in ("append", "overwrite"):
        raise WorkspaceError(f"mode must be 'append' or 'overwrite', not {mode!r}")
    file_cols, select_sql = _plan_columns(ws.con, ref, ddf._meta, mode=mode, evolve=evolve)
    staging = table_data_dir(ws.settings, ref) / f"_dask-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    tasks = [
        dask.delayed(_write_partition)(part, str(staging / f"part-{i:05d}.parquet"), select_sql)
        for i, part in enumerate(ddf.to_delayed())
    ]
    try:
        files = [f for f in _compute_all(tasks) if f]
        empty = ", ".join(f'CAST(NULL AS {t}) AS "{c}"' for c, t in file_cols)
        return _commit(
            ws,
            ref,
            f"(SELECT {empty} LIMIT 0)",
            mode=mode,
            evolve=evolve,
            message=message,
            add_files=files,
        )
    except BaseException:
        _remove(staging)
        raise


def _plan_columns(
    con: duckdb.DuckDBPyConnection,
    ref: TableRef,
    meta: pd.DataFrame,
    *,
    mode: WriteMode,
    evolve: bool,
) -> tuple[list[tuple[str, str]], str]:
    """Column types of the staged files, and the SELECT the workers write them with.

    The files get the table's column types where the data fits them, so that DuckLake
    accepts them as they are; a schema difference without ``evolve`` raises here, before
    any partition is computed.
    """
    view = f"__ws_meta_{uuid.uuid4().hex[:12]}"
    con.register(view, meta.reset_index(drop=True))
    try:
        src = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {view}").fetchall()]
    finally:
        con.unregister(view)
    exists = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name=? AND schema_name=? AND table_name=?",
        [ref.catalog, ref.schema, ref.name],
    ).fetchone()
    files = src
    if exists:
        target = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {ref.sql}").fetchall()]
        missing, extra, changed = schema_diff(src, target)
        differs = bool(missing or extra or changed)
        if differs and not evolve:
            raise SchemaMismatchError(ref.display, missing=missing, extra=extra, changed=changed)
        types = dict(target)
        if not differs:
            files = target
        elif mode == "append":
            files = [
                (c, types[c] if c in types and type_compatible(t, types[c]) else t) for c, t in src
            ]
            files += [(c, types[c]) for c in missing]
    present = {c for c, _ in src}
    select = ", ".join(
        f"CAST({_q(c) if c in present else 'NULL'} AS {t}) AS {_q(c)}" for c, t in files
    )
    return files, select


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _write_partition(part: pd.DataFrame, path: str, select_sql: str) -> str | None:
    """On a worker: write one partition as Parquet with the planned column types."""
    if len(part) == 0:
        return None
    if not os.path.isdir(os.path.dirname(path)):
        raise WorkspaceError(f"staging folder of {path} is gone (the write was abandoned)")
    con = duckdb.connect(config={"threads": 1, "autoinstall_known_extensions": False})
    try:
        con.register("part", part.reset_index(drop=True))
        con.execute(f"COPY (SELECT {select_sql} FROM part) TO {_lit(path)} (FORMAT parquet)")
    finally:
        con.close()
    return path


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _compute_all(tasks: list[Any]) -> list[Any]:
    """Compute every task, waiting for all of them to end even when one fails."""
    import dask
    from dask.base import get_scheduler

    client = getattr(get_scheduler(), "__self__", None)  # a distributed Client's .get
    if client is None or not hasattr(client, "compute"):
        return list(dask.compute(*tasks))  # local schedulers; stray late writes then fail
    from distributed import wait

    futures = client.compute(tasks)
    try:
        wait(futures)
        return [f.result() for f in futures]  # raises the first partition's error
    finally:
        for f in futures:
            f.release()


def _remove(staging: Path) -> None:
    """Delete a staging folder, tolerating writers that finish while we delete."""
    for _ in range(20):
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            return
        time.sleep(0.05)
