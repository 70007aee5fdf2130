"""Quick charts: inference per combination of column types, large results, generated code."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from workspace.sql.chart_builder import ChartBuilder
from workspace.sql.charts import MAX_ROWS, ChartError, chart_code, infer_spec, plan
from workspace.sql.formatting import ColumnFormat
from workspace.sql.runner import run_sql

DAY = ColumnFormat("day", "DATE", "temporal")
REVENUE = ColumnFormat("revenue", "DOUBLE", "float", 2)
ORDERS = ColumnFormat("orders", "BIGINT", "integer")
NATION = ColumnFormat("nation", "VARCHAR", "text")
KEY = ColumnFormat("o_orderkey", "BIGINT", "integer", grouping=False)


@pytest.mark.parametrize(
    ("columns", "mark", "x", "y"),
    [
        ([NATION, DAY, REVENUE], "line", "day", "revenue"),  # temporal + numeric
        ([KEY, NATION, REVENUE], "bar", "nation", "revenue"),  # categorical + numeric
        ([REVENUE, ORDERS], "point", "revenue", "orders"),  # two numerics
        ([KEY, REVENUE], "bar", "o_orderkey", "revenue"),  # an id is a category
        ([REVENUE], "histogram", "revenue", None),  # one numeric
        ([DAY], "histogram", "day", None),  # dates alone: rows per month
        ([NATION], "bar", "nation", None),  # a category alone: rows per value
    ],
)
def test_inference_per_type_combination(
    columns: list[ColumnFormat], mark: str, x: str, y: str | None
) -> None:
    spec = infer_spec(columns)
    assert (spec.mark, spec.x, spec.y) == (mark, x, y)


def test_a_category_with_few_values_colours_the_marks() -> None:
    few = infer_spec([DAY, NATION, REVENUE], cardinality=lambda name: 5)
    many = infer_spec([DAY, NATION, REVENUE], cardinality=lambda name: 500)
    assert (few.color, many.color) == ("nation", None)


def test_bad_choices_say_what_to_pick() -> None:
    with pytest.raises(ChartError, match=r"no column 'price'.*day, revenue"):
        infer_spec([DAY, REVENUE], y="price")
    with pytest.raises(ChartError, match="y axis needs a number column; 'day' is temporal"):
        infer_spec([DAY, REVENUE], y="day")
    with pytest.raises(ChartError, match="Unknown mark 'pie'"):
        infer_spec([DAY, REVENUE], mark="pie")
    with pytest.raises(ChartError, match="No column of this result can be charted"):
        infer_spec([ColumnFormat("tags", "VARCHAR[]", "other")])


SMALL = """
SELECT DATE '2024-01-01' + INTERVAL (i % 12) MONTH AS month,
       ['ASIA', 'EUROPE', 'AMERICA'][i % 3 + 1] AS region,
       i * 1.5 AS revenue
FROM range(36) t(i)
"""


def _encoding(chart: Any) -> dict[str, Any]:
    spec = chart.to_dict()
    return {"mark": spec["mark"], **spec["encoding"]}


def test_chart_of_a_small_result_aggregates_in_vega_lite() -> None:
    result = run_sql(duckdb.connect(), SMALL)
    spec = _encoding(result.chart())
    assert spec["mark"] == {"type": "line"}
    assert spec["x"] == {"field": "month", "type": "temporal"}
    assert spec["y"] == {"aggregate": "sum", "field": "revenue", "type": "quantitative"}
    assert spec["color"] == {"field": "region", "type": "nominal"}
    bars = _encoding(result.chart(x="region", y="revenue"))
    assert bars["mark"] == {"type": "bar"} and bars["x"]["sort"] == "-y"


def test_chart_of_a_large_result_is_reduced_in_duckdb() -> None:
    con = duckdb.connect()
    big = run_sql(
        con,
        "SELECT i AS n, (i * 37) % 1000 / 10.0 AS amount, 'c' || (i % 7) AS cat, "
        "DATE '2020-01-01' + (i % 900)::INTEGER AS day FROM range(100000) t(i)",
    )
    spec, data = plan(big, x="amount")  # histogram: 30 bins counted by DuckDB
    assert spec.aggregated and data.num_rows == 30
    assert sum(data.column("count").to_pylist()) == 100_000
    spec, data = plan(big)  # a line per category over 900 days: bucketed by week
    assert (spec.mark, spec.bucket, spec.color) == ("line", "week", "cat")
    assert data.num_rows <= MAX_ROWS
    total = con.execute("SELECT sum(i) FROM range(100000) t(i)").fetchone()
    assert total is not None and sum(data.column("n").to_pylist()) == total[0]
    spec, data = plan(big, x="n", y="amount")  # scatter: a repeatable sample
    assert data.num_rows == MAX_ROWS and data.equals(plan(big, x="n", y="amount")[1])


def test_generated_code_draws_the_same_chart() -> None:
    con = duckdb.connect()

    class Ws:  # the notebook's `ws`: the code uses only its DuckDB connection
        pass

    ws = Ws()
    ws.con = con  # type: ignore[attr-defined]
    low = 5
    statement = (
        "SELECT 'd' || (i % 10) AS digit, i * 2.0 AS twice FROM range(20000) t(i) WHERE i >= $low"
    )
    large = run_sql(con, statement, variables={"low": low})
    small = run_sql(con, "SELECT 'd' || i AS digit, i * 2.0 AS twice FROM range(10) t(i)")
    for result, variable in ((large, None), (small, "r")):
        spec, _ = plan(result)
        code = chart_code(
            spec,
            variable=variable,
            statement=result.statement,
            parameters=["low"] if result is large else [],
            rows=result.row_count,
        )
        namespace: dict[str, Any] = {"ws": ws, "low": low, "r": result}
        exec(code.replace("\nalt.Chart(", "\nchart = alt.Chart("), namespace)
        drawn, shown = namespace["chart"].to_dict(), result.chart().to_dict()
        assert drawn["mark"] == shown["mark"] == {"type": "bar"}
        assert drawn["encoding"] == shown["encoding"]
        assert list(drawn["datasets"].values()) == list(shown["datasets"].values())
    assert '{"low": low}' in chart_code(
        plan(large)[0], variable=None, statement=statement, parameters=["low"], rows=20_000
    )


def test_builder_rewrites_the_code_when_a_dropdown_changes() -> None:
    result = run_sql(duckdb.connect(), SMALL)
    builder = ChartBuilder(result, variable="sales")
    assert "alt.Chart(sales).mark_line()" in builder.code
    builder.controls.x, builder.controls.y = "region", "revenue"
    assert 'x=alt.X("region:N").sort("-y")' in builder.code
    builder.controls.mark = "point"
    assert "mark_point()" in builder.code and 'y="revenue:Q"' in builder.code
    builder.controls.y = "month"
    assert builder.code == "" and "y axis needs a number column" in builder.controls.error
