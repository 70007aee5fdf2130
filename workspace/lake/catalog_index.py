"""An in-memory index of every table, its columns and annotations, cached per snapshot.

Listing and searching the catalog through DuckDB's ``duckdb_tables()``/``duckdb_columns()``
walks every DuckLake table entry: about half a second on a lake of 10,000 tables. The
index instead reads the DuckLake metadata tables of each attached catalog
(``__ducklake_metadata_<alias>``, on SQLite and PostgreSQL alike) in two set-based queries,
plus the annotations table, and keeps the result per process, keyed on the catalog and its
current snapshot. A call then costs one "current snapshot" query per catalog and filtering
in memory; a commit by any process (a new snapshot) rebuilds that catalog's part on the
next call.

The lake and the sandbox are cached separately, so a write to your sandbox does not
re-read the shared lake. What the index holds (entries, parts, the search helpers) is
defined in :mod:`workspace.lake.catalog_entries` and importable from here too.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence

import duckdb

from workspace.lake import metadata as ann
from workspace.lake.catalog_entries import (
    CatalogIndex,
    CatalogPart,
    Entry,
    PartState,
)
from workspace.lake.catalog_entries import like_regex as like_regex
from workspace.lake.catalog_entries import search_words as search_words
from workspace.lake.engine import LAKE, LAYERS, META_SCHEMA, SANDBOX, attach_string
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings
from workspace.lake.snapshots import metadata_tables

log = logging.getLogger(__name__)

#: Layers in the order the catalog browser shows them.
LAYER_ORDER: tuple[str, ...] = (*LAYERS, "sandbox")

# -- loading ------------------------------------------------------------------------------
_parts: dict[str, CatalogPart] = {}
_indexes: dict[tuple[str, ...], CatalogIndex] = {}
_cache_lock = threading.Lock()

#: More changed metadata rows than this since the cached snapshot: rebuild instead.
REFRESH_MAX_ROWS = 2000


def cache_key(settings: Settings, alias: str) -> str:
    """Identity of an attached catalog: its ATTACH target and options."""
    target, options = attach_string(settings, sandbox=alias == SANDBOX)
    return json.dumps([alias, target, sorted(options.items())])


class IndexReader:
    """Gives the current :class:`CatalogIndex` of one connection's lake and sandbox.

    Which catalogs are attached, and where their metadata lives, is found once; after
    that each :meth:`index` call costs one small query while nothing was committed (in any
    process), else the catalogs that changed are brought up to date (:func:`refresh_part`).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
        self._con = con
        attached = {
            r[0]
            for r in con.execute(
                "SELECT database_name FROM duckdb_databases() WHERE database_name IN (?, ?)",
                [LAKE, SANDBOX],
            ).fetchall()
        }
        self.aliases = tuple(a for a in (LAKE, SANDBOX) if a in attached)
        self._keys = tuple(cache_key(settings, a) for a in self.aliases)
        self._metas = {a: metadata_tables(con, a) for a in self.aliases}
        selects = []
        for alias in self.aliases:
            selects.append(f'(SELECT id FROM "{alias}".current_snapshot())')
            selects.append(
                f"(SELECT min(schema_uuid) FROM {self._metas[alias]}.ducklake_schema "
                "WHERE schema_id = 0)"
            )
        self._token_sql = "SELECT " + ", ".join(selects) if selects else ""

    def tokens(self) -> list[tuple[int, str]]:
        """Per catalog: its current snapshot id and the uuid of its ``main`` schema.

        The uuid tells a catalog recreated at the same place (which restarts its snapshot
        ids) from the one cached. All catalogs are asked in one statement.
        """
        if not self._token_sql:
            return []
        # fetchall, not fetchone: a result left open keeps the SQLite catalog locked,
        # and other processes' commits would fail with "database is locked".
        (row,) = self._con.execute(self._token_sql).fetchall()
        return [(int(row[2 * i]), str(row[2 * i + 1])) for i in range(len(self.aliases))]

    def index(self) -> CatalogIndex:
        """The index at the catalogs' current snapshots."""
        tokens = self.tokens()
        with _cache_lock:
            index = _indexes.get(self._keys)
        if index is not None and [p.token for p in index.parts] == tokens:
            return index
        parts = []
        for alias, key, token in zip(self.aliases, self._keys, tokens, strict=True):
            with _cache_lock:
                part = _parts.get(key)
            if part is None or part.token != token:
                part = refresh_part(self._con, alias, token, part, meta=self._metas[alias])
                with _cache_lock:
                    _parts[key] = part
            parts.append(part)
        index = CatalogIndex(tuple(parts))
        with _cache_lock:
            _indexes[self._keys] = index
        return index


def clear_cache() -> None:
    """Forget every cached index (the next call reads the catalogs again)."""
    with _cache_lock:
        _parts.clear()
        _indexes.clear()


# How the index reads DuckLake's metadata. Every object (schema, table, view, column) has
# one row per version, valid from its ``begin_snapshot`` to before its ``end_snapshot``
# (NULL: still valid). Ids are never reused, and at any snapshot at most one row of an
# object is valid.
_ALIVE = "begin_snapshot <= $snap AND (end_snapshot IS NULL OR end_snapshot > $snap)"
_CHANGED = (
    "((begin_snapshot > $since AND begin_snapshot <= $snap) "
    "OR (end_snapshot > $since AND end_snapshot <= $snap))"
)


def _ref(state: PartState, alias: str, schema_id: int, name: str) -> TableRef | None:
    schema = state.schemas.get(schema_id)
    if schema is None or schema == META_SCHEMA:
        return None
    return TableRef(alias, schema, name)


def _notes_table(schemas: dict[int, str], tables: dict[int, tuple[int, str]]) -> int | None:
    for table_id, (schema_id, name) in tables.items():
        if name == ann.ANNOTATIONS_TABLE and schemas.get(schema_id) == META_SCHEMA:
            return table_id
    return None


def _entry(ref: TableRef, columns: Sequence[str], notes: dict[str, ann.TableAnnotation]) -> Entry:
    return Entry(ref, columns, notes.get(f"{ref.schema}.{ref.name}", _NO_NOTES))


_NO_NOTES = ann.TableAnnotation()


def _column_names(columns: dict[int, tuple[int, str]]) -> list[str]:
    return [name for _, name in sorted(columns.values())]


def load_part(
    con: duckdb.DuckDBPyConnection, alias: str, token: tuple[int, str], *, meta: str | None = None
) -> CatalogPart:
    """Read the tables, views, columns and annotations of one catalog at ``token``'s snapshot.

    Everything is read *at* that snapshot (``begin_snapshot <= s < end_snapshot``), so a
    commit by another process between these queries cannot mix two versions.
    """
    snap = token[0]
    meta = meta or metadata_tables(con, alias)
    params = {"snap": snap}
    objects = con.execute(
        f"""
        SELECT 's', schema_id, NULL, schema_name FROM {meta}.ducklake_schema WHERE {_ALIVE}
        UNION ALL
        SELECT 't', table_id, schema_id, table_name FROM {meta}.ducklake_table WHERE {_ALIVE}
        UNION ALL
        SELECT 'v', view_id, schema_id, view_name FROM {meta}.ducklake_view WHERE {_ALIVE}
        UNION ALL
        SELECT 'n', schema_version, NULL, NULL FROM {meta}.ducklake_snapshot
        WHERE snapshot_id = $snap
        """,
        params,
    ).fetchall()
    schemas: dict[int, str] = {}
    tables: dict[int, tuple[int, str]] = {}
    views: dict[int, tuple[int, str]] = {}
    schema_version = -1
    for kind, oid, schema_id, name in objects:
        if kind == "s":
            schemas[oid] = name
        elif kind == "t":
            tables[oid] = (schema_id, name)
        elif kind == "v":
            views[oid] = (schema_id, name)
        else:
            schema_version = int(oid)
    # Grouped in Python: on a SQLite catalog an ordered list() aggregate costs more than
    # the scan itself.
    cols = con.execute(
        f"""
        SELECT table_id, column_id, column_order, column_name FROM {meta}.ducklake_column
        WHERE parent_column IS NULL AND {_ALIVE}
        """,
        params,
    ).fetchnumpy()
    columns: dict[int, dict[int, tuple[int, str]]] = {}
    for table_id, column_id, order, name in zip(
        cols["table_id"].tolist(),
        cols["column_id"].tolist(),
        cols["column_order"].tolist(),
        cols["column_name"].tolist(),
        strict=True,
    ):
        columns.setdefault(table_id, {})[column_id] = (order, name)
    notes_table = _notes_table(schemas, tables)
    notes = _annotations(con, alias, snap) if notes_table is not None else {}
    state = PartState(schema_version, schemas, tables, views, columns, {}, notes, notes_table, {})
    entries = state.entries
    for table_id, (schema_id, name) in tables.items():
        ref = _ref(state, alias, schema_id, name)
        if ref is not None:
            entries[("t", table_id)] = _entry(ref, _column_names(columns.get(table_id, {})), notes)
    _load_views(con, alias, state, state.entries)
    return CatalogPart(alias, token, tuple(entries.values()), state, "full")


def _load_views(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    state: PartState,
    entries: dict[tuple[str, int], Entry],
) -> None:
    """(Re)describe every view of ``state`` into ``state.view_columns`` and ``entries``."""
    state.view_columns.clear()
    for view_id, (schema_id, name) in state.views.items():
        ref = _ref(state, alias, schema_id, name)
        if ref is None:
            continue
        state.view_columns[view_id] = cols = tuple(_describe(con, ref))
        entries[("v", view_id)] = _entry(ref, cols, state.notes)


def refresh_part(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    token: tuple[int, str],
    cached: CatalogPart | None,
    *,
    meta: str | None = None,
) -> CatalogPart:
    """``cached`` brought to ``token``'s snapshot, reading only what changed since its own.

    Falls back to :func:`load_part` whenever the changes cannot be trusted to be complete:
    nothing (usable) cached, another catalog at the same place (the uuid differs), an
    older snapshot, snapshots in between expired (``ducklake_expire_snapshots`` deletes
    the rows no remaining snapshot sees, so a drop could go unnoticed), or more than
    :data:`REFRESH_MAX_ROWS` changed rows.
    """
    meta = meta or metadata_tables(con, alias)
    if cached is None or cached.state is None or cached.token[1] != token[1]:
        return load_part(con, alias, token, meta=meta)
    since, snap = cached.token[0], token[0]
    if snap <= since:
        return load_part(con, alias, token, meta=meta)
    old = cached.state
    params = {"since": since, "snap": snap}
    snaps = con.execute(
        f"""
        SELECT s.snapshot_id, s.schema_version, c.changes_made
        FROM {meta}.ducklake_snapshot s
        LEFT JOIN {meta}.ducklake_snapshot_changes c ON c.snapshot_id = s.snapshot_id
        WHERE s.snapshot_id >= $since AND s.snapshot_id <= $snap
        """,
        params,
    ).fetchall()
    versions = {int(r[0]): int(r[1]) for r in snaps}
    if len(versions) != snap - since + 1 or versions[since] != old.schema_version:
        log.debug("catalog index of %s: snapshots expired since %s, rebuilding", alias, since)
        return load_part(con, alias, token, meta=meta)
    schemas, tables, views, columns = old.schemas, old.tables, old.views, old.columns
    entries = dict(old.entries)
    changed_tables: set[int] = set()
    changes = [_changes(c) for s, _, c in snaps if s > since]
    # a DDL commit raises the schema version; a change of another kind would be a surprise
    structure = versions[snap] != old.schema_version or any(
        c is None or any(kind not in DATA_CHANGES for kind, _ in c) for c in changes
    )
    if structure:  # a DDL commit: read the rows that began or ended since
        rows = con.execute(
            f"""
            SELECT 's', schema_id, NULL, NULL, schema_name, begin_snapshot, end_snapshot
            FROM {meta}.ducklake_schema WHERE {_CHANGED}
            UNION ALL
            SELECT 't', table_id, schema_id, NULL, table_name, begin_snapshot, end_snapshot
            FROM {meta}.ducklake_table WHERE {_CHANGED}
            UNION ALL
            SELECT 'v', view_id, schema_id, NULL, view_name, begin_snapshot, end_snapshot
            FROM {meta}.ducklake_view WHERE {_CHANGED}
            UNION ALL
            SELECT 'c', table_id, column_id, column_order, column_name, begin_snapshot,
                end_snapshot
            FROM {meta}.ducklake_column WHERE parent_column IS NULL AND {_CHANGED}
            """,
            params,
        ).fetchall()
        if len(rows) > REFRESH_MAX_ROWS:
            log.debug("catalog index of %s: %d changed rows, rebuilding", alias, len(rows))
            return load_part(con, alias, token, meta=meta)
        schemas, tables, views = dict(schemas), dict(tables), dict(views)
        columns = dict(columns)
        changed_schemas: set[int] = set()
        for kind, oid, *_ in rows:
            if kind == "s":
                changed_schemas.add(oid)
            elif kind in "tc":
                changed_tables.add(oid)
        for table_id in changed_tables:  # copied before changing, the cached part is shared
            if table_id in columns:
                columns[table_id] = dict(columns[table_id])
        # first what ended (valid at `since`, not at `snap`), then what is valid at `snap`;
        # rows that began and ended in between are of no concern
        ended = [r for r in rows if r[5] <= since]
        began = [r for r in rows if r[5] > since and (r[6] is None or r[6] > snap)]
        for kind, oid, sub, _, _, _, _ in ended:
            if kind == "s":
                schemas.pop(oid, None)
            elif kind == "t":
                tables.pop(oid, None)
            elif kind == "v":
                views.pop(oid, None)
            elif oid in columns:
                columns[oid].pop(sub, None)
        for kind, oid, sub, order, name, _, _ in began:
            if kind == "s":
                schemas[oid] = name
            elif kind == "t":
                tables[oid] = (sub, name)
            elif kind == "v":
                views[oid] = (sub, name)
            else:
                columns.setdefault(oid, {})[sub] = (order, name)
        if changed_schemas:  # tables of a created, dropped or renamed schema
            for source in (old.tables, tables):
                changed_tables.update(t for t, (s, _) in source.items() if s in changed_schemas)
        for table_id in changed_tables:
            if table_id not in tables or not columns.get(table_id, True):
                columns.pop(table_id, None)  # a dropped table
    notes_table = _notes_table(schemas, tables) if structure else old.notes_table
    notes = old.notes
    if notes_table != old.notes_table or (
        notes_table is not None
        and (
            notes_table in changed_tables
            or any(c is None or (str(notes_table) in (v for _, v in c)) for c in changes)
        )
    ):
        notes = _annotations(con, alias, snap) if notes_table is not None else {}
    state = PartState(
        versions[snap],
        schemas,
        tables,
        views,
        columns,
        dict(old.view_columns),
        notes,
        notes_table,
        entries,
    )
    if notes is not old.notes:  # tables whose annotation changed
        renoted = {k for k in notes.keys() | old.notes.keys() if notes.get(k) != old.notes.get(k)}
        for key, entry in entries.items():
            if key[0] == "t" and f"{entry.ref.schema}.{entry.ref.name}" in renoted:
                changed_tables.add(key[1])
    for table_id in changed_tables:
        entries.pop(("t", table_id), None)
        row = tables.get(table_id)
        ref = _ref(state, alias, *row) if row else None
        if ref is not None:
            names = _column_names(columns.get(table_id, {}))
            entries[("t", table_id)] = _entry(ref, names, notes)
    if structure:  # a view's columns follow the tables it reads: describe them all again
        for key in [k for k in entries if k[0] == "v"]:
            del entries[key]
        _load_views(con, alias, state, entries)
    elif notes is not old.notes:
        for view_id, (schema_id, name) in views.items():
            ref = _ref(state, alias, schema_id, name)
            if ref is not None:
                entries[("v", view_id)] = _entry(ref, state.view_columns[view_id], notes)
    return CatalogPart(alias, token, tuple(entries.values()), state, "incremental")


def _annotations(
    con: duckdb.DuckDBPyConnection, alias: str, snap: int
) -> dict[str, ann.TableAnnotation]:
    rows = con.execute(
        f'SELECT table_name, doc FROM "{alias}"."{META_SCHEMA}"."{ann.ANNOTATIONS_TABLE}" '
        f"AT (VERSION => {int(snap)})"
    ).fetchall()
    out = {}
    for name, doc in rows:
        try:
            out[name] = ann.TableAnnotation.model_validate_json(doc)
        except ValueError:
            log.warning("ignoring unreadable annotation of %s.%s", alias, name)
    return out


def _describe(con: duckdb.DuckDBPyConnection, ref: TableRef) -> list[str]:
    """Columns of a view (DuckLake stores only its SQL); views are few, tables many."""
    try:
        rows = con.execute(f"DESCRIBE {ref.sql}").fetchall()
    except duckdb.Error as exc:  # a view over a dropped table still lists, without columns
        log.debug("cannot describe view %s: %s", ref.sql, exc)
        rows = []
    return [r[0] for r in rows]


#: One change of ``ducklake_snapshot_changes.changes_made``: ``kind:value`` where the value
#: is an id or a quoted name (``"schema"."table"``, quotes doubled inside).
_CHANGE = re.compile(r'([a-z_]+):((?:"(?:[^"]|"")*"\.?)+|[^,"]*)(?:,|$)')


#: Changes that touch a table's data, not the catalog's structure.
DATA_CHANGES = frozenset(
    {
        "inserted_into_table",
        "deleted_from_table",
        "compacted_table",
        "inlined_insert",
        "inlined_delete",
        "flushed_inlined",
    }
)


def _changes(text: str | None) -> list[tuple[str, str]] | None:
    """The ``(kind, value)`` pairs of one snapshot's changes; None when not understood."""
    out: list[tuple[str, str]] = []
    pos, text = 0, text or ""
    while pos < len(text):
        m = _CHANGE.match(text, pos)
        if m is None or m.end() == pos:
            return None
        out.append((m.group(1), m.group(2)))
        pos = m.end()
    return out
