"""Writing data into lake tables: one atomic DuckLake commit per write.

A write either commits completely or leaves the table exactly as it was: the whole write
runs in one DuckDB transaction, and DuckLake publishes a new snapshot only on COMMIT. When
other writers hold the catalog, the transaction is rolled back and retried with backoff.

``WORKSPACE_WRITE_LOG`` (one JSON line per committed write) and ``WORKSPACE_RUN_ID``,
``WORKSPACE_PIPELINE``, ``WORKSPACE_TASK`` (the commit's ``extra_info``) let whoever starts a
process learn what it wrote. Details: docs/lake.md, "Module notes".
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import duckdb
import pyarrow as pa

from workspace.lake import hooks as write_hooks
from workspace.lake import protected
from workspace.lake.engine import (
    LAKE,
    release_catalog_locks,
    retry_on_contention,
    transaction,
    write_lock,
)
from workspace.lake.errors import (
    QueryError,
    SchemaMismatchError,
    UnsupportedDataError,
    WorkspaceError,
)
from workspace.lake.names import TableRef
from workspace.lake.sqlerrors import write_refusal

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

WriteMode = Literal["append", "overwrite"]

#: File to append one JSON line per committed write to (see the module docstring).
WRITE_LOG_ENV = "WORKSPACE_WRITE_LOG"
#: Environment variables copied into a commit's DuckLake ``extra_info``, by key.
COMMIT_INFO_ENV = {
    "run_id": "WORKSPACE_RUN_ID",
    "pipeline": "WORKSPACE_PIPELINE",
    "task": "WORKSPACE_TASK",
}

log = logging.getLogger(__name__)

_INT_RANK = {"TINYINT": 1, "SMALLINT": 2, "INTEGER": 3, "BIGINT": 4, "HUGEINT": 5}
_UINT_RANK = {"UTINYINT": 1, "USMALLINT": 2, "UINTEGER": 3, "UBIGINT": 4, "UHUGEINT": 5}
_FLOAT_RANK = {"FLOAT": 1, "DOUBLE": 2}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"}


@dataclass(frozen=True)
class WriteResult:
    """What a write committed.

    Attributes
    ----------
    table:
        The table written, as ``layer.name``.
    snapshot_id:
        The DuckLake snapshot that made the write visible.
    rows:
        Rows written.
    attempts:
        Transactions tried (more than 1 when other writers held the catalog).
    """

    table: str
    snapshot_id: int
    rows: int
    mode: str
    attempts: int = 1


def type_compatible(src: str, dst: str) -> bool:
    """Whether values of DuckDB type ``src`` fit into a column of type ``dst`` losslessly.

    >>> type_compatible("INTEGER", "BIGINT"), type_compatible("BIGINT", "INTEGER")
    (True, False)
    >>> type_compatible("VARCHAR", "DATE")
    False
    """
    s, d = src.upper(), dst.upper()
    if s == d or s == '"NULL"' or s == "NULL":
        return True
    if s in _INT_RANK and d in _INT_RANK:
        return _INT_RANK[s] <= _INT_RANK[d]
    if s in _UINT_RANK and d in _UINT_RANK:
        return _UINT_RANK[s] <= _UINT_RANK[d]
    if s in _UINT_RANK and d in _INT_RANK:
        return _UINT_RANK[s] < _INT_RANK[d]
    if (s in _INT_RANK or s in _UINT_RANK) and (d in _FLOAT_RANK or d.startswith("DECIMAL")):
        return True
    if s in _FLOAT_RANK and d in _FLOAT_RANK:
        return _FLOAT_RANK[s] <= _FLOAT_RANK[d]
    if s.startswith("DECIMAL") and (d.startswith("DECIMAL") or d in _FLOAT_RANK):
        return True
    if s in _TIMESTAMPS and d in _TIMESTAMPS:
        return True
    return s == "DATE" and d in _TIMESTAMPS


def _describe(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()]


@contextmanager
def registered_source(ws: Workspace, data: Any) -> Iterator[str]:
    """Expose ``data`` to DuckDB as a relation and yield SQL that selects from it."""
    con = ws.con
    view = f"__ws_src_{uuid.uuid4().hex[:12]}"
    obj = _as_scannable(ws, data)
    if isinstance(obj, str):  # SQL of an ibis expression on this connection
        yield f"({obj})"
        return
    # Binding the view reads the catalogs, which can be busy with other writers too.
    retry_on_contention(
        lambda: con.register(view, obj),
        timeout=ws.settings.write_timeout,
        what="reading the data to write",
    )
    try:
        yield view
    finally:
        con.unregister(view)


def _as_scannable(ws: Workspace, data: Any) -> Any:
    """Turn supported inputs into something DuckDB can scan repeatedly (for retries)."""
    module = type(data).__module__.split(".")[0]
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return data
    if module == "polars" and type(data).__name__ in {"DataFrame", "LazyFrame"}:
        frame = data.collect() if type(data).__name__ == "LazyFrame" else data
        return frame.to_arrow()
    if isinstance(data, duckdb.DuckDBPyRelation):
        return data.fetch_arrow_table()
    if module == "ibis":
        import ibis.expr.types as ir

        if isinstance(data, ir.Table):
            try:
                backend = data._find_backend()
            except Exception:  # an expression over memtables only
                backend = None
            if backend is ws.ibis:
                return str(ws.ibis.compile(data))
            return data.to_pyarrow()
    raise UnsupportedDataError(
        f"Cannot write an object of type {type(data).__module__}.{type(data).__qualname__}. "
        "Pass an ibis table, a pandas or polars DataFrame, a pyarrow Table, or a Dask DataFrame."
    )


def schema_diff(
    source: list[tuple[str, str]], target: list[tuple[str, str]]
) -> tuple[list[str], list[str], list[tuple[str, str, str]]]:
    """(missing-from-source, extra-in-source, changed (name, target type, source type))."""
    src = dict(source)
    dst = dict(target)
    missing = [c for c in dst if c not in src]
    extra = [c for c in src if c not in dst]
    changed = [(c, dst[c], src[c]) for c in src if c in dst and not type_compatible(src[c], dst[c])]
    return missing, extra, changed


def _column_list(cols: list[tuple[str, str]]) -> str:
    return ", ".join('"' + c.replace('"', '""') + '"' for c, _ in cols)


def _table_exists(con: duckdb.DuckDBPyConnection, ref: TableRef) -> bool:
    row = con.execute(
        "SELECT 1 FROM duckdb_tables() WHERE database_name=? AND schema_name=? AND table_name=?",
        [ref.catalog, ref.schema, ref.name],
    ).fetchone()
    return row is not None


def _current_snapshot(con: duckdb.DuckDBPyConnection, catalog: str) -> int:
    row = con.execute(f'SELECT id FROM "{catalog}".current_snapshot()').fetchone()
    return int(row[0]) if row else 0


def write_sql_source(
    ws: Workspace,
    ref: TableRef,
    source_sql: str,
    *,
    mode: WriteMode,
    evolve: bool,
    message: str | None = None,
    add_files: list[str] | None = None,
) -> WriteResult:
    """Commit the rows of ``source_sql`` into ``ref`` in one transaction, with retries.

    With ``add_files``, the rows are not copied: those Parquet files (already written by Dask
    workers, matching ``source_sql``'s schema) are registered with DuckLake instead.
    """
    if mode not in ("append", "overwrite"):
        raise WorkspaceError(f"mode must be 'append' or 'overwrite', not {mode!r}")
    con = ws.con
    alias = protected.write_alias(con, ws.settings, ref.display) if ref.catalog == LAKE else None
    if alias is not None:  # a confidential table lives in its own DuckLake
        ref = TableRef(alias, ref.schema, ref.name)
    timeout = ws.settings.write_timeout
    src_cols = retry_on_contention(
        lambda: _describe(con, f"SELECT * FROM {source_sql}"),
        timeout=timeout,
        what=f"reading the columns to write to {ref.display}",
    )
    if not src_cols:
        raise UnsupportedDataError(f"Nothing to write to {ref.display}: the data has no columns.")
    attempts = 0
    extra_info = commit_extra_info()
    start = 0  # the snapshot the committed transaction started from
    hooked: write_hooks.WriteContext | None = None  # what the write hooks saw

    def attempt() -> int:
        nonlocal attempts, start, hooked
        attempts += 1
        with transaction(con, what=f"writing {ref.display}"):
            con.execute(
                f'CALL "{ref.catalog}".set_commit_message(?, ?, extra_info => ?)',
                [ws.settings.user, message or f"{mode} {ref.display}", extra_info],
            )
            start = _current_snapshot(con, ref.catalog)
            rows = _write_in_transaction(con, ref, source_sql, src_cols, mode, evolve, add_files)
            if write_hooks.active():  # e.g. the table's blocking quality checks; raise = rollback
                written = _rescannable(source_sql, add_files)
                hooked = write_hooks.WriteContext(ws, con, ref, mode, written, rows)
                write_hooks.before_commit(hooked)
            return rows

    try:
        with write_lock(ws.settings, ref.catalog, what=f"writing {ref.display}"):
            rows = retry_on_contention(
                attempt,
                timeout=timeout,
                what=f"writing {ref.display}",
                on_retry=lambda: release_catalog_locks(con),
            )
    except (duckdb.Error, OSError) as exc:  # a failed cast, a constraint, bad SQL, the OS
        refused = write_refusal(exc, layer=ref.layer, table=ref.display)
        if refused is not None:  # the OS decides who writes a layer; we only say so clearly
            raise refused from None
        if not isinstance(exc, duckdb.Error):
            raise
        if "to ducklake - unsupported type" in str(exc).lower():
            raise UnsupportedDataError(
                f"Cannot write {ref.display}: {str(exc).split(' - ')[-1]} cannot be stored "
                "in the lake. Cast that column first (categorical/ENUM to string, UNION to "
                "a struct or string). Nothing was written."
            ) from exc
        raise QueryError(
            f"Writing {ref.display} failed and nothing was written: {exc}", statement=source_sql
        ) from exc
    # This connection's own commit, never a later one of another writer. Ask only here:
    # asked before taking the write lock as well, concurrent writers on a SQLite catalog
    # timed out (tests/integration/test_concurrent_writers.py).
    snapshot = _last_committed(con, ref.catalog)
    if snapshot is None or snapshot <= start:  # the commit changed nothing: no new snapshot
        snapshot = retry_on_contention(
            lambda: _current_snapshot(con, ref.catalog),
            timeout=timeout,
            what="reading the snapshot",
        )
    result = WriteResult(ref.display, snapshot, rows, mode, attempts)
    log_write(result)
    if hooked is not None:
        write_hooks.after_commit(hooked, result)
    return result


def _rescannable(source_sql: str, add_files: list[str] | None) -> str | None:
    """SQL over the rows a write adds when scanning them again is cheap, else ``None``.

    Staged Parquet files and registered in-memory data are; a parenthesised query (an ibis
    expression on the workspace) would run again.
    """
    if add_files is not None:
        files = ", ".join("'" + f.replace("'", "''") + "'" for f in add_files)
        return f"read_parquet([{files}])" if add_files else None
    return None if source_sql.startswith("(") else source_sql


def _last_committed(con: duckdb.DuckDBPyConnection, catalog: str) -> int | None:
    """The snapshot this connection last committed to ``catalog`` (no catalog round trip).

    Unlike ``current_snapshot()`` it cannot name another writer's later commit.
    """
    row = con.execute(f'SELECT * FROM "{catalog}".last_committed_snapshot()').fetchone()
    return None if row is None or row[0] is None else int(row[0])


def commit_extra_info() -> str | None:
    """The DuckLake ``extra_info`` of this process's commits: which run wrote them.

    A JSON object of ``WORKSPACE_RUN_ID``, ``WORKSPACE_PIPELINE`` and ``WORKSPACE_TASK``
    (the pipeline runner exports them into a task's kernel), or ``None`` outside a run.

    Examples
    --------
    >>> import os
    >>> os.environ["WORKSPACE_RUN_ID"] = "r1"
    >>> commit_extra_info()
    '{"run_id": "r1"}'
    >>> del os.environ["WORKSPACE_RUN_ID"]
    """
    info = {key: os.environ[var] for key, var in COMMIT_INFO_ENV.items() if os.environ.get(var)}
    return json.dumps(info) if info else None


def log_write(result: WriteResult) -> None:
    """Append ``result`` as one JSON line to the file ``WORKSPACE_WRITE_LOG`` names, if any.

    Examples
    --------
    >>> import os, tempfile
    >>> os.environ["WORKSPACE_WRITE_LOG"] = path = tempfile.mktemp(suffix=".jsonl")
    >>> log_write(WriteResult("gold.x", 12, 100, "append"))
    >>> sorted(json.loads(open(path).readline()))
    ['at', 'mode', 'rows', 'snapshot_id', 'table']
    >>> del os.environ["WORKSPACE_WRITE_LOG"]
    """
    target = os.environ.get(WRITE_LOG_ENV)
    if not target:
        return
    line = json.dumps(
        {
            "table": result.table,
            "snapshot_id": result.snapshot_id,
            "rows": result.rows,
            "mode": result.mode,
            "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        }
    )
    try:
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())  # one write(2): lines never interleave
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning(
            "%s was committed (snapshot %s) but could not be recorded in %s=%s: %s",
            result.table, result.snapshot_id, WRITE_LOG_ENV, target, exc,
        )  # fmt: skip


def _write_in_transaction(
    con: duckdb.DuckDBPyConnection,
    ref: TableRef,
    source_sql: str,
    src_cols: list[tuple[str, str]],
    mode: WriteMode,
    evolve: bool,
    add_files: list[str] | None,
) -> int:
    if not _table_exists(con, ref):
        if add_files is not None:
            cols = ", ".join(f'"{c}" {t}' for c, t in src_cols)
            con.execute(f"CREATE TABLE {ref.sql} ({cols})")
            return _add_files(con, ref, add_files)
        row = con.execute(f"CREATE TABLE {ref.sql} AS SELECT * FROM {source_sql}").fetchone()
        return int(row[0]) if row else 0
    target = _describe(con, ref.sql)
    missing, extra, changed = schema_diff(src_cols, target)
    differs = bool(missing or extra or changed)
    if differs and not evolve:
        raise SchemaMismatchError(ref.display, missing=missing, extra=extra, changed=changed)
    if mode == "overwrite" and differs:
        con.execute(f"DROP TABLE {ref.sql}")
        return _write_in_transaction(con, ref, source_sql, src_cols, mode, evolve, add_files)
    if mode == "overwrite":
        con.execute(f"DELETE FROM {ref.sql}")
    if differs:
        _evolve(con, ref, extra, changed, dict(src_cols))
    if add_files is not None:
        return _add_files(con, ref, add_files)
    row = con.execute(
        f"INSERT INTO {ref.sql} ({_column_list(src_cols)}) "
        f"SELECT {_column_list(src_cols)} FROM {source_sql}"
    ).fetchone()
    return int(row[0]) if row else 0


def _evolve(
    con: duckdb.DuckDBPyConnection,
    ref: TableRef,
    extra: list[str],
    changed: list[tuple[str, str, str]],
    src_types: dict[str, str],
) -> None:
    for col in extra:
        con.execute(f'ALTER TABLE {ref.sql} ADD COLUMN "{col}" {src_types[col]}')
    for col, old, new in changed:
        try:
            con.execute(f'ALTER TABLE {ref.sql} ALTER COLUMN "{col}" SET DATA TYPE {new}')
        except duckdb.Error as exc:
            raise SchemaMismatchError(ref.display, changed=[(col, old, new)]).with_traceback(
                None
            ) from exc


def _add_files(con: duckdb.DuckDBPyConnection, ref: TableRef, files: list[str]) -> int:
    total = 0
    for path in files:
        con.execute(
            "CALL ducklake_add_data_files(?, ?, ?, schema => ?)",
            [ref.catalog, ref.name, path, ref.schema],
        )
        meta = con.execute("SELECT count(*) FROM read_parquet(?)", [path]).fetchone()
        total += int(meta[0]) if meta else 0
    return total
