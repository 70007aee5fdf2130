"""How result values read: thousands separators, sensible decimals, one rule for every view.

The static HTML table of a SQL result, its plain-text repr and the interactive grid all use
this module, so a number looks the same everywhere: ``640415100.0`` is ``640,415,100``, not
``6.404151e+08``. :func:`column_format` decides once per column (from a sample of its values)
what a column is (:data:`Kind`), how many decimals it shows and whether it groups thousands.
Python renders with ``,`` and ``.``; the grid sends the same :class:`ColumnFormat` to the
browser, which formats with ``Intl.NumberFormat`` in the reader's locale.

Identifier-like integer columns (``id``, ``*_key``, ``year``) are shown without separators.
Very large or very small floats (``>= 1e15``, ``< 1e-4``) keep scientific notation.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pyarrow as pa

#: What a column is, for formatting, filtering, histograms and charts.
Kind = Literal["integer", "float", "decimal", "temporal", "boolean", "text", "other"]
NUMERIC_KINDS: frozenset[str] = frozenset({"integer", "float", "decimal"})
#: Longest text shown for one value in the plain-text and HTML views.
MAX_CELL_CHARS = 60
#: Most decimals a float column shows.
MAX_DECIMALS = 6
_SAFE_INTEGER = 2**53
_IDENTIFIER = (
    re.compile(r"(^|_)(id|key|year|yr|zip|code|no)$", re.I),
    re.compile(r"key$|[a-z](Id|ID)$"),
)


@dataclass(frozen=True)
class ColumnFormat:
    """How one column is shown.

    Attributes
    ----------
    name, type:
        The column's name and its DuckDB type (:func:`sql_type`).
    kind:
        The :data:`Kind` of the column.
    decimals:
        Decimals of a float or decimal column (``None`` for other kinds).
    grouping:
        Whether numbers show thousands separators.
    dates_only:
        A timestamp column whose values are all at midnight (dates that went through
        pandas): shown as dates.
    """

    name: str
    type: str
    kind: Kind
    decimals: int | None = None
    grouping: bool = True
    dates_only: bool = False

    def to_json(self) -> dict[str, Any]:
        """The format as the grid's front end reads it."""
        return asdict(self)


def column_kind(dtype: pa.DataType) -> Kind:
    """The :data:`Kind` of an Arrow type.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [column_kind(t) for t in (pa.int64(), pa.float64(), pa.string(), pa.date32())]
    ['integer', 'float', 'text', 'temporal']
    """
    types = pa.types
    if types.is_boolean(dtype):
        return "boolean"
    if types.is_integer(dtype):
        return "integer"
    if types.is_floating(dtype):
        return "float"
    if types.is_decimal(dtype):
        return "decimal"
    if types.is_date(dtype) or types.is_timestamp(dtype):
        return "temporal"
    if types.is_string(dtype) or types.is_large_string(dtype) or types.is_dictionary(dtype):
        return "text"
    return "other"


def float_decimals(values: Iterable[object]) -> int:
    """Decimals that show about three significant digits of the smallest value in ``values``.

    Whole numbers get none; amounts get two; small ratios get more (at most
    :data:`MAX_DECIMALS`).

    Examples
    --------
    >>> float_decimals([640415100.0, 12.0]), float_decimals([53540803.8]), float_decimals([0.0345])
    (0, 2, 4)
    """
    smallest = math.inf
    whole = True
    for value in values:
        if not isinstance(value, float | int | decimal.Decimal) or isinstance(value, bool):
            continue
        v = abs(float(value))
        if not math.isfinite(v) or v == 0:
            continue
        whole = whole and v.is_integer()
        smallest = min(smallest, v)
    if whole or smallest == math.inf:
        return 0
    wanted = 2 - math.floor(math.log10(smallest)) if smallest < 1 else 2
    return max(2, min(MAX_DECIMALS, wanted))


def sql_type(dtype: pa.DataType) -> str:
    """DuckDB's name for an Arrow type (what the grid's headers show).

    Examples
    --------
    >>> import pyarrow as pa
    >>> sql_type(pa.int64()), sql_type(pa.decimal128(15, 2)), sql_type(pa.list_(pa.string()))
    ('BIGINT', 'DECIMAL(15,2)', 'VARCHAR[]')
    """
    types = pa.types
    if types.is_dictionary(dtype):
        return sql_type(dtype.value_type)
    if types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if types.is_timestamp(dtype):
        return "TIMESTAMPTZ" if dtype.tz else "TIMESTAMP"
    if types.is_list(dtype) or types.is_large_list(dtype) or types.is_fixed_size_list(dtype):
        return sql_type(dtype.value_type) + "[]"
    if types.is_struct(dtype):
        return "STRUCT"
    if types.is_map(dtype):
        return "MAP"
    return _SQL_TYPES.get(str(dtype), str(dtype).upper())


_SQL_TYPES = {
    "int8": "TINYINT",
    "int16": "SMALLINT",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "uint8": "UTINYINT",
    "uint16": "USMALLINT",
    "uint32": "UINTEGER",
    "uint64": "UBIGINT",
    "halffloat": "FLOAT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "string_view": "VARCHAR",
    "binary": "BLOB",
    "large_binary": "BLOB",
    "date32[day]": "DATE",
    "date64[ms]": "DATE",
    "null": "NULL",
}


def column_format(name: str, dtype: pa.DataType, sample: Sequence[object] = ()) -> ColumnFormat:
    """How to show a column of type ``dtype``, judged from a ``sample`` of its values.

    Examples
    --------
    >>> import pyarrow as pa
    >>> column_format("revenue", pa.float64(), [53540803.8, 1.25]).decimals
    2
    >>> column_format("o_orderkey", pa.int64()).grouping
    False
    """
    kind = column_kind(dtype)
    decimals: int | None = None
    if kind == "float":
        decimals = float_decimals(sample)
    elif kind == "decimal":
        decimals = min(getattr(dtype, "scale", 0), MAX_DECIMALS)
    grouping = not (kind == "integer" and any(p.search(name) for p in _IDENTIFIER))
    stamps = [v for v in sample if isinstance(v, dt.datetime)]
    dates_only = (
        pa.types.is_timestamp(dtype)
        and bool(stamps)
        and all(v.tzinfo is None and v.time() == dt.time() for v in stamps)
    )
    return ColumnFormat(name, sql_type(dtype), kind, decimals, grouping, dates_only)


def table_formats(table: pa.Table) -> list[ColumnFormat]:
    """A :class:`ColumnFormat` per column of ``table``, judged from its rows.

    Examples
    --------
    >>> import pyarrow as pa
    >>> [f.kind for f in table_formats(pa.table({"a": [1], "b": ["x"]}))]
    ['integer', 'text']
    """
    return [
        column_format(field.name, field.type, table.column(i).to_pylist())
        for i, field in enumerate(table.schema)
    ]


def format_number(value: float | int | decimal.Decimal, fmt: ColumnFormat | None = None) -> str:
    """A number with thousands separators and the column's decimals.

    Without a column format, a float shows what :func:`float_decimals` gives it alone,
    without trailing zeros.

    Examples
    --------
    >>> format_number(640415100.0), format_number(1234567), format_number(0.5)
    ('640,415,100', '1,234,567', '0.5')
    >>> format_number(1.5e-09), format_number(float("nan"))
    ('1.5e-09', 'NaN')
    """
    comma = "," if fmt is None or fmt.grouping else ""
    if isinstance(value, int):
        return f"{value:{comma}d}"
    number = float(value) if isinstance(value, float) else value
    if isinstance(number, float):
        if math.isnan(number):
            return "NaN"
        if math.isinf(number):
            return "∞" if number > 0 else "-∞"
    magnitude = abs(float(number))
    if magnitude != 0 and (magnitude >= 1e15 or magnitude < 1e-4):
        return f"{float(number):.4g}"
    if fmt is not None and fmt.decimals is not None:
        return f"{number:{comma}.{fmt.decimals}f}"
    text = f"{number:{comma}.{float_decimals([number])}f}"  # one value: no trailing zeros
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_value(value: object, fmt: ColumnFormat | None = None) -> str:
    """One value as text for a table cell (``NULL``, numbers, dates, long text cut).

    Examples
    --------
    >>> format_value(None), format_value(6.404151e08), format_value(dt.datetime(2024, 1, 2))
    ('NULL', '640,415,100', '2024-01-02 00:00:00')
    """
    if value is None:
        text = "NULL"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, int | float | decimal.Decimal):
        text = format_number(value, fmt)
    elif isinstance(value, dt.datetime):
        dates_only = fmt is not None and fmt.dates_only
        text = value.date().isoformat() if dates_only else value.isoformat(sep=" ")
    elif isinstance(value, dt.date | dt.time):
        text = value.isoformat()
    elif isinstance(value, bytes):
        text = value.hex() if len(value) <= 16 else f"<{len(value):,} bytes>"
    else:
        text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def json_value(value: object, fmt: ColumnFormat) -> object:
    """A value as the grid's browser side receives it: numbers stay numbers (when exact).

    Integers beyond 2**53 and decimals travel as text (``Intl.NumberFormat`` formats
    numeric strings exactly); everything else is the text :func:`format_value` gives.

    Examples
    --------
    >>> json_value(3, ColumnFormat("n", "BIGINT", "integer"))
    3
    >>> json_value(decimal.Decimal("1.50"), ColumnFormat("x", "DECIMAL(9,2)", "decimal"))
    '1.50'
    """
    kind = fmt.kind
    if value is None:
        return None
    if kind == "integer" and isinstance(value, int):
        return value if abs(value) < _SAFE_INTEGER else str(value)
    if kind == "float" and isinstance(value, float):
        return value if math.isfinite(value) else format_value(value)
    if kind == "decimal" and isinstance(value, decimal.Decimal):
        return str(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    return format_value(value, fmt)


__all__ = [
    "MAX_CELL_CHARS",
    "NUMERIC_KINDS",
    "ColumnFormat",
    "Kind",
    "column_format",
    "column_kind",
    "float_decimals",
    "format_number",
    "format_value",
    "json_value",
    "sql_type",
    "table_formats",
]
