"""Snapshots of a table: its history, and the snapshot a reader sees."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from workspace.lake.engine import first_row, metadata_variable
from workspace.lake.errors import SnapshotNotFoundError
from workspace.lake.names import TableRef

_TABLE_KEYS = (
    "tables_inserted_into",
    "tables_deleted_from",
    "tables_altered",
    "tables_dropped",
    "inlined_insert",
    "inlined_delete",
    "tables_compacted",
)


@dataclass(frozen=True)
class Snapshot:
    """One committed version of a table.

    Attributes
    ----------
    snapshot_id:
        DuckLake snapshot id; pass it as ``ws.table(name, at=snapshot_id)``.
    time:
        When it was committed (UTC).
    operations:
        What the commit did to this table: ``created``, ``inserted``, ``deleted``,
        ``altered``, ``dropped``.
    author, message:
        Who committed it and the commit message.
    """

    snapshot_id: int
    time: dt.datetime
    operations: tuple[str, ...]
    author: str | None
    message: str | None


def metadata_tables(con: duckdb.DuckDBPyConnection, catalog: str) -> str:
    """Quoted prefix of the DuckLake metadata tables of an attached catalog.

    On SQLite each DuckLake has its own file; on PostgreSQL the lake and every sandbox share
    one database, each in its own metadata schema, so the schema must be named.
    """
    row = first_row(con.execute("SELECT getvariable(?)", [metadata_variable(catalog)]))
    prefix = f'"__ducklake_metadata_{catalog}"'
    return f'{prefix}."{row[0]}"' if row and row[0] else prefix


def table_ids(con: duckdb.DuckDBPyConnection, ref: TableRef) -> list[int]:
    """Every DuckLake table id this name has had (a replaced table gets a new id)."""
    meta = metadata_tables(con, ref.catalog)
    rows = con.execute(
        f"""
        SELECT DISTINCT t.table_id FROM {meta}.ducklake_table t
        JOIN {meta}.ducklake_schema s USING (schema_id)
        WHERE s.schema_name = ? AND t.table_name = ?
        ORDER BY 1
        """,
        [ref.schema, ref.name],
    ).fetchall()
    return [int(r[0]) for r in rows]


def history(con: duckdb.DuckDBPyConnection, ref: TableRef) -> list[Snapshot]:
    """The snapshots that changed this table, oldest first."""
    ids = {str(i) for i in table_ids(con, ref)}
    qualified = f"{ref.schema}.{ref.name}"
    rows = con.execute(
        f"SELECT snapshot_id, snapshot_time, changes, author, commit_message "
        f'FROM "{ref.catalog}".snapshots() ORDER BY snapshot_id'
    ).fetchall()
    out: list[Snapshot] = []
    for snap_id, when, changes, author, message in rows:
        ops: list[str] = []
        for key, values in (changes or {}).items():
            if key == "tables_created" and qualified in values:
                ops.append("created")
            elif key in _TABLE_KEYS and ids.intersection(values):
                ops.append(key.replace("tables_", "").replace("_into", "").replace("_from", ""))
        if ops:
            out.append(Snapshot(int(snap_id), when, tuple(ops), author, message))
    return out


def latest_snapshot_id(con: duckdb.DuckDBPyConnection, ref: TableRef) -> int:
    """Id of the last snapshot that changed the table (stable while the table is unchanged)."""
    snaps = history(con, ref)
    return snaps[-1].snapshot_id if snaps else 0


def at_clause(con: duckdb.DuckDBPyConnection, ref: TableRef, at: int | str | dt.datetime) -> str:
    """The ``AT (...)`` clause for time travel, validated against the table's history.

    Raises :class:`SnapshotNotFoundError` when the table did not exist at that point.
    """
    snaps = history(con, ref)
    if isinstance(at, bool) or not isinstance(at, (int, str, dt.datetime)):
        raise SnapshotNotFoundError(
            f"at= must be a snapshot id (int) or a timestamp, not {type(at).__name__}"
        )
    if isinstance(at, int):
        if not snaps or at < snaps[0].snapshot_id:
            first = snaps[0].snapshot_id if snaps else "none"
            raise SnapshotNotFoundError(
                f"{ref.display} has no version at snapshot {at} (its first snapshot is "
                f"{first}). See ws.history({ref.display!r})."
            )
        return f"AT (VERSION => {at})"
    when = at if isinstance(at, dt.datetime) else _parse_time(at)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    if not snaps or when < snaps[0].time:
        raise SnapshotNotFoundError(
            f"{ref.display} did not exist yet at {when.isoformat()}. "
            f"See ws.history({ref.display!r})."
        )
    return f"AT (TIMESTAMP => TIMESTAMPTZ '{when.isoformat()}')"


def _parse_time(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise SnapshotNotFoundError(
            f"at={text!r} is neither a snapshot id nor an ISO timestamp "
            "(for example '2026-01-31 12:00:00+00:00')"
        ) from exc
