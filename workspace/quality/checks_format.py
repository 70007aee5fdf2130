"""Words for check outcomes: one line per failed check, and JSON-safe example values.

>>> json_safe([{"d": __import__("datetime").date(2025, 1, 31)}])
[{'d': '2025-01-31'}]
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import TYPE_CHECKING, Any

from workspace.quality.contract import (
    AcceptedValues,
    Freshness,
    NotNull,
    PythonCheck,
    Range,
    Relationships,
    RowCount,
    SchemaCheck,
    SqlCheck,
    Unique,
)

if TYPE_CHECKING:
    from workspace.quality.checks_sql import Outcome

__all__ = ["describe_failure", "format_examples", "json_safe"]


def json_safe(value: Any) -> Any:
    """``value`` with dates, decimals, UUIDs and bytes turned into JSON-friendly values."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return float(value) if abs(value) < 1e15 else str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def format_examples(examples: list[Any], key: list[str]) -> str:
    """``" (example keys o_orderkey: 1, 2)"`` or ``""``."""
    if not examples:
        return ""

    def one(e: Any) -> str:
        if isinstance(e, dict):
            return "(" + ", ".join(_short(v) for v in e.values()) + ")"
        return _short(e)

    label = f"example keys {', '.join(key)}" if key else "examples"
    return f" ({label}: {', '.join(one(e) for e in examples[:5])})"


def _short(value: Any) -> str:
    text = str(json_safe(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def describe_failure(table: str, o: Outcome) -> str:
    """One line: the table, the check, what was found and up to 5 example keys."""
    c = o.check
    n = o.violations
    rows = f"{n:,} row{'s' if n != 1 else ''}"
    if isinstance(c, NotNull):
        what = f"{rows} where {c.column} is NULL"
    elif isinstance(c, Unique):
        dup = o.observed.get("duplicated", 0)
        what = f"{rows} share {dup:,} duplicated value(s) of {', '.join(c.columns())}"
    elif isinstance(c, AcceptedValues):
        allowed = ", ".join(_short(v) for v in c.values[:8]) + (
            ", ..." if len(c.values) > 8 else ""
        )
        what = f"{rows} where {c.column} is not one of {allowed}"
        if o.example_values:
            what += f" (found {', '.join(_short(v) for v in o.example_values)})"
    elif isinstance(c, Range):
        lo = "-inf" if c.min is None else _short(c.min)
        hi = "inf" if c.max is None else _short(c.max)
        brackets = "[]" if c.inclusive else "()"
        what = f"{rows} where {c.column} is outside {brackets[0]}{lo}, {hi}{brackets[1]}"
        if o.example_values:
            what += f" (found {', '.join(_short(v) for v in o.example_values)})"
    elif isinstance(c, RowCount):
        got = o.observed.get("rows", 0)
        what = f"{got:,} rows, expected {_bounds(c.min, c.max)}"
        return f"{table}: check {c.name} failed: {what}"
    elif isinstance(c, Freshness):
        of = f"the newest {c.column}" if c.column else "the last commit"
        age = o.observed.get("age")
        found = "there is no data" if age is None else f"{of} is {_age(float(age))} old"
        what = f"{found}, expected at most {_age(c.max_age.total_seconds())}"
        return f"{table}: check {c.name} failed: {what}"
    elif isinstance(c, Relationships):
        what = f"{rows} where {c.column} has no match in {c.to}.{c.target_column}"
    elif isinstance(c, SqlCheck):
        what = f"its query returned {rows}"
    elif isinstance(c, SchemaCheck):
        return f"{table}: check {c.name} failed: {'; '.join(str(e) for e in o.examples)}"
    else:
        assert isinstance(c, PythonCheck)
        what = o.detail or f"{n:,} violation{'s' if n != 1 else ''}"
    return f"{table}: check {c.name} failed: {what}{format_examples(o.examples, o.example_key)}"


def _bounds(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f"between {lo:,} and {hi:,}"
    return f"at least {lo:,}" if lo is not None else f"at most {hi:,}"
