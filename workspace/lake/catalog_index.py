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
from collections.abc import Iterable, Sequence
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

#: The DuckLake table in ``_workspace`` holding annotations (see :mod:`.metadata`).
ANNOTATIONS_TABLE = "annotations"


@dataclass(frozen=True, slots=True)
class Entry:
    """One table (or view) of the index.

    ``haystack`` is every searchable text of the table, lower-cased and joined by newlines
    (which no search word contains), so "can this word match at all" is one substring test.
    """

    ref: TableRef
    display: str
    layer: str
    columns: tuple[str, ...]
    annotation: ann.TableAnnotation
    haystack: str

    @classmethod
    def build(cls, ref: TableRef, columns: Sequence[str], annotation: ann.TableAnnotation) -> Entry:
        notes = [
            n.description for c, n in annotation.columns.items() if n.description and c in columns
        ]
        parts = [ref.display, *annotation.tags, annotation.description or "", *columns, *notes]
        return cls(
            ref=ref,
            display=ref.display,
            layer=ref.layer,
            columns=tuple(columns),
            annotation=annotation,
            haystack="\n".join(parts).lower(),
        )

    def match(self, words: Sequence[str]) -> tuple[list[str], int] | None:
        """Where every (lower-case) word matched and the score, or ``None`` if one did not.

        A word matches the name, a tag, the description, a column name or a column's
        description, as a case-insensitive substring. Name matches score highest.
        """
        if not all(w in self.haystack for w in words):
            return None
        a = self.annotation
        name = self.display.lower()
        description = (a.description or "").lower()
        matched: list[str] = []
        score = 0
        for word in words:
            found = False
            if word in name:
                matched.append("name")
                score += SCORE_NAME
                found = True
            for tag in a.tags:
                if word in tag:
                    matched.append(f"tag {tag}")
                    score += SCORE_TAG
                    found = True
            if word in description:
                matched.append("description")
                score += SCORE_DESCRIPTION
                found = True
            for col in self.columns:
                note = a.columns.get(col)
                if word in col.lower() or (
                    note is not None and note.description and word in note.description.lower()
                ):
                    matched.append(f"column {col}")
                    score += SCORE_COLUMN
                    found = True
            if not found:
                return None
        return list(dict.fromkeys(matched)), score


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

    def search(
        self, words: Sequence[str], layer: str | None = None
    ) -> list[tuple[Entry, list[str], int]]:
        """Entries matching every word, best first (score, then name)."""
        hits = []
        for entry in self.entries(layer):
            found = entry.match(words)
            if found is not None:
                hits.append((entry, found[0], found[1]))
        hits.sort(key=lambda h: (-h[2], h[0].display))
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
_cache: dict[str, CatalogPart] = {}
_cache_lock = threading.Lock()


def cache_key(settings: Settings, alias: str) -> str:
    """Identity of an attached catalog: its ATTACH target and options."""
    target, options = attach_string(settings, sandbox=alias == SANDBOX)
    return json.dumps([alias, target, sorted(options.items())])


def current_index(con: duckdb.DuckDBPyConnection, settings: Settings) -> CatalogIndex:
    """The index of the lake and the sandbox at their current snapshots.

    Costs one small query while nothing was committed since the last call (in any process);
    otherwise the catalogs that changed are read again.
    """
    attached = {
        r[0]
        for r in con.execute(
            "SELECT database_name FROM duckdb_databases() WHERE database_name IN (?, ?)",
            [LAKE, SANDBOX],
        ).fetchall()
    }
    aliases = [a for a in (LAKE, SANDBOX) if a in attached]
    tokens = current_tokens(con, aliases)
    parts = []
    for alias in aliases:
        key = cache_key(settings, alias)
        with _cache_lock:
            part = _cache.get(key)
        if part is None or part.token != tokens[alias]:
            part = load_part(con, alias, tokens[alias])
            with _cache_lock:
                _cache[key] = part
        parts.append(part)
    return CatalogIndex(tuple(parts))


def clear_cache() -> None:
    """Forget every cached index (the next call reads the catalogs again)."""
    with _cache_lock:
        _cache.clear()


def current_tokens(
    con: duckdb.DuckDBPyConnection, aliases: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """Per catalog: its current snapshot id and the uuid of its ``main`` schema.

    The uuid tells a catalog recreated at the same place (which restarts its snapshot ids)
    from the one cached. All catalogs are asked in one statement.
    """
    aliases = list(aliases)
    if not aliases:
        return {}
    selects = []
    for alias in aliases:
        meta = metadata_tables(con, alias)
        selects.append(f'(SELECT id FROM "{alias}".current_snapshot())')
        selects.append(f"(SELECT min(schema_uuid) FROM {meta}.ducklake_schema WHERE schema_id = 0)")
    row = con.execute("SELECT " + ", ".join(selects)).fetchone()
    assert row is not None
    return {alias: (int(row[2 * i]), str(row[2 * i + 1])) for i, alias in enumerate(aliases)}


def load_part(con: duckdb.DuckDBPyConnection, alias: str, token: tuple[int, str]) -> CatalogPart:
    """Read the tables, views, columns and annotations of one catalog at ``token``'s snapshot.

    Everything is read *at* that snapshot (``begin_snapshot <= s < end_snapshot``), so a
    commit by another process between these queries cannot mix two versions.
    """
    snap = token[0]
    meta = metadata_tables(con, alias)
    alive = "{t}.begin_snapshot <= $snap AND ({t}.end_snapshot IS NULL OR {t}.end_snapshot > $snap)"
    tables = con.execute(
        f"""
        SELECT s.schema_name, t.table_name,
               list(c.column_name ORDER BY c.column_order)
                   FILTER (WHERE c.column_name IS NOT NULL) AS columns
        FROM {meta}.ducklake_table t
        JOIN {meta}.ducklake_schema s
          ON s.schema_id = t.schema_id AND {alive.format(t="s")}
        LEFT JOIN {meta}.ducklake_column c
          ON c.table_id = t.table_id AND c.parent_column IS NULL AND {alive.format(t="c")}
        WHERE {alive.format(t="t")}
        GROUP BY ALL
        """,
        {"snap": snap},
    ).fetchall()
    views = con.execute(
        f"""
        SELECT s.schema_name, v.view_name FROM {meta}.ducklake_view v
        JOIN {meta}.ducklake_schema s
          ON s.schema_id = v.schema_id AND {alive.format(t="s")}
        WHERE {alive.format(t="v")}
        """,
        {"snap": snap},
    ).fetchall()
    has_notes = any(s == META_SCHEMA and t == ANNOTATIONS_TABLE for s, t, _ in tables)
    notes = _annotations(con, alias, snap) if has_notes else {}
    view_columns = _view_columns(con, alias, views) if views else {}
    default = ann.TableAnnotation()
    entries = []
    for schema, name, columns in [*tables, *((s, v, None) for s, v in views)]:
        if schema == META_SCHEMA:
            continue
        ref = TableRef(alias, schema, name)
        cols = columns if columns is not None else view_columns.get((schema, name), [])
        entries.append(Entry.build(ref, cols, notes.get(f"{schema}.{name}", default)))
    return CatalogPart(alias, token, tuple(entries))


def _annotations(
    con: duckdb.DuckDBPyConnection, alias: str, snap: int
) -> dict[str, ann.TableAnnotation]:
    rows = con.execute(
        f'SELECT table_name, doc FROM "{alias}"."{META_SCHEMA}"."{ANNOTATIONS_TABLE}" '
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
