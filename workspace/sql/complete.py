"""Completion of SQL cells and table names, for the kernel's standard ``complete_request``.

:func:`complete_sql` completes DuckDB SQL at a cursor: table names (``gold.or`` and, through
the search path, ``or``), columns of the tables the statement references (parsed by sqlglot
with the word at the cursor stood in for, so half-typed SQL still parses:
:mod:`workspace.sql.complete_scan`), keywords and DuckDB functions, and ``$name``
parameters. The names come from :class:`~workspace.sql.complete_names.Names`, built once
per catalog snapshot. :func:`sql_at_cursor` finds the SQL of a ``%%sql`` cell or a ``%sql``
line around a cursor, and :func:`table_argument` a table name being typed in
``ws.table("gold.``. Everything here is pure (no kernel); :mod:`workspace.kernel` wires it
into IPython's completer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from workspace.lake.engine import LAKE, LAYERS, SANDBOX
from workspace.sql.complete_names import (
    SEARCH_ORDER,
    Names,
    Sorted,
    Vocabulary,
    duckdb_vocabulary,
    frame_columns,
    workspace_names,
)
from workspace.sql.complete_scan import (
    PLACEHOLDER,
    TABLE_WORDS,
    Token,
    clause,
    references,
    tokens,
    unquote,
)

#: Most completions one request returns (IPython keeps 500).
LIMIT = 500
_LINE_MAGIC = re.compile(r"^\s*(?:[A-Za-z_]\w*\s*=\s*)?%sql\s+(?:(?:-o|--output)[\s=]+\w+\s+)?")
_TABLE_CALL = re.compile(
    r"(?P<obj>[A-Za-z_]\w*)\.(?:catalog\.)?(?P<method>\w+)\(\s*(?:name\s*=\s*)?"
    r"(?P<quote>['\"])(?P<prefix>[A-Za-z0-9_.]*)$"
)
#: Methods of ``ws`` (and ``ws.catalog``) whose first argument is a table name.
TABLE_METHODS = frozenset(
    {"table", "to_dask", "history", "resolve", "drop", "write", "describe", "preview"}
    | {"profile", "annotate", "get"}
)


#: Keywords offered before the others that match.
COMMON_KEYWORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET", "QUALIFY"}
    | {"JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS", "ON", "USING", "AS", "AND"}
    | {"OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE", "BETWEEN", "EXISTS", "DISTINCT"}
    | {"CASE", "WHEN", "THEN", "ELSE", "END", "WITH", "UNION", "ALL", "INSERT", "INTO"}
    | {"VALUES", "CREATE", "REPLACE", "TABLE", "VIEW", "UPDATE", "SET", "DELETE", "DESC"}
    | {"ASC", "OVER", "PARTITION", "DESCRIBE", "SUMMARIZE", "PIVOT"}
)


@dataclass(frozen=True)
class Completion:
    """One candidate: the text that replaces the fragment, and what it is.

    ``kind`` is ``table``, ``schema``, ``column``, ``function``, ``keyword`` or ``variable``.
    """

    text: str
    kind: str


@dataclass(frozen=True)
class Completions:
    """Candidates for the ``fragment`` that ends at the cursor (they replace it whole)."""

    fragment: str
    items: tuple[Completion, ...]


# -- where the SQL is ---------------------------------------------------------------------
def sql_at_cursor(code: str, cursor: int) -> tuple[str, int] | None:
    """The SQL around ``cursor`` in a cell, with the cursor's offset in it; ``None`` if none.

    The body of a ``%%sql`` cell (below its first line), or the query of a ``%sql`` line.

    Examples
    --------
    >>> sql_at_cursor("%%sql -o x\\nSELECT * FROM gold.or", 32)
    ('SELECT * FROM gold.or', 21)
    >>> sql_at_cursor("n = 1\\nr = %sql SELECT 1", 23)
    ('SELECT 1', 8)
    >>> sql_at_cursor("print('%%sql')", 5) is None
    True
    """
    stripped = code.lstrip()
    if stripped.startswith("%%sql") and (len(stripped) == 5 or not stripped[5].isalnum()):
        start = len(code) - len(stripped)
        newline = code.find("\n", start)
        if newline < 0 or cursor <= newline:
            return None
        return code[newline + 1 :], cursor - newline - 1
    line_start = code.rfind("\n", 0, cursor) + 1
    line_end = code.find("\n", cursor)
    line = code[line_start : len(code) if line_end < 0 else line_end]
    match = _LINE_MAGIC.match(line)
    if match is None or cursor - line_start < match.end():
        return None
    return line[match.end() :], cursor - line_start - match.end()


def table_argument(before_cursor: str) -> tuple[str, str] | None:
    """``(variable, prefix)`` when the cursor is in the name argument of ``ws.table("...``.

    Examples
    --------
    >>> table_argument('df = ws.table("gold.rev')
    ('ws', 'gold.rev')
    >>> table_argument("ws.catalog.describe('or")
    ('ws', 'or')
    >>> table_argument('print("gold.') is None
    True
    """
    match = _TABLE_CALL.search(before_cursor)
    if match is None or match.group("method") not in TABLE_METHODS:
        return None
    return match.group("obj"), match.group("prefix")


# -- completing ----------------------------------------------------------------------------
def complete_sql(
    sql: str,
    cursor: int,
    names: Names,
    *,
    vocabulary: Vocabulary | None = None,
    frames: Mapping[str, Sequence[str]] | None = None,
    variables: Iterable[str] = (),
    limit: int = LIMIT,
) -> Completions:
    """Completions for the SQL text ``sql`` at offset ``cursor``.

    Parameters
    ----------
    sql, cursor:
        The SQL (may hold several statements, may be half-typed) and the cursor's offset.
    names:
        The lake's tables and columns (:func:`workspace_names`).
    vocabulary:
        Keywords and functions; DuckDB's (:func:`duckdb_vocabulary`) by default.
    frames:
        DataFrames of the notebook SQL may read by name -> their columns.
    variables:
        Names of notebook variables, completed after ``$``.
    limit:
        Most candidates returned.

    Examples
    --------
    >>> names = Names({"gold.orders": ["o_id", "o_total"], "silver.customer": ["c_id"]})
    >>> words = Vocabulary.of(["SELECT", "FROM", "WHERE"], ["sum", "substr"], ["SELECT"])
    >>> def texts(sql):  # "|" marks the cursor
    ...     at = sql.index("|")
    ...     found = complete_sql(sql.replace("|", ""), at, names, vocabulary=words)
    ...     return [c.text for c in found.items]
    >>> texts("SELECT * FROM gold.o|"), texts("SELECT * FROM cu|")
    (['gold.orders'], ['customer'])
    >>> texts("SELECT o.o_| FROM gold.orders o"), texts("SELECT s| FROM gold.orders")
    (['o.o_id', 'o.o_total'], ['substr', 'sum', 'select'])
    >>> texts("SELECT o_total fr|")
    ['from']
    """
    vocabulary = vocabulary or duckdb_vocabulary()
    frames = frames or {}
    cursor = max(0, min(cursor, len(sql)))
    before = sql[:cursor]
    toks = tokens(before)
    i, partial = len(toks), ""  # after whitespace (or nothing): a new word
    if toks and toks[-1].end == cursor:
        last = toks[-1]
        if last.kind == "param":
            wanted = last.text[1:].lower()
            found = sorted(v for v in variables if v.lower().startswith(wanted))
            return _result(last.text, [Completion("$" + v, "variable") for v in found], limit)
        if last.kind in ("string", "comment", "quoted", "number"):
            return Completions("", ())  # inside a string, a comment or a quoted name
        if last.kind == "word":
            i, partial = len(toks) - 1, last.text
    chain: list[str] = []
    while i >= 2 and toks[i - 1].text == "." and toks[i - 2].kind in ("word", "quoted"):
        chain.insert(0, unquote(toks[i - 2].text))
        i -= 2
    fragment = before[toks[i].start :] if chain else partial
    qualifier = fragment[: len(fragment) - len(partial)]
    stmt = _Statement.at(sql, cursor, partial)
    if chain:
        items = _qualified(chain, partial, qualifier, names, frames, stmt)
    else:
        context = _context([t for t in toks[:i] if t.start >= stmt.start], vocabulary)
        if context == "table":
            items = _tables(partial, names, frames, stmt)
            items += _words(vocabulary.functions, partial, "function")  # read_parquet(...)
        elif context == "keyword":
            items = _words(vocabulary.keywords, partial, "keyword")
        else:
            items = _columns(partial, names, frames, stmt)
            items += _words(vocabulary.functions, partial, "function")
            items += _words(vocabulary.keywords, partial, "keyword")
    return _result(fragment, items, limit)


def complete_table_name(prefix: str, names: Names, *, limit: int = LIMIT) -> Completions:
    """Table names for a Python string argument (``ws.table("gold.``): ``layer.name``.

    Examples
    --------
    >>> names = Names({"gold.orders": [], "silver.orders": [], "sandbox.scratch": []})
    >>> [c.text for c in complete_table_name("gold.", names).items]
    ['gold.orders']
    >>> [c.text for c in complete_table_name("s", names).items]
    ['silver.', 'sandbox.', 'scratch']
    """
    layer, dot, partial = prefix.rpartition(".")
    if dot:
        found = [layer + "." + n for n in names.tables_in(layer, partial, LIMIT)]
        return _result(prefix, [Completion(t, "table") for t in found], limit)
    return _result(prefix, _tables(prefix, names, {}, None), limit)


def _result(fragment: str, items: list[Completion], limit: int) -> Completions:
    seen: set[str] = set()
    unique = []
    for item in items:
        if item.text not in seen:
            seen.add(item.text)
            unique.append(item)
            if len(unique) >= limit:
                break
    return Completions(fragment, tuple(unique))


@dataclass(frozen=True)
class _Statement:
    """The statement the cursor is in: where it starts, and SQL of it that sqlglot can read."""

    start: int
    parsable: str

    @classmethod
    def at(cls, sql: str, cursor: int, partial: str) -> _Statement:
        begin, end = 0, len(sql)
        for tok in tokens(sql):
            if tok.text == ";" and tok.kind == "punct":
                if tok.start < cursor:
                    begin = tok.start + 1
                else:
                    end = tok.start
                    break
        # the word being typed stands in a placeholder's place: "SELECT o. FROM t o" parses
        gap = "" if partial else PLACEHOLDER
        return cls(begin, sql[begin:cursor] + gap + sql[cursor:end])

    def columns_by_name(
        self, names: Names, frames: Mapping[str, Sequence[str]]
    ) -> dict[str, tuple[str, ...]]:
        """Per name a column may be qualified with (lower case): that table's columns."""
        refs = references(self.parsable)
        out: dict[str, tuple[str, ...]] = {}
        for alias, table in refs.tables.items():
            columns = frames.get(table)
            if columns is None:
                columns = refs.derived.get(table)
            if columns is None:
                columns = names.columns_of(table)
            if columns is not None:
                out[alias.lower()] = tuple(columns)
        return out


def _context(toks: list[Token], vocabulary: Vocabulary) -> str:
    """``table`` (a table name comes next), ``keyword`` or ``expression``."""
    if not toks:
        return "keyword"
    prev = toks[-1]
    if prev.kind == "word" and prev.text.upper() in TABLE_WORDS:
        return "table"
    if prev.text == "," and clause(toks, len(toks)) == "FROM":
        return "table"
    if prev.kind in ("number", "string", "quoted") or prev.text == ")":
        return "keyword"
    if prev.kind == "word" and prev.text.upper() not in vocabulary.reserved:
        return "keyword"  # after a name: an alias or a keyword comes next
    return "expression"


def _words(words: Sorted, partial: str, kind: str) -> list[Completion]:
    found = words.starting(partial, LIMIT)
    if kind == "keyword":  # the words of everyday queries first: FROM before FREEZE
        found.sort(key=lambda w: w.upper() not in COMMON_KEYWORDS)
    if kind == "keyword" and partial and partial.islower():
        return [Completion(w.lower(), kind) for w in found]
    return [Completion(w, kind) for w in found]


def _tables(
    partial: str, names: Names, frames: Mapping[str, Sequence[str]], stmt: _Statement | None
) -> list[Completion]:
    """``WITH`` names, notebook frames, layers (``gold.``), then search-path tables."""
    low = partial.lower()
    items = []
    if stmt is not None:
        derived = references(stmt.parsable).derived
        items += [Completion(n, "table") for n in derived if n.lower().startswith(low)]
    items += [Completion(n, "variable") for n in sorted(frames) if n.lower().startswith(low)]
    layers = (*SEARCH_ORDER[1:], SEARCH_ORDER[0])
    items += [Completion(f"{layer}.", "schema") for layer in layers if layer.startswith(low)]
    items += [Completion(n, "table") for n in names.unqualified(partial, LIMIT)]
    return items


def _columns(
    partial: str, names: Names, frames: Mapping[str, Sequence[str]], stmt: _Statement
) -> list[Completion]:
    """Columns of the tables the statement reads, then the names that qualify them."""
    low = partial.lower()
    items = []
    by_name = stmt.columns_by_name(names, frames)
    for columns in by_name.values():
        items += [Completion(c, "column") for c in columns if c.lower().startswith(low)]
    return items + [Completion(a, "table") for a in by_name if a.startswith(low)]


def _qualified(
    chain: list[str],
    partial: str,
    qualifier: str,
    names: Names,
    frames: Mapping[str, Sequence[str]],
    stmt: _Statement,
) -> list[Completion]:
    """After ``x.``: the schemas of ``lake``, the tables of a layer, the columns of a table."""
    low = [c.lower() for c in chain]
    if low == [LAKE]:
        return [Completion(f"{qualifier}{s}.", "schema") for s in LAYERS if s.startswith(partial)]
    if low in ([LAKE, s] for s in LAYERS) or low == [SANDBOX, "main"]:
        layer = SANDBOX if low[0] == SANDBOX else low[1]
        return [Completion(qualifier + n, "table") for n in names.tables_in(layer, partial, LIMIT)]
    items = []
    columns = stmt.columns_by_name(names, frames).get(".".join(low))
    if columns is None:
        columns = names.columns_of(".".join(chain))
    wanted = partial.lower()
    for column in columns or ():
        if column.lower().startswith(wanted):
            items.append(Completion(qualifier + column, "column"))
    if len(low) == 1 and low[0] in (*LAYERS, SANDBOX):
        items += [
            Completion(qualifier + n, "table") for n in names.tables_in(low[0], partial, LIMIT)
        ]
    return items


__all__ = [
    "Completion",
    "Completions",
    "Names",
    "Vocabulary",
    "complete_sql",
    "complete_table_name",
    "duckdb_vocabulary",
    "frame_columns",
    "sql_at_cursor",
    "table_argument",
    "workspace_names",
]
