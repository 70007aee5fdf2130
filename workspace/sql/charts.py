"""Quick charts: a sensible Altair chart from a result's column types, and its code.

:func:`infer_spec` picks the chart from the columns' kinds
(:mod:`workspace.sql.formatting`): a date and a number make a line, a category and a
number a bar chart, two numbers a scatter plot, one number a histogram. A category with few
values colours the marks. Identifier-like integers (``*_key``, ``id``, ``year``) count as
categories, not as measures.

Results up to :data:`MAX_ROWS` rows go to Altair as they are and Vega-Lite aggregates (sum
per bar or point of a line, bins of a histogram). Larger results are aggregated (or, for a
scatter plot, sampled with a fixed seed) in DuckDB first, so the chart stays small.
:func:`chart_code` writes the same chart as Altair code that runs in a scheduled run.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import pyarrow as pa

from workspace.lake.engine import first_row
from workspace.lake.errors import WorkspaceError
from workspace.sql.formatting import ColumnFormat
from workspace.sql.gridquery import quote

if TYPE_CHECKING:
    import altair as alt

    from workspace.sql.result import SqlResult

#: Rows Altair receives as they are; larger results are aggregated in DuckDB first.
MAX_ROWS = 5_000
#: A category colours the marks when it has at most this many values.
MAX_COLORS = 12
#: Bars of a histogram computed in DuckDB.
HIST_BINS = 30
#: Bars of a bar chart of a large result (the largest ones).
MAX_BARS = 50
Mark = Literal["line", "bar", "point", "area", "histogram"]
MARKS: tuple[str, ...] = ("line", "bar", "point", "area", "histogram")
Role = Literal["quantitative", "temporal", "nominal", "none"]
_SHORT = {"quantitative": "Q", "temporal": "T", "nominal": "N"}


class ChartError(WorkspaceError):
    """No chart fits the result or the chosen columns."""


@dataclass(frozen=True)
class ChartSpec:
    """One chart: a mark and the columns on x, y (``None``: count rows) and colour.

    Examples
    --------
    >>> [ch.code("X") for ch in ChartSpec("line", "month", "revenue", x_role="temporal")
    ...  .channels().values()]
    ['"month:T"', '"sum(revenue):Q"']
    """

    mark: Mark
    x: str
    y: str | None = None
    color: str | None = None
    x_role: Role = "nominal"
    y_role: Role = "quantitative"
    aggregated: bool = False
    bucket: str | None = None

    def channels(self) -> dict[str, Channel]:
        """The encoding: Vega-Lite aggregates it, unless DuckDB did (``aggregated``)."""
        x_type = _SHORT.get(self.x_role, "N")
        if self.mark == "histogram":
            if self.aggregated:
                return {
                    "x": Channel("bin_start", "Q", bin="binned", title=self.x),
                    "x2": Channel("bin_end", ""),
                    "y": Channel("count", "Q"),
                }
            if self.x_role == "temporal":
                return {"x": Channel(self.x, "T", time_unit="yearmonth"), "y": _COUNT}
            return {"x": Channel(self.x, x_type, bin=True), "y": _COUNT}
        sort = "-y" if self.mark == "bar" and self.x_role == "nominal" else None
        enc = {"x": Channel(self.x, x_type, sort=sort)}
        if self.y is None:
            enc["y"] = Channel("count", "Q") if self.aggregated else _COUNT
        elif self.mark == "point" or self.aggregated:
            enc["y"] = Channel(self.y, "Q")
        else:
            enc["y"] = Channel(self.y, "Q", aggregate="sum")
        if self.color:
            enc["color"] = Channel(self.color, "N")
        return enc


@dataclass(frozen=True)
class Channel:
    """One encoding channel (what ``alt.X(...)`` and friends receive)."""

    field: str | None
    type: str
    aggregate: str | None = None
    time_unit: str | None = None
    bin: bool | str = False
    sort: str | None = None
    title: str | None = None

    def _escaped(self) -> str | None:
        # Vega-Lite reads dots and brackets in a field name as nested access
        return None if self.field is None else re.sub(r"([.\[\]\\])", r"\\\1", self.field)

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``alt.X(...)`` for this channel."""
        out: dict[str, Any] = {"type": _LONG[self.type]} if self.type else {}
        if self.field is not None:
            out["field"] = self._escaped()
        for key, value in (("aggregate", self.aggregate), ("timeUnit", self.time_unit)):
            if value:
                out[key] = value
        if self.sort:
            out["sort"] = self.sort
        if self.title:
            out["title"] = self.title
        return out

    def code(self, name: str) -> str:
        """Altair code for the channel: a shorthand where the field name allows one."""
        simple = self.field is None or _SIMPLE.match(self.field) is not None
        if simple:
            field = self.field or ""
            inner = (
                f"{self.aggregate or self.time_unit}({field})"
                if (self.aggregate or self.time_unit)
                else field
            )
            text = json.dumps(f"{inner}:{self.type}" if self.type else inner)
        else:
            parts = [f"{k}={json.dumps(v)}" for k, v in self.kwargs().items() if k != "sort"]
            text = ", ".join(p for p in parts if not p.startswith("title="))
        extras = []
        if self.bin is True:
            extras.append(f"bin=alt.Bin(maxbins={HIST_BINS})")
        elif self.bin:
            extras.append(f"bin={json.dumps(self.bin)}")
        if self.title:
            extras.append(f"title={json.dumps(self.title)}")
        call = f"alt.{name}({', '.join([text, *extras])})" if extras or not simple else text
        if self.sort:
            call = (
                f"alt.{name}({text}).sort({json.dumps(self.sort)})"
                if simple
                else (call[:-1] + f", sort={json.dumps(self.sort)})")
            )
        return call

    def altair(self, name: str) -> Any:
        """The Altair channel object."""
        import altair as alt

        kwargs = self.kwargs()
        if self.bin is True:
            kwargs["bin"] = alt.Bin(maxbins=HIST_BINS)
        elif self.bin:
            kwargs["bin"] = self.bin
        return getattr(alt, name)(**kwargs)


_COUNT = Channel(None, "Q", aggregate="count")
_SIMPLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LONG = {"Q": "quantitative", "T": "temporal", "N": "nominal", "O": "ordinal"}
_CHANNEL_CLASS = {"x": "X", "x2": "X2", "y": "Y", "color": "Color"}


def role(fmt: ColumnFormat) -> Role:
    """How a column can be charted.

    Examples
    --------
    >>> role(ColumnFormat("o_orderkey", "BIGINT", "integer", grouping=False))
    'nominal'
    """
    if fmt.kind in {"float", "decimal"} or (fmt.kind == "integer" and fmt.grouping):
        return "quantitative"
    if fmt.kind == "temporal":
        return "temporal"
    if fmt.kind in {"text", "boolean", "integer"}:
        return "nominal"
    return "none"


def infer_spec(
    formats: Sequence[ColumnFormat],
    *,
    x: str | None = None,
    y: str | None = None,
    color: str | None = None,
    mark: str | None = None,
    cardinality: Callable[[str], int] = lambda name: 0,
) -> ChartSpec:
    """The chart for columns of these formats; ``x``, ``y``, ``color``, ``mark`` override.

    Examples
    --------
    >>> cols = [ColumnFormat("month", "DATE", "temporal"),
    ...         ColumnFormat("revenue", "DOUBLE", "float", 2)]
    >>> spec = infer_spec(cols)
    >>> spec.mark, spec.x, spec.y
    ('line', 'month', 'revenue')
    """
    roles = {f.name: role(f) for f in formats}
    for name in (x, y, color):
        if name is not None and name not in roles:
            raise ChartError(
                f"The result has no column {name!r} to chart: choose one of {', '.join(roles)}."
            )
    if mark is not None and mark not in MARKS:
        raise ChartError(f"Unknown mark {mark!r}: choose one of {', '.join(MARKS)}.")
    by = {r: [n for n, rr in roles.items() if rr == r] for r in ("quantitative", "temporal")}
    ids = {f.name for f in formats if f.kind == "integer"}  # keys come after real categories
    nominal = sorted((n for n, r in roles.items() if r == "nominal"), key=lambda n: n in ids)
    numbers, times = by["quantitative"], by["temporal"]
    if x is None and y is None:
        if times and numbers:
            x, y = times[0], numbers[0]
        elif nominal and numbers:
            x, y = nominal[0], numbers[0]
        elif len(numbers) >= 2:
            x, y = numbers[0], numbers[1]
        elif numbers or times:
            x = (numbers or times)[0]
        elif nominal:
            x = nominal[0]
        else:
            raise ChartError("No column of this result can be charted (numbers, dates, text).")
    elif x is None:
        others = [n for n in times + nominal + numbers if n != y]
        x = others[0] if others else y
        y = None if x == y else y
    assert x is not None
    if y is not None and roles[y] != "quantitative":
        raise ChartError(f"The y axis needs a number column; {y!r} is {roles[y]}.")
    x_role = roles[x]
    if mark is None:
        if y is None:
            mark = "histogram" if x_role in {"quantitative", "temporal"} else "bar"
        else:
            mark = {"temporal": "line", "quantitative": "point"}.get(x_role, "bar")
    if mark == "histogram" and (y is not None or x_role == "nominal"):
        mark = "bar"
    if color is None:
        candidates = [n for n in nominal if n not in {x, y}]
        color = next((n for n in candidates if 0 < cardinality(n) <= MAX_COLORS), None)
    if mark == "histogram":
        color = None
    return ChartSpec(mark, x, y, color, x_role, "quantitative")  # type: ignore[arg-type]


def spec_sql(spec: ChartSpec, source: str) -> tuple[ChartSpec, str]:
    """DuckDB SQL that reduces ``source`` (a relation) to the chart's data, and the spec for it.

    Examples
    --------
    >>> print(spec_sql(ChartSpec("bar", "nation", "revenue"), "r")[1])
    SELECT "nation", sum("revenue") AS "revenue" FROM r
    GROUP BY ALL ORDER BY "revenue" DESC LIMIT 50
    """
    x, y = quote(spec.x), quote(spec.y) if spec.y else None
    color = f", {quote(spec.color)}" if spec.color else ""
    done = replace(spec, aggregated=True)
    if spec.mark == "histogram" and spec.x_role == "temporal":
        sql = (
            f"SELECT date_trunc('month', {x}) AS {x}, count(*) AS count FROM {source}\n"
            f"WHERE {x} IS NOT NULL GROUP BY ALL ORDER BY ALL"
        )
        return replace(done, mark="bar", x_role="temporal"), sql
    if spec.mark == "histogram":
        sql = (
            f"WITH r AS (SELECT CAST({x} AS DOUBLE) AS v FROM {source} WHERE {x} IS NOT NULL),\n"
            f"b AS (SELECT min(v) AS lo, nullif(max(v) - min(v), 0) / {HIST_BINS} AS w FROM r)\n"
            "SELECT lo + coalesce(w, 0) * k AS bin_start, lo + coalesce(w, 1) * (k + 1) AS bin_end,"
            " count(*) AS count\n"
            f"FROM (SELECT coalesce(least(floor((v - lo) / w), {HIST_BINS - 1}), 0) AS k, lo, w"
            " FROM r, b)\nGROUP BY ALL ORDER BY 1"
        )
        return done, sql
    if spec.mark == "point":
        cols = ", ".join(quote(c) for c in (spec.x, spec.y, spec.color) if c)
        sql = (
            f"SELECT {cols} FROM {source}\nUSING SAMPLE reservoir({MAX_ROWS} ROWS) REPEATABLE (42)"
        )
        return done, sql
    measure = f"sum({y}) AS {y}" if y else "count(*) AS count"
    order = "ALL"
    if spec.mark == "bar" and spec.x_role == "nominal":
        order = f"{y or 'count'} DESC LIMIT {MAX_BARS}"
    key = f"date_trunc('{spec.bucket}', {x}) AS {x}" if spec.bucket else x
    sql = f"SELECT {key}{color}, {measure} FROM {source}\nGROUP BY ALL ORDER BY {order}"
    return done, sql


def _altair_call(spec: ChartSpec, data: str) -> str:
    mark = "bar" if spec.mark == "histogram" else spec.mark
    args = "".join(f"\n    {k}={ch.code(_CHANNEL_CLASS[k])}," for k, ch in spec.channels().items())
    return f"alt.Chart({data}).mark_{mark}().encode({args}\n)"


def chart_code(
    spec: ChartSpec,
    *,
    variable: str | None,
    statement: str,
    parameters: Sequence[str] = (),
    rows: int,
    workspace: str = "ws",
) -> str:
    """Altair code that draws ``spec`` again (in a scheduled run too).

    ``variable`` names the result in the notebook; without it (or for a large result) the
    code runs the statement again, aggregated in DuckDB.

    Examples
    --------
    >>> print(chart_code(ChartSpec("bar", "nation", "revenue"), variable="r", statement="",
    ...                  rows=25))
    import altair as alt
    <BLANKLINE>
    alt.Chart(r).mark_bar().encode(
        x=alt.X("nation:N").sort("-y"),
        y="sum(revenue):Q",
    )
    """
    lines = ["import altair as alt", ""]
    if rows <= MAX_ROWS and variable:
        return "\n".join([*lines, _altair_call(spec, variable)])
    if not statement:
        raise ChartError("This result has no SQL statement to run again: assign it to a variable.")
    source = "(\n" + textwrap.indent(statement.strip().rstrip(";"), "    ") + "\n)"
    if rows > MAX_ROWS:
        spec, sql = spec_sql(spec, source)
    else:
        sql = f"SELECT * FROM {source}"
    args = "".join(f', "{p}": {p}' for p in parameters)[2:]
    params = f", {{{args}}}" if parameters else ""
    lines.append(f'data = {workspace}.con.execute("""\n{sql}\n"""{params}).fetch_arrow_table()')
    return "\n".join([*lines, _altair_call(spec, "data")])


def build_chart(spec: ChartSpec, data: Any) -> alt.Chart:
    """The Altair chart of ``spec`` over ``data`` (a pyarrow Table or a DataFrame)."""
    import altair as alt

    mark = "bar" if spec.mark == "histogram" else spec.mark
    channels = {k: ch.altair(_CHANNEL_CLASS[k]) for k, ch in spec.channels().items()}
    chart: alt.Chart = getattr(alt.Chart(data), f"mark_{mark}")().encode(**channels)
    return chart


def plan(result: SqlResult, **choice: str | None) -> tuple[ChartSpec, pa.Table]:
    """The chart's final spec and data: as is when small, else reduced in DuckDB.

    A line or bar over dates that would still have too many points is bucketed by week,
    month, quarter or year, whichever first fits :data:`MAX_ROWS`.
    """
    source = result.grid_source()

    def cardinality(name: str) -> int:
        sql = f"SELECT approx_count_distinct({quote(name)}) FROM {source.relation}"
        source.check()
        row = first_row(source.con.execute(sql))
        return int(row[0]) if row else 0

    spec = infer_spec(source.formats, cardinality=cardinality, **choice)
    if result.row_count <= MAX_ROWS:
        return spec, result.arrow()
    buckets: tuple[str | None, ...] = (None,)
    if spec.x_role == "temporal" and spec.mark in {"line", "area", "bar"}:
        buckets = (None, "week", "month", "quarter", "year")
    for bucket in buckets:
        final, sql = spec_sql(replace(spec, bucket=bucket), source.relation)
        source.check()
        data: pa.Table = source.con.execute(sql).fetch_arrow_table()
        if data.num_rows <= MAX_ROWS:
            return final, data
    raise ChartError(
        f"The chart would draw {data.num_rows:,} points: aggregate in SQL first, or pick "
        "another x or colour."
    )


def chart_for(result: SqlResult, **choice: str | None) -> alt.Chart:
    """The quick chart of a result (``result.chart()``), aggregated in DuckDB when large."""
    return build_chart(*plan(result, **choice))


__all__ = [
    "MARKS",
    "MAX_ROWS",
    "Channel",
    "ChartError",
    "ChartSpec",
    "build_chart",
    "chart_code",
    "chart_for",
    "infer_spec",
    "plan",
    "role",
    "spec_sql",
]
