"""How the built-in checks become SQL: one query per check, and one scan for many of them.

``not_null``, ``accepted_values`` and ``range`` are row predicates: every such check of a
table adds ``count(*) FILTER (WHERE <violation>)`` and ``min(<key>, 5) FILTER (...)`` (up to
5 example keys, bounded memory) to **one** aggregate query, which also computes
``row_count`` and ``freshness`` of a column. ``unique`` (a GROUP BY), ``relationships`` (an
anti join), ``sql`` and ``schema`` (DESCRIBE, no scan) are a query each.

Values from contracts are bound as parameters and cast to the column's type; the cast is
first tried on a scratch in-memory connection, so a value that does not fit the column is a
clear error of that check and never aborts the write's transaction.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb

from workspace.lake.names import TableRef
from workspace.quality.contract import (
    AcceptedValues,
    Check,
    NotNull,
    Range,
    Relationships,
    SchemaCheck,
    SqlCheck,
    Unique,
)

__all__ = ["Aggregate", "Outcome", "Reason", "Target", "q"]

Status = Literal["pass", "fail", "error"]
_TEMPORAL = ("DATE", "TIMESTAMP")
_scratch = threading.local()


def q(name: str) -> str:
    """Quote an identifier.

    >>> q('a"b')
    '"a""b"'
    """
    return '"' + name.replace('"', '""') + '"'


def key_expr(key: list[str], alias: str = "") -> str:
    """SQL for the example key of a row: one column, or a struct of several."""
    prefix = f"{alias}." if alias else ""
    if len(key) == 1:
        return prefix + q(key[0])
    return (
        "{" + ", ".join(f"'{k.replace(chr(39), chr(39) * 2)}': {prefix}{q(k)}" for k in key) + "}"
    )


@dataclass
class Outcome:
    """What one check found."""

    check: Check
    status: Status
    violations: int = 0
    examples: list[Any] = field(default_factory=list)
    detail: str = ""
    observed: dict[str, Any] = field(default_factory=dict)
    example_key: list[str] = field(default_factory=list)
    example_values: list[Any] = field(default_factory=list)
    seconds: float = 0.0
    message: str = ""


@dataclass
class Target:
    """Where the checks of one table look.

    ``written_sql`` is the rows a write adds (row checks of an append look only there),
    ``None`` to check the whole table.
    """

    con: duckdb.DuckDBPyConnection
    ref: TableRef
    columns: dict[str, str]
    key: list[str]
    written_sql: str | None = None
    in_write: bool = False
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def table_sql(self) -> str:
        return self.ref.sql

    def missing(self, columns: list[str]) -> list[str]:
        return [c for c in columns if c not in self.columns]


def fits(value: Any, type_: str) -> str | None:
    """``None`` when ``value`` casts to DuckDB type ``type_``, else the reason.

    Tried on a scratch in-memory connection, so a failure never touches a write.

    >>> fits("10", "INTEGER") is None, fits("ten", "INTEGER") is not None
    (True, True)
    """
    con = getattr(_scratch, "con", None)
    if con is None:
        con = _scratch.con = duckdb.connect()
    try:
        con.execute(f"SELECT CAST($v AS {type_})", {"v": value}).fetchall()
    except duckdb.Error as exc:
        return str(exc).split("\n")[0]
    return None


def normalize_type(type_: str) -> str | None:
    """DuckDB's own spelling of a type name (``int`` -> ``INTEGER``), ``None`` if unknown.

    >>> normalize_type("int"), normalize_type("decimal(18, 2)"), normalize_type("nope")
    ('INTEGER', 'DECIMAL(18,2)', None)
    """
    con = getattr(_scratch, "con", None)
    if con is None:
        con = _scratch.con = duckdb.connect()
    try:
        row = con.execute(f"DESCRIBE SELECT CAST(NULL AS {type_}) AS x").fetchone()
    except duckdb.Error:
        return None
    return str(row[1]) if row else None


class Aggregate:
    """One aggregate query over one relation, built from many checks' expressions."""

    def __init__(self, relation: str) -> None:
        self.relation = relation
        self.exprs: list[str] = []
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"${name}"

    def add(self, expr: str) -> int:
        self.exprs.append(expr)
        return len(self.exprs) - 1

    def sql(self) -> str:
        return f"SELECT {', '.join(self.exprs)} FROM {self.relation}"

    def run(self, con: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
        row = con.execute(self.sql(), self.params).fetchone()
        assert row is not None
        return tuple(row)


class Reason(str):
    """Why a check cannot run (a ``str`` subclass, told apart from SQL by its type)."""


def row_predicate(check: Check, t: Target, agg: Aggregate) -> str:
    """The SQL that is true for a violating row, or a :class:`Reason` it cannot run."""
    col = check.column if isinstance(check, (NotNull, AcceptedValues, Range)) else None
    assert col is not None
    c, type_ = q(col), t.columns[col]
    if isinstance(check, NotNull):
        return f"{c} IS NULL"
    if isinstance(check, AcceptedValues):
        for v in check.values:
            bad = fits(v, type_)
            if bad:
                return Reason(f"the value {v!r} cannot be compared with {col} ({type_}): {bad}")
        values = agg.param(check.values)
        return f"{c} IS NOT NULL AND NOT list_contains(CAST({values} AS {type_}[]), {c})"
    assert isinstance(check, Range)
    parts = []
    for bound, op in (
        (check.min, "<" if check.inclusive else "<="),
        (check.max, ">" if check.inclusive else ">="),
    ):
        if bound is None:
            continue
        bad = fits(bound, type_)
        if bad:
            return Reason(f"the bound {bound!r} cannot be compared with {col} ({type_}): {bad}")
        parts.append(f"{c} {op} CAST({agg.param(bound)} AS {type_})")
    return " OR ".join(parts)


def unique_query(check: Unique, t: Target, written: str | None = None) -> str:
    """Duplicated keys: (count, rows, up to 5 keys). Rows with a NULL in the key are ignored.

    With ``written`` (an append), only keys of the rows it adds count: the duplicates the
    append would introduce, among themselves or with rows already in the table.
    """
    cols = check.columns()
    not_null = " AND ".join(f"r.{q(c)} IS NOT NULL" for c in cols)
    source = f"{t.table_sql} AS r"
    if written is not None:
        on = " AND ".join(f"r.{q(c)} = w.{q(c)}" for c in cols)
        picked = ", ".join(q(c) for c in cols)
        source += f" SEMI JOIN (SELECT DISTINCT {picked} FROM {written}) AS w ON {on}"
    return (
        "SELECT count(*), coalesce(sum(n), 0), min(k, 5) FROM ("
        f"SELECT {key_expr(cols, 'r')} AS k, count(*) AS n FROM {source} WHERE {not_null} "
        f"GROUP BY {', '.join('r.' + q(c) for c in cols)} HAVING count(*) > 1)"
    )


def relationships_query(
    check: Relationships, t: Target, other: TableRef, other_type: str, relation: str
) -> str:
    left, right = f"r.{q(check.column)}", "o.v"
    if not _comparable(t.columns[check.column], other_type):
        left, right = f"CAST({left} AS VARCHAR)", "CAST(o.v AS VARCHAR)"
    return (
        f"SELECT count(*), min({key_expr(t.key, 'r')}, 5) FROM {relation} AS r ANTI JOIN "
        f"(SELECT DISTINCT {q(check.target_column)} AS v FROM {other.sql}) AS o "
        f"ON {left} = {right} WHERE r.{q(check.column)} IS NOT NULL"
    )


def _comparable(a: str, b: str) -> bool:
    numeric = ("INT", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT", "DECIMAL", "DOUBLE", "FLOAT")
    ua, ub = a.upper(), b.upper()
    if ua == ub:
        return True
    return any(ua.startswith(n) or ua.startswith("U" + n) for n in numeric) and any(
        ub.startswith(n) or ub.startswith("U" + n) for n in numeric
    )


def sql_check_query(check: SqlCheck, t: Target) -> str | Reason:
    text = check.sql.strip().rstrip(";").replace("{table}", t.table_sql)
    try:
        statements = duckdb.extract_statements(text)
    except duckdb.Error as exc:
        return Reason(f"its SQL does not parse: {str(exc).splitlines()[0]}")
    if len(statements) != 1 or statements[0].type.name != "SELECT":
        return Reason("its SQL must be exactly one SELECT (the rows it returns are the violations)")
    return f"SELECT count(*) OVER () AS __ws_violations, * FROM ({text}) AS v LIMIT 5"


def schema_diff(check: SchemaCheck, t: Target) -> tuple[list[str], str | None]:
    """Differences between the expected and the actual columns, and the one column named."""
    problems: list[str] = []
    named: list[str] = []
    for col, expected in check.columns_.items():
        want = normalize_type(expected)
        if col not in t.columns:
            problems.append(f"column {col} ({expected}) is missing")
            named.append(col)
        elif want is None:
            problems.append(f"{expected!r} (column {col}) is not a DuckDB type")
            named.append(col)
        elif want.upper() != t.columns[col].upper():
            problems.append(f"{col} is {t.columns[col]}, expected {want}")
            named.append(col)
    if check.extra_columns == "forbid":
        extra = [c for c in t.columns if c not in check.columns_]
        problems += [f"unexpected column {c}" for c in extra]
        named += extra
    return problems, named[0] if len(named) == 1 else None


#: The largest bitmap :func:`distinct_integers` builds (bits; 2**27 bits = 16 MiB).
MAX_BITMAP = 2**27
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}


def is_integer(type_: str) -> bool:
    """Whether a DuckDB type is a (signed or unsigned) integer.

    >>> is_integer("BIGINT"), is_integer("UINTEGER"), is_integer("DOUBLE")
    (True, True, False)
    """
    t = type_.upper()
    return t in _INTEGERS or (t.startswith("U") and t[1:] in _INTEGERS)


def distinct_integers(
    con: duckdb.DuckDBPyConnection,
    check: Unique,
    t: Target,
    relation: str,
    lo: Any,
    hi: Any,
    n: Any,
) -> bool:
    """Proves an integer key unique with a bitmap of its values (``bitstring_agg``).

    ``lo``, ``hi`` and ``n`` are the key's min, max and non-NULL count in ``relation``
    (from the shared scan). When the bitmap of that span has ``n`` bits set, no value
    repeats there: one pass over one column, without hashing, several times faster than a
    GROUP BY. When ``relation`` is the rows an append adds, the table must also hold no
    other row in ``lo..hi`` (a range count that file statistics mostly prune). ``False``
    means "not proven" (duplicates, or a span too wide for a bitmap): the GROUP BY decides.
    """
    if not n:
        return True  # no keys (in the table, or among the rows an append adds)
    span = int(hi) - int(lo) + 1
    if int(n) > span or span > MAX_BITMAP:
        return False
    c = q(check.columns()[0])
    row = con.execute(
        f"SELECT bit_count(bitstring_agg({c}, {int(lo)}, {int(hi)})) FROM {relation}"
    ).fetchone()
    if row is None or int(row[0]) != int(n):
        return False
    return relation == t.table_sql or _count_in(con, check, t, lo, hi) == int(n)


def _count_in(con: duckdb.DuckDBPyConnection, check: Unique, t: Target, lo: Any, hi: Any) -> int:
    c = q(check.columns()[0])
    row = con.execute(
        f"SELECT count({c}) FROM {t.table_sql} WHERE {c} BETWEEN {int(lo)} AND {int(hi)}"
    ).fetchone()
    return int(row[0]) if row else 0


def is_temporal(type_: str) -> bool:
    return type_.upper().startswith(_TEMPORAL)
