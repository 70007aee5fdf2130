"""The names SQL completion offers: the lake's tables and columns, DuckDB's words.

:class:`Names` holds every table (``layer.name``) of the lake and the sandbox with its
columns, sorted for prefix search by bisection; :func:`workspace_names` builds it from the
lake's catalog index (:mod:`workspace.lake.catalog_index`) once per catalog snapshot, so
on a lake of 10,000 tables a completion costs the index's one "current snapshot" query and
two bisections. :class:`Vocabulary` holds the keywords and function names, read once per
process from DuckDB itself (:func:`duckdb_vocabulary`). :func:`frame_columns` gives the
columns of a notebook DataFrame that SQL reads by name.
"""

from __future__ import annotations

import bisect
import functools
import re
import threading
import time
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from workspace.lake.engine import LAKE, SANDBOX

if TYPE_CHECKING:
    from workspace.lake.catalog_index import CatalogIndex, IndexReader
    from workspace.lake.workspace import Workspace

#: Layers in search-path order, for unqualified names.
SEARCH_ORDER: tuple[str, ...] = ("sandbox", "gold", "silver", "bronze")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Sorted:
    """Names sorted case-insensitively, searched by prefix with two bisections."""

    def __init__(self, names: Iterable[str]) -> None:
        pairs = sorted({(n.lower(), n) for n in names})
        self.keys = [k for k, _ in pairs]
        self.names = [n for _, n in pairs]

    def starting(self, prefix: str, limit: int | None = None) -> list[str]:
        """The names starting with ``prefix`` (case-insensitive), at most ``limit``."""
        low = prefix.lower()
        i = bisect.bisect_left(self.keys, low)
        j = bisect.bisect_left(self.keys, low + "\U0010ffff")
        return self.names[i : j if limit is None else min(j, i + limit)]


class Names:
    """The tables (``layer.name`` -> columns) that completion offers.

    Examples
    --------
    >>> names = Names({"gold.orders": ["o_id", "amount"], "sandbox.scratch": ["x"]})
    >>> names.columns_of("orders"), names.columns_of("lake.gold.orders")
    (('o_id', 'amount'), ('o_id', 'amount'))
    >>> names.tables_in("gold", "or"), names.unqualified("s")
    (['orders'], ['scratch'])
    """

    def __init__(self, tables: Mapping[str, Sequence[str]]) -> None:
        self._columns: dict[str, tuple[str, ...]] = {}
        per_layer: dict[str, list[str]] = {}
        for display, columns in tables.items():
            layer, _, name = display.partition(".")
            self._columns[f"{layer}.{name}".lower()] = tuple(columns)
            per_layer.setdefault(layer, []).append(name)
        self._layers = {layer: Sorted(names) for layer, names in per_layer.items()}
        self._unqualified = Sorted(n for names in per_layer.values() for n in names)

    @classmethod
    def from_index(cls, index: CatalogIndex) -> Names:
        """The names of a catalog index (every table and view of the lake and sandbox)."""
        return cls({e.display: e.columns for e in index.by_name})

    def tables_in(self, layer: str, prefix: str, limit: int | None = None) -> list[str]:
        """Table names of ``layer`` starting with ``prefix`` (case-insensitive)."""
        found = self._layers.get(layer.lower())
        return found.starting(prefix, limit) if found is not None else []

    def unqualified(self, prefix: str, limit: int | None = None) -> list[str]:
        """Names reachable without a layer (the search path) starting with ``prefix``."""
        return self._unqualified.starting(prefix, limit)

    def columns_of(self, name: str) -> tuple[str, ...] | None:
        """Columns of a table as SQL names it (``t``, ``gold.t``, ``lake.gold.t``)."""
        parts = [p.lower() for p in name.split(".")]
        if len(parts) == 3 and parts[0] in (LAKE, SANDBOX):
            parts = [SANDBOX if parts[0] == SANDBOX else parts[1], parts[2]]
        if len(parts) == 2:
            return self._columns.get(".".join(parts))
        if len(parts) == 1:
            for layer in SEARCH_ORDER:
                found = self._columns.get(f"{layer}.{parts[0]}")
                if found is not None:
                    return found
        return None


@dataclass(frozen=True)
class Vocabulary:
    """Keywords and function names of the SQL dialect, sorted for prefix search."""

    keywords: Sorted
    reserved: frozenset[str]
    functions: Sorted

    @classmethod
    def of(
        cls, keywords: Iterable[str], functions: Iterable[str], reserved: Iterable[str] = ()
    ) -> Vocabulary:
        """A vocabulary from word lists (tests); :func:`duckdb_vocabulary` is DuckDB's."""
        return cls(Sorted(keywords), frozenset(w.upper() for w in reserved), Sorted(functions))


@functools.cache
def duckdb_vocabulary() -> Vocabulary:
    """DuckDB's keywords and functions, read once per process from an in-memory database.

    Examples
    --------
    >>> vocabulary = duckdb_vocabulary()
    >>> "SELECT" in vocabulary.reserved, vocabulary.functions.starting("string_ag")
    (True, ['string_agg'])
    """
    con = duckdb.connect()
    try:
        words = con.execute(
            "SELECT keyword_name, keyword_category FROM duckdb_keywords()"
        ).fetchall()
        functions = con.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type IN "
            "('scalar', 'aggregate', 'macro', 'table', 'table_macro')"
        ).fetchall()
    finally:
        con.close()
    return Vocabulary(
        Sorted(w.upper() for w, _ in words),
        frozenset(w.upper() for w, category in words if category == "reserved"),
        Sorted(f for (f,) in functions if _IDENTIFIER.fullmatch(f) and not f.startswith("__")),
    )


# -- the workspace's names, per catalog snapshot ----------------------------------------------
#: Seconds a workspace's names are used without asking the catalog for its snapshot again
#: (typing sends a request per Tab, or per key with continuous hints). The kernel also
#: calls :func:`forget_names` after every cell, so its own writes show at once.
REVALIDATE_SECONDS = 2.0


@dataclass
class _Held:
    reader: IndexReader
    index: CatalogIndex | None = None
    names: Names | None = None
    checked: float = 0.0


_held: weakref.WeakKeyDictionary[Any, _Held] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def workspace_names(ws: Workspace) -> Names:
    """The tables and columns of ``ws`` (its lake and sandbox), rebuilt when anyone commits.

    Read through the catalog index on a cursor of its own (a duplicate connection), so a
    completion never replaces the result a cell left pending on ``ws.con``. Asks for the
    catalog's current snapshot (one small query) at most every :data:`REVALIDATE_SECONDS`;
    a commit since then rebuilds what changed.

    Examples
    --------
    >>> workspace_names(ws).tables_in("gold", "rev")  # doctest: +SKIP
    ['revenue_by_nation_month']
    """
    from workspace.lake.catalog_index import IndexReader

    with _lock:
        held = _held.get(ws)
        if held is None:
            held = _held[ws] = _Held(IndexReader(ws.con.cursor(), ws.settings))
        now = time.monotonic()
        if held.names is not None and now - held.checked < REVALIDATE_SECONDS:
            return held.names
        index = held.reader.index()
        if held.names is None or index is not held.index:
            held.index, held.names = index, Names.from_index(index)
        held.checked = now
        return held.names


def forget_names() -> None:
    """Ask the catalog again on the next completion (after a cell, which may have written)."""
    with _lock:
        for held in _held.values():
            held.checked = 0.0


def frame_columns(obj: object) -> list[str] | None:
    """Column names of a pandas, polars or pyarrow frame (``None`` for anything else).

    Examples
    --------
    >>> import pandas as pd
    >>> frame_columns(pd.DataFrame({"a": [1], "b": [2]})), frame_columns(42)
    (['a', 'b'], None)
    """
    module = type(obj).__module__.partition(".")[0]
    if module == "pandas" and hasattr(obj, "columns"):
        return [str(c) for c in obj.columns]
    if module == "polars":
        schema = getattr(obj, "collect_schema", None)
        return list(schema().names()) if callable(schema) else None
    if module == "pyarrow" and hasattr(obj, "schema") and hasattr(obj.schema, "names"):
        return list(obj.schema.names)
    return None
