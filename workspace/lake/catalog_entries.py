"""The catalog index's in-memory model: one :class:`Entry` per table, scored searches.

:mod:`workspace.lake.catalog_index` builds these from the DuckLake metadata tables and
caches them per snapshot; this module holds what it builds (entries, per-catalog parts and
the state a part was built from, the whole index) and the search-text helpers.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from workspace.lake import metadata as ann
from workspace.lake.names import TableRef

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
    #: what it was built from, for the next refresh (None: rebuild next time)
    state: PartState | None = field(default=None, compare=False, repr=False)
    #: how it was made: ``full`` (every table read) or ``incremental`` (only changes)
    how: str = field(default="full", compare=False)


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
        by_name = tuple(sorted(entries, key=lambda e: (e.display, e.ref.catalog, e.ref.schema)))
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


@dataclass(frozen=True)
class PartState:
    """What a part was built from, at its snapshot: enough to apply later changes.

    Treated as immutable: a refresh copies what it changes.
    """

    schema_version: int
    schemas: dict[int, str]  # schema_id -> name
    tables: dict[int, tuple[int, str]]  # table_id -> (schema_id, name)
    views: dict[int, tuple[int, str]]  # view_id -> (schema_id, name)
    #: table_id -> column_id -> (column_order, name); top-level columns only
    columns: dict[int, dict[int, tuple[int, str]]]
    view_columns: dict[int, tuple[str, ...]]
    notes: dict[str, ann.TableAnnotation]
    #: the table id of ``_workspace.annotations`` (None: there is none)
    notes_table: int | None
    #: ("t", table_id) or ("v", view_id) -> its entry
    entries: dict[tuple[str, int], Entry]
