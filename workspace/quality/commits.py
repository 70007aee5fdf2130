"""The commits of the shared tables, read from the DuckLake catalog alone.

A *commit* of a table is a DuckLake snapshot that inserted into, deleted from, created or
altered it. :class:`LakeMeta` is one consistent read of the lake's metadata tables;
:func:`table_versions`, :func:`lake_commits` and :class:`TableFiles` find the new commits
and their row and byte counts without a scan. Design notes: docs/quality-monitors.md,
"Module notes".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from workspace.lake.engine import LAKE, LAYERS, META_SCHEMA
from workspace.lake.snapshots import metadata_tables

#: ``ducklake_snapshot_changes.changes_made`` entries that name a table id, and what they do.
_ID_CHANGES = {
    "inserted_into_table": "inserted",
    "inlined_insert": "inserted",
    "deleted_from_table": "deleted",
    "inlined_delete": "deleted",
    "altered_table": "altered",
    "compacted_table": "compacted",
}
log = logging.getLogger(__name__)
_CHANGE = re.compile(r'(\w+):((?:"(?:[^"]|"")*"(?:\.)?)+|[^,]*)')


class LakeMeta:
    """The lake's metadata tables as one consistent read, and where its data files are.

    On an embedded (SQLite) catalog the tables are read straight from the catalog file with
    :mod:`sqlite3`, in one read transaction: a few microseconds a query, where each DuckDB
    transaction on a DuckLake catalog costs milliseconds to start. On PostgreSQL they are
    read through the connection's attached metadata catalog (``__ducklake_metadata_lake``);
    run that inside a read transaction on ``con``. :meth:`close` ends the read.

    Examples
    --------
    >>> lake = LakeMeta.read(ws.con)
    >>> versions = table_versions(lake)
    >>> c = lake_commits(lake, versions, {"gold.customer_segments": -1})["gold.customer_segments"]
    >>> c[0].operations
    ('created', 'inserted')
    >>> TableFiles.read(lake, versions["gold.customer_segments"]).volume(c[0]).rows_total
    1
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, prefix: str, direct: Any = None) -> None:
        self.con = con
        self._prefix = prefix
        self._direct = direct  # a sqlite3 connection to the catalog file, or None
        ((snap, uuid, path),) = self.query(
            f"SELECT (SELECT max(snapshot_id) FROM {self.table('ducklake_snapshot')}), "
            f"(SELECT min(schema_uuid) FROM {self.table('ducklake_schema')} "
            f"WHERE schema_id = 0), (SELECT min(value) FROM {self.table('ducklake_metadata')} "
            f"WHERE key = 'data_path')"
        )
        self.snapshot_id = int(snap)  # the current snapshot, when it was read
        self.lake_id = str(uuid)  # the uuid of the catalog's ``main`` schema
        self.data_path: str | None = None if path is None else str(path)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, catalog_file: Path | None = None) -> LakeMeta:
        """Start the read: from ``catalog_file`` (a SQLite catalog) when given and readable,
        else through ``con``."""
        if catalog_file is not None:
            try:
                direct = sqlite3.connect(
                    f"file:{catalog_file}?mode=ro", uri=True, timeout=30, isolation_level=None
                )
                direct.execute("BEGIN")  # one consistent view for every query of this read
                return cls(con, "", direct)
            except sqlite3.Error as exc:
                log.debug("reading %s through DuckDB: %s", catalog_file, exc)
        return cls(con, metadata_tables(con, LAKE) + ".")

    def table(self, name: str) -> str:
        """The name to query a metadata table by."""
        return f"{self._prefix}{name}"

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a query on the metadata tables (``?`` parameters)."""
        if self._direct is not None:
            return list(self._direct.execute(sql, list(params)).fetchall())
        return self.con.execute(sql, list(params)).fetchall()

    def release(self) -> None:
        """End the read transaction on the catalog file but keep reading it, one query at a
        time. Call it before long work: a SQLite read transaction keeps every writer of the
        lake from committing (see :func:`workspace.lake.engine.release_catalog_locks`)."""
        if self._direct is not None and self._direct.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._direct.execute("COMMIT")

    def close(self) -> None:
        """End the read."""
        if self._direct is not None:
            with contextlib.suppress(sqlite3.Error):
                self._direct.execute("COMMIT")
            self._direct.close()
            self._direct = None


@dataclass(frozen=True)
class TableVersion:
    """One DuckLake table id of a name: valid from ``begin`` to before ``end`` (None: now)."""

    table_id: int
    schema: str
    name: str
    begin: int
    end: int | None
    folder: str | None = None  # where its data files are, when known

    def alive(self, snapshot_id: int) -> bool:
        """Whether this id is the table at ``snapshot_id``."""
        return self.begin <= snapshot_id and (self.end is None or self.end > snapshot_id)


@dataclass(frozen=True)
class Commit:
    """A snapshot that changed a shared table."""

    table: str
    schema: str
    name: str
    table_id: int
    snapshot_id: int
    time: dt.datetime
    operations: tuple[str, ...]
    author: str | None
    message: str | None


@dataclass(frozen=True)
class Volume:
    """Rows and bytes of a table at one commit (from file metadata: no data is read).

    ``inlined`` says the table keeps some rows in the catalog (DuckLake data inlining), so
    the file counts are not the whole story and the caller must count rows itself.
    ``row_ranges`` are the (first row id, rows) of the files the commit added, ``paths``
    their Parquet files (None where unknown or encrypted).
    """

    rows_added: int
    rows_deleted: int
    rows_total: int
    bytes: int
    added_files: tuple[int, ...]
    inlined: bool = False
    row_ranges: tuple[tuple[int, int], ...] = ()
    paths: tuple[str | None, ...] = ()


def table_versions(
    lake: LakeMeta, names: Iterable[str] | None = None
) -> dict[str, list[TableVersion]]:
    """Every id each shared table name (``layer.name``) has had, oldest first; only those
    of ``names`` when given.

    The workspace's own metadata tables (``_workspace.annotations``) are listed too; they
    are never among :func:`live_tables`.
    """
    schemas = (*LAYERS, META_SCHEMA)
    params: list[str] = list(schemas)
    only = ""
    if names is not None:
        wanted = [*names, f"{META_SCHEMA}.annotations"]
        only = f"AND s.schema_name || '.' || t.table_name IN ({', '.join('?' for _ in wanted)})"
        params += wanted
    rows = lake.query(
        f"""
        SELECT t.table_id, s.schema_name, t.table_name, t.begin_snapshot, t.end_snapshot,
               s.path, s.path_is_relative, t.path, t.path_is_relative
        FROM {lake.table("ducklake_table")} t
        JOIN {lake.table("ducklake_schema")} s USING (schema_id)
        WHERE s.schema_name IN ({", ".join("?" for _ in schemas)}) {only}
        ORDER BY t.begin_snapshot, t.table_id
        """,
        params,
    )
    out: dict[str, list[TableVersion]] = defaultdict(list)
    for tid, schema, name, begin, end, spath, srel, tpath, trel in rows:
        folder = _join(_join(lake.data_path, spath, srel), tpath, trel)
        version = TableVersion(int(tid), schema, name, int(begin), _int(end), folder)
        out[f"{schema}.{name}"].append(version)
    return dict(out)


def _join(base: str | None, path: str | None, relative: object) -> str | None:
    """``path`` under ``base`` when it is relative (DuckLake's nested data paths)."""
    if path is None:
        return base
    if not relative:
        return str(path)
    return None if base is None else base + str(path)


def live_tables(versions: dict[str, list[TableVersion]]) -> list[str]:
    """The shared tables that exist now, sorted."""
    return sorted(
        name for name, vs in versions.items() if vs[-1].end is None and vs[-1].schema in LAYERS
    )


def parse_changes(text: str | None) -> list[tuple[str, str]]:
    """``changes_made`` as (key, value) pairs; quoted names are unquoted.

    >>> parse_changes('created_table:"silver"."t",inserted_into_table:5')
    [('created_table', 'silver.t'), ('inserted_into_table', '5')]
    """
    out = []
    for key, value in _CHANGE.findall(text or ""):
        if value.startswith('"'):
            parts = re.findall(r'"((?:[^"]|"")*)"', value)
            value = ".".join(p.replace('""', '"') for p in parts)
        out.append((key, value))
    return out


def lake_commits(
    lake: LakeMeta,
    versions: dict[str, list[TableVersion]],
    after: dict[str, int],
    *,
    upto: int | None = None,
) -> dict[str, list[Commit]]:
    """The commits of the tables in ``after`` made after the snapshot given for each (and
    up to ``upto``), oldest first."""
    wanted = {n for n in after if n in versions}
    if not wanted:
        return {}
    owner = {v.table_id: n for n in wanted for v in versions[n]}
    start = min(max(after[n], versions[n][0].begin - 1) for n in wanted)
    bound = "" if upto is None else f" AND s.snapshot_id <= {int(upto)}"
    rows = lake.query(
        f"SELECT s.snapshot_id, s.snapshot_time, c.changes_made, c.author, c.commit_message "
        f"FROM {lake.table('ducklake_snapshot')} s "
        f"JOIN {lake.table('ducklake_snapshot_changes')} c USING (snapshot_id) "
        f"WHERE s.snapshot_id > ?{bound} ORDER BY s.snapshot_id",
        [start],
    )
    out: dict[str, list[Commit]] = {n: [] for n in wanted}
    for snap, when, changes, author, message in rows:
        ops: dict[str, list[str]] = defaultdict(list)
        for key, value in parse_changes(changes):
            name = value if key == "created_table" else None
            if key in _ID_CHANGES and value.isdigit():
                name = owner.get(int(value))
            op = "created" if key == "created_table" else _ID_CHANGES.get(key)
            if name in wanted and op is not None and op not in ops[name]:
                ops[name].append(op)
        for name, found in ops.items():
            version = next((v for v in versions[name] if v.alive(int(snap))), None)
            if set(found) == {"compacted"} or int(snap) <= after[name] or version is None:
                continue
            out[name].append(
                Commit(
                    table=name,
                    schema=version.schema,
                    name=version.name,
                    table_id=version.table_id,
                    snapshot_id=int(snap),
                    time=_utc(when),
                    operations=tuple(op for op in found if op != "compacted"),
                    author=author,
                    message=message,
                )
            )
    return out


def _int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _utc(when: dt.datetime | str) -> dt.datetime:
    value = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _alive(begin: int, end: int | None, snap: int) -> bool:
    return begin <= snap and (end is None or end > snap)


class TableFiles:
    """The data files, delete files and columns every id of one table has had."""

    def __init__(
        self,
        versions: list[TableVersion],
        data: list[tuple[int, int, int, int | None, int, int, int | None]],
        deletes: list[tuple[int, int, int, int | None, int, int, int | None]],
        columns: list[tuple[int, int, str, str, int, int | None, int]],
        inlined: set[int],
        paths: dict[int, str | None] | None = None,
    ) -> None:
        self.versions = versions
        self.paths = paths or {}
        self.data = data
        self.deletes = deletes
        self.columns = columns
        self.inlined = inlined

    @classmethod
    def read(cls, lake: LakeMeta, versions: list[TableVersion]) -> TableFiles:
        """Read them in three queries."""
        ids = [v.table_id for v in versions]
        marks = ", ".join("?" for _ in ids)
        files = lake.query(
            f"SELECT 'd', table_id, data_file_id, begin_snapshot, end_snapshot, record_count, "
            f"file_size_bytes, row_id_start, path, path_is_relative, encryption_key IS NULL "
            f"FROM {lake.table('ducklake_data_file')} WHERE table_id IN ({marks}) "
            f"UNION ALL SELECT 'x', table_id, data_file_id, begin_snapshot, end_snapshot, "
            f"delete_count, file_size_bytes, NULL, NULL, NULL, NULL "
            f"FROM {lake.table('ducklake_delete_file')} "
            f"WHERE table_id IN ({marks})",
            ids + ids,
        )
        columns = lake.query(
            f"SELECT table_id, column_id, column_name, column_type, begin_snapshot, "
            f"end_snapshot, column_order FROM {lake.table('ducklake_column')} "
            f"WHERE table_id IN ({marks}) AND parent_column IS NULL",
            ids,
        )
        inlined = lake.query(
            f"SELECT DISTINCT table_id FROM {lake.table('ducklake_inlined_data_tables')} "
            f"WHERE table_id IN ({marks})",
            ids,
        )
        norm = [
            (int(t), int(f), int(b), _int(e), int(n or 0), int(s or 0), _int(r))
            for _k, t, f, b, e, n, s, r, *_ in files
        ]
        kinds = [r[0] for r in files]
        folders = {v.table_id: v.folder for v in versions}
        paths = {
            int(f): _join(folders.get(int(t)), p, rel) if plain else None
            for k, t, f, *_, p, rel, plain in files
            if k == "d"
        }
        return cls(
            versions,
            [r for r, k in zip(norm, kinds, strict=True) if k == "d"],
            [r for r, k in zip(norm, kinds, strict=True) if k == "x"],
            [
                (int(t), int(c), str(n), str(ty), int(b), _int(e), int(o))
                for t, c, n, ty, b, e, o in columns
            ],
            {int(r[0]) for r in inlined},
            paths,
        )

    def version_at(self, snapshot_id: int) -> TableVersion | None:
        """The id the table had at a snapshot."""
        return next((v for v in self.versions if v.alive(snapshot_id)), None)

    def totals(self, snapshot_id: int) -> tuple[int, int]:
        """(rows, bytes) at a snapshot: live data files minus their deleted rows."""
        version = self.version_at(snapshot_id)
        if version is None:
            return 0, 0
        rows = size = 0
        live: set[int] = set()
        for tid, fid, begin, end, count, nbytes, _row in self.data:
            if tid == version.table_id and _alive(begin, end, snapshot_id):
                live.add(fid)
                rows += count
                size += nbytes
        for tid, fid, begin, end, count, nbytes, _row in self.deletes:  # of live files only
            if tid == version.table_id and fid in live and _alive(begin, end, snapshot_id):
                rows -= count
                size += nbytes
        return rows, size

    def volume(self, commit: Commit) -> Volume:
        """Rows added, deleted and in total, and bytes, at a commit.

        ``rows_added`` are the rows of the files the commit wrote, ``rows_deleted`` what
        makes the totals add up (an overwrite deletes the previous total).
        """
        total, size = self.totals(commit.snapshot_id)
        before, _ = self.totals(commit.snapshot_id - 1)
        files = [
            (fid, count, row)
            for tid, fid, begin, _end, count, _size, row in self.data
            if tid == commit.table_id and begin == commit.snapshot_id
        ]
        added = sum(n for _, n, _r in files)
        return Volume(
            rows_added=added,
            rows_deleted=max(0, before + added - total),
            rows_total=total,
            bytes=size,
            added_files=tuple(f for f, _n, _r in files),
            inlined=bool(self.inlined),
            row_ranges=tuple((r, n) for _f, n, r in files if r is not None and n),
            paths=tuple(self.paths.get(f) for f, _n, _r in files),
        )

    def schema(self, commit: Commit) -> list[tuple[int, str, str]]:
        """``(column_id, name, DuckLake type)`` of the top-level columns at a commit."""
        cols = [
            (order, cid, name, ctype)
            for tid, cid, name, ctype, begin, end, order in self.columns
            if tid == commit.table_id and _alive(begin, end, commit.snapshot_id)
        ]
        return [(cid, name, ctype) for _o, cid, name, ctype in sorted(cols)]


def file_column_stats(
    lake: LakeMeta, files: list[int]
) -> dict[int, dict[int, tuple[int, str | None, str | None]]]:
    """Per data file and column id: nulls, min and max (as text), as DuckLake recorded them.

    Min and max of text columns are raw values: callers keep them only for numbers and times.
    """
    if not files:
        return {}
    rows = lake.query(
        f"SELECT data_file_id, column_id, null_count, min_value, max_value "
        f"FROM {lake.table('ducklake_file_column_stats')} "
        f"WHERE data_file_id IN ({', '.join('?' for _ in files)})",
        files,
    )
    out: dict[int, dict[int, tuple[int, str | None, str | None]]] = defaultdict(dict)
    for fid, cid, nulls, low, high in rows:
        if nulls is not None:
            out[int(fid)][int(cid)] = (int(nulls), low, high)
    return dict(out)


def merge_stats(
    stats: dict[int, dict[int, tuple[int, str | None, str | None]]], files: tuple[int, ...]
) -> dict[int, tuple[int, str | None, str | None]]:
    """Per column id, over the given files: nulls, min and max (compared as numbers when
    both are numbers, else as text, which orders ISO dates and times correctly)."""
    out: dict[int, tuple[int, str | None, str | None]] = {}
    for fid in files:
        for cid, (nulls, low, high) in stats.get(fid, {}).items():
            n, lo, hi = out.get(cid, (0, None, None))
            out[cid] = (n + nulls, _pick(lo, low, -1), _pick(hi, high, 1))
    return out


def _pick(current: str | None, new: str | None, sign: int) -> str | None:
    if current is None or new is None:
        return new if current is None else current
    try:
        a, b = float(current), float(new)
    except ValueError:
        return new if (new > current) == (sign > 0) else current
    return new if (b > a) == (sign > 0) else current
