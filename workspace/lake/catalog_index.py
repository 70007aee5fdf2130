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
re-read the shared lake.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from workspace.lake import metadata as ann
from workspace.lake.engine import LAKE, LAYERS, META_SCHEMA, SANDBOX, attach_string
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings
from workspace.lake.snapshots import metadata_tables

log = logging.getLogger(__name__)

#: Layers in the order the catalog browser shows them.
LAYER_ORDER: tuple[str, ...] = (*LAYERS, "sandbox")

#: Search score of a match in the name, a tag, the description and a column.
SCORE_NAME, SCORE_TAG, SCORE_DESCRIPTION, SCORE_COLUMN = 8, 4, 2, 1

#: How many search results each index keeps (for paging through them).
SEARCHES_KEPT = 32


class Entry:
    """One table (or view) of the index, with its searchable texts lower-cased once.

    ``haystack`` is every searchable text of the table joined by newlines (which no search
    word contains), so "can this word match at all" is one substring test.
    """

    __slots__ = (
        "_cols",
        "_desc",
        "_name",
        "annotation",
        "columns",
        "display",
        "haystack",
        "layer",
        "ref",
    )

    def __init__(
        self, ref: TableRef, columns: Sequence[str], annotation: ann.TableAnnotation
    ) -> None:
        self.ref = ref
        self.display = ref.display
        self.layer = ref.layer
        self.columns = tuple(columns)
        self.annotation = annotation
        # per column: its name and everything a word can match in it (name, description)
        described = {c: n.description for c, n in annotation.columns.items() if n.description}
        if described:
            self._cols = tuple(
                (c, f"{c}\n{described[c]}".lower() if c in described else c.lower())
                for c in self.columns
            )
        else:  # most tables: no column notes
            self._cols = tuple(zip(self.columns, map(str.lower, self.columns), strict=True))
        self._name = self.display.lower()
        self._desc = (annotation.description or "").lower()
        self.haystack = "\n".join(
            (self._name, *annotation.tags, self._desc, *(text for _, text in self._cols))
        )

    def score(self, words: Sequence[str]) -> int:
        """The search score, or 0 when some word matches nowhere.

        A word matches the name, a tag, the description, a column name or a column's
        description, as a case-insensitive substring; each place adds its weight.
        """
        total = 0
        for word in words:
            if word not in self.haystack:
                return 0
            score = SCORE_NAME if word in self._name else 0
            for tag in self.annotation.tags:
                if word in tag:
                    score += SCORE_TAG
            if word in self._desc:
                score += SCORE_DESCRIPTION
            for _, text in self._cols:
                if word in text:
                    score += SCORE_COLUMN
            if not score:
                return 0
            total += score
        return total

    def matched(self, words: Sequence[str]) -> list[str]:
        """Where the words matched: ``name``, ``tag <tag>``, ``description``, ``column <c>``."""
        out: list[str] = []
        for word in words:
            if word in self._name:
                out.append("name")
            out.extend(f"tag {tag}" for tag in self.annotation.tags if word in tag)
            if word in self._desc:
                out.append("description")
            out.extend(f"column {col}" for col, text in self._cols if word in text)
        return list(dict.fromkeys(out))


@dataclass(frozen=True)
class CatalogPart:
    """The tables of one attached catalog (lake or sandbox) at one snapshot."""

    alias: str
    token: tuple[int, str]
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class CatalogIndex:
    """Every table of the lake and the sandbox, in the orders the catalog API needs.

    ``by_catalog`` is the order of :meth:`Catalog.list` (catalog, schema, name);
    ``by_name`` sorts by the displayed name (``bronze.a`` < ``gold.b`` < ``sandbox.c``);
    ``by_layer`` holds the same order per layer.
    """

    parts: tuple[CatalogPart, ...]
    by_catalog: tuple[Entry, ...] = field(init=False)
    by_name: tuple[Entry, ...] = field(init=False)
    by_layer: dict[str, tuple[Entry, ...]] = field(init=False)
    _searches: OrderedDict[tuple[str | None, tuple[str, ...]], list[tuple[Entry, int]]] = field(
        init=False, default_factory=OrderedDict, repr=False
    )
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        entries = [e for part in self.parts for e in part.entries]
        by_name = tuple(sorted(entries, key=lambda e: e.display))
        layers: dict[str, list[Entry]] = {}
        for e in by_name:
            layers.setdefault(e.layer, []).append(e)
        object.__setattr__(
            self,
            "by_catalog",
            tuple(sorted(entries, key=lambda e: (e.ref.catalog, e.ref.schema, e.ref.name))),
        )
        object.__setattr__(self, "by_name", by_name)
        object.__setattr__(self, "by_layer", {k: tuple(v) for k, v in layers.items()})

    def entries(self, layer: str | None = None) -> tuple[Entry, ...]:
        """Entries sorted by displayed name, optionally of one layer."""
        return self.by_name if layer is None else self.by_layer.get(layer, ())

    def search(self, words: Sequence[str], layer: str | None = None) -> list[tuple[Entry, int]]:
        """Entries matching every word with their scores, best first (score, then name).

        The last few searches are kept, so paging through one result costs only the page.
        """
        key = (layer, tuple(words))
        with self._lock:
            hits = self._searches.get(key)
            if hits is not None:
                self._searches.move_to_end(key)
                return hits
        hits = []
        for entry in self.entries(layer):
            score = entry.score(words)
            if score:
                hits.append((entry, score))
        hits.sort(key=lambda h: (-h[1], h[0].display))
        with self._lock:
            self._searches[key] = hits
            while len(self._searches) > SEARCHES_KEPT:
                self._searches.popitem(last=False)
        return hits


def search_words(text: str) -> list[str]:
    """The lower-cased words of a search text."""
    return [w.lower() for w in str(text).split()]


def like_regex(like: str) -> re.Pattern[str]:
    """A regex equivalent to ``ILIKE like`` (``%``: any text, ``_``: one character).

    Plain text without wildcards means "contains".

    >>> bool(like_regex("cust").fullmatch("customers")), bool(like_regex("rev%").fullmatch("x_rev"))
    (True, False)
    """
    pattern = like if any(ch in like for ch in "%_") else f"%{like}%"
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL)


# -- loading ------------------------------------------------------------------------------
_parts: dict[str, CatalogPart] = {}
_indexes: dict[tuple[str, ...], CatalogIndex] = {}
_cache_lock = threading.Lock()


def cache_key(settings: Settings, alias: str) -> str:
    """Identity of an attached catalog: its ATTACH target and options."""
    target, options = attach_string(settings, sandbox=alias == SANDBOX)
    return json.dumps([alias, target, sorted(options.items())])


class IndexReader:
    """Gives the current :class:`CatalogIndex` of one connection's lake and sandbox.

    Which catalogs are attached, and where their metadata lives, is found once; after
    that each :meth:`index` call costs one small query while nothing was committed (in any
    process), else the catalogs that changed are read again.
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
                part = load_part(self._con, alias, token, meta=self._metas[alias])
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


def load_part(
    con: duckdb.DuckDBPyConnection, alias: str, token: tuple[int, str], *, meta: str | None = None
) -> CatalogPart:
    """Read the tables, views, columns and annotations of one catalog at ``token``'s snapshot.

    Everything is read *at* that snapshot (``begin_snapshot <= s < end_snapshot``), so a
    commit by another process between these queries cannot mix two versions.
    """
    snap = token[0]
    meta = meta or metadata_tables(con, alias)
    alive = "{t}.begin_snapshot <= $snap AND ({t}.end_snapshot IS NULL OR {t}.end_snapshot > $snap)"
    params = {"snap": snap}
    objects = con.execute(
        f"""
        SELECT s.schema_name, t.table_name, t.table_id FROM {meta}.ducklake_table t
        JOIN {meta}.ducklake_schema s ON s.schema_id = t.schema_id AND {alive.format(t="s")}
        WHERE {alive.format(t="t")}
        UNION ALL
        SELECT s.schema_name, v.view_name, NULL FROM {meta}.ducklake_view v
        JOIN {meta}.ducklake_schema s ON s.schema_id = v.schema_id AND {alive.format(t="s")}
        WHERE {alive.format(t="v")}
        """,
        params,
    ).fetchall()
    # Grouped in Python: on a SQLite catalog an ordered list() aggregate costs more than
    # the scan itself.
    cols = con.execute(
        f"""
        SELECT c.table_id, c.column_name FROM {meta}.ducklake_column c
        WHERE c.parent_column IS NULL AND {alive.format(t="c")}
        ORDER BY c.table_id, c.column_order
        """,
        params,
    ).fetchnumpy()
    columns: dict[int, list[str]] = {}
    for table_id, column in zip(
        cols["table_id"].tolist(), cols["column_name"].tolist(), strict=True
    ):
        columns.setdefault(table_id, []).append(column)
    tables = [(s, t, columns.get(i, [])) for s, t, i in objects if i is not None]
    views = [(s, t) for s, t, i in objects if i is None]
    has_notes = any(s == META_SCHEMA and t == ann.ANNOTATIONS_TABLE for s, t, _ in tables)
    notes = _annotations(con, alias, snap) if has_notes else {}
    view_columns = _view_columns(con, alias, views) if views else {}
    default = ann.TableAnnotation()
    entries = []
    for schema, name, names in [*tables, *((s, v, view_columns[(s, v)]) for s, v in views)]:
        if schema != META_SCHEMA:
            ref = TableRef(alias, schema, name)
            entries.append(Entry(ref, names, notes.get(f"{schema}.{name}", default)))
    return CatalogPart(alias, token, tuple(entries))


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


def _view_columns(
    con: duckdb.DuckDBPyConnection, alias: str, views: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[str]]:
    """Columns of views (DuckLake stores only their SQL); views are few, tables many."""
    out: dict[tuple[str, str], list[str]] = {}
    for schema, view in views:
        try:
            rows = con.execute(f'DESCRIBE "{alias}"."{schema}"."{view}"').fetchall()
        except duckdb.Error as exc:  # a view over a dropped table still lists, without columns
            log.debug("cannot describe view %s.%s.%s: %s", alias, schema, view, exc)
            rows = []
        out[(schema, view)] = [r[0] for r in rows]
    return out
