"""Reading half-typed SQL for completion: tokens, and the tables a statement references.

A completion request comes while the statement is being typed, so it rarely parses.
:func:`tokens` splits any text (an unterminated string or comment runs to the end);
:func:`references` asks sqlglot for the tables, their aliases and the output columns of
``WITH`` queries and aliased subqueries, and falls back to a scan of the ``FROM``/``JOIN``
clauses when sqlglot finds nothing. Both are pure; results are cached per statement text,
so the requests of one Tab press parse it once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

#: After these words a table name comes next.
TABLE_WORDS = frozenset(
    {"FROM", "JOIN", "INTO", "UPDATE", "TABLE", "DESCRIBE", "SUMMARIZE", "PIVOT", "UNPIVOT"}
)
#: Stands for the word being typed, so that ``SELECT o. FROM t o`` parses.
PLACEHOLDER = "ws_cursor_placeholder"
_TOKEN = re.compile(
    r"""(?P<space>\s+)
    |(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
    |(?P<string>'(?:[^']|'')*(?:'|\Z))
    |(?P<quoted>"(?:[^"]|"")*(?:"|\Z))
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<param>\$[A-Za-z_0-9]*)
    |(?P<number>\d+(?:\.\d*)?)
    |(?P<punct>.)""",
    re.S | re.X,
)
_CLAUSE_WORDS = frozenset(
    {"SELECT", "FROM", "WHERE", "GROUP", "ORDER", "HAVING", "QUALIFY", "LIMIT", "ON", "USING"}
    | {"JOIN", "LEFT", "RIGHT", "INNER", "OUTER", "FULL", "CROSS", "NATURAL", "POSITIONAL"}
    | {"UNION", "EXCEPT", "INTERSECT", "WINDOW", "SET", "VALUES", "RETURNING", "ASOF", "SEMI"}
    | {"ANTI", "LATERAL", "OFFSET", "BY", "INTO", "UPDATE", "TABLE", "WITH", "AS"}
)


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is a group of the tokenizer (``word``, ``string``, ``punct``...)."""

    kind: str
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def tokens(sql: str) -> list[Token]:
    """The tokens of ``sql`` without whitespace; never fails.

    Examples
    --------
    >>> [(t.kind, t.text) for t in tokens("SELECT 'it''s' -- note")]
    [('word', 'SELECT'), ('string', "'it''s'"), ('comment', '-- note')]
    """
    return [
        Token(m.lastgroup or "punct", m.group(), m.start())
        for m in _TOKEN.finditer(sql)
        if m.lastgroup != "space"
    ]


def unquote(text: str) -> str:
    """A quoted identifier's name (``"My Table"`` -> ``My Table``); others unchanged."""
    return text[1:-1].replace('""', '"') if text.startswith('"') else text


def clause(toks: list[Token], index: int) -> str | None:
    """The clause keyword governing position ``index`` (at the same parenthesis depth).

    ``FROM`` stands for every word after which tables come (:data:`TABLE_WORDS`).
    """
    depth = 0
    for tok in reversed(toks[:index]):
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth == 0:
                return None
            depth -= 1
        elif depth == 0 and tok.kind == "word":
            word = tok.text.upper()
            if word in ("SELECT", "WHERE", "GROUP", "ORDER", "HAVING", "ON", "SET", "BY"):
                return word
            if word in TABLE_WORDS:
                return "FROM"
    return None


@dataclass(frozen=True)
class References:
    """What one statement reads.

    ``tables`` maps each name SQL may qualify a column with (an alias, or the table's own
    name) to the table's name as written; ``derived`` maps ``WITH`` names and subquery
    aliases to their output columns.
    """

    tables: dict[str, str] = field(default_factory=dict)
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)


@functools.lru_cache(maxsize=64)
def references(sql: str) -> References:
    """The tables (and derived tables) a statement reads; tolerant of half-typed SQL.

    Examples
    --------
    >>> references("SELECT o. FROM gold.orders o JOIN customer c ON").tables
    {'o': 'gold.orders', 'gold.orders': 'gold.orders', 'c': 'customer', 'customer': 'customer'}
    >>> references("WITH t AS (SELECT 1 AS one) SELECT * FROM t, x").derived
    {'t': ('one',)}
    """
    found = _parsed(sql)
    if found.tables:
        return found
    return References(_scanned(tokens(sql)), found.derived)


def _parsed(sql: str) -> References:
    import sqlglot
    from sqlglot import exp

    try:
        trees = sqlglot.parse(sql, read="duckdb", error_level=sqlglot.ErrorLevel.IGNORE)
    except Exception:  # sqlglot raises several kinds of errors on half-typed SQL
        return References()
    out = References()
    for tree in trees:
        if tree is None:
            continue
        for table in tree.find_all(exp.Table):
            if not table.name or PLACEHOLDER in table.name:
                continue
            name = ".".join(p for p in (table.catalog, table.db, table.name) if p)
            out.tables[table.alias_or_name] = name
            out.tables.setdefault(name, name)
        for node in tree.find_all(exp.CTE, exp.Subquery):
            if node.alias and isinstance(node.this, exp.Query):
                named = node.this.named_selects
                out.derived[node.alias] = tuple(c for c in named if c and c != "*")
    return out


def _scanned(toks: list[Token]) -> dict[str, str]:
    """Tables named after ``FROM``/``JOIN`` (and commas of a ``FROM`` list), by alias."""
    out: dict[str, str] = {}
    i = 0
    while i < len(toks):
        tok = toks[i]
        word = tok.text.upper() if tok.kind == "word" else ""
        in_from = word in TABLE_WORDS or (tok.text == "," and clause(toks, i) == "FROM")
        i += 1
        if not in_from:
            continue
        parts: list[str] = []
        while i < len(toks) and toks[i].kind in ("word", "quoted"):
            parts.append(unquote(toks[i].text))
            if i + 1 < len(toks) and toks[i + 1].text == ".":
                i += 2
                continue
            i += 1
            break
        if not parts or PLACEHOLDER in parts[-1]:
            continue
        name = alias = ".".join(parts)
        if i < len(toks) and toks[i].text.upper() == "AS":
            i += 1
        if i < len(toks) and toks[i].kind in ("word", "quoted"):
            candidate = unquote(toks[i].text)
            if candidate.upper() not in _CLAUSE_WORDS:
                alias = candidate
                i += 1
        out[alias] = name
        out.setdefault(name, name)
    return out
