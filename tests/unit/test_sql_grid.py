"""The result grid's message handler on real DuckDB results: pages, sort, filter, stats, export.

The widget (``ResultGrid``) is created outside a kernel (its comm goes nowhere); every test
talks to it the way its browser side does, through ``grid.handle(message)``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from workspace.sql.formatting import format_value, table_formats
from workspace.sql.grid import PAGE_ROWS, ResultGrid
from workspace.sql.gridquery import TOP_N_ROWS
from workspace.sql.result import SqlResult
from workspace.sql.runner import run_sql

ROWS = 25_000
QUERY = f"""
SELECT i AS id,
       (i * 7919) % 1000 / 4.0 AS amount,
       DATE '2024-01-01' + (i % 366)::INTEGER AS day,
       ['north', 'south', 'east', 'west', NULL][i % 5 + 1] AS region,
       i % 2 = 0 AS even
FROM range({ROWS}) t(i)
"""


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    yield c
    c.close()


@pytest.fixture
def result(con: duckdb.DuckDBPyConnection) -> SqlResult:
    return run_sql(con, QUERY)


@pytest.fixture
def grid(result: SqlResult) -> ResultGrid:
    return result.grid()


def ask(grid: ResultGrid, **message: Any) -> dict[str, Any]:
    (reply, _buffers), *more = grid.handle({"request": 7, **message})
    assert not more
    assert reply["request"] == 7 and "error" not in reply, reply
    return reply


def expected(con: duckdb.DuckDBPyConnection, sql: str) -> list[list[Any]]:
    rows = con.execute(f"SELECT * FROM ({QUERY}) {sql}").fetchall()
    return [[v.isoformat() if hasattr(v, "isoformat") else v for v in r] for r in rows]


def test_first_page_is_in_the_widget_state_with_types_and_formats(grid: ResultGrid) -> None:
    assert grid.row_count == ROWS and grid.first_page["total"] == ROWS
    assert len(grid.first_page["rows"]) == PAGE_ROWS
    assert grid.first_page["rows"][1] == [1, 229.75, "2024-01-02", "south", False]
    kinds = {c["name"]: (c["type"], c["kind"]) for c in grid.columns}
    assert kinds == {
        "id": ("BIGINT", "integer"),
        "amount": ("DOUBLE", "float"),
        "day": ("DATE", "temporal"),
        "region": ("VARCHAR", "text"),
        "even": ("BOOLEAN", "boolean"),
    }
    assert "25,000 rows" in grid.summary


def test_pages_at_any_offset_are_the_rows_of_the_result(
    grid: ResultGrid, con: duckdb.DuckDBPyConnection
) -> None:
    page = ask(grid, kind="rows", offset=24_950, limit=100)
    assert page["offset"] == 24_950 and page["total"] == ROWS
    assert page["rows"] == expected(con, "LIMIT 50 OFFSET 24950")


def test_sort_pages_agree_across_top_n_and_the_sorted_copy(
    grid: ResultGrid, con: duckdb.DuckDBPyConnection
) -> None:
    sort = [{"column": "amount", "descending": True}, {"column": "id"}]
    first = ask(grid, kind="rows", offset=0, limit=5, sort=sort)
    assert first["rows"] == expected(con, "ORDER BY amount DESC, id LIMIT 5")
    # straddle the top-N limit: before it is a top-N query, past it a sorted temp table
    before = ask(grid, kind="rows", offset=TOP_N_ROWS - 100, limit=100, sort=sort)
    after = ask(grid, kind="rows", offset=TOP_N_ROWS, limit=100, sort=sort)
    both = expected(con, f"ORDER BY amount DESC, id LIMIT 200 OFFSET {TOP_N_ROWS - 100}")
    assert before["rows"] + after["rows"] == both


def test_filters_by_number_text_date_and_null(
    grid: ResultGrid, con: duckdb.DuckDBPyConnection
) -> None:
    cases = {
        (("amount", ">= 240"),): "amount >= 240",
        (
            ("amount", "10..20"),
            ("region", "NOR"),
        ): "amount BETWEEN 10 AND 20 AND region ILIKE '%nor%'",
        (("day", "2024-02"),): "CAST(day AS VARCHAR) LIKE '2024-02%'",
        (("day", "> 2024-12-01"), ("even", "true")): "day > DATE '2024-12-01' AND even",
        (("region", "null"),): "region IS NULL",
        (("region", "!th"), ("id", "!= 3")): "region NOT ILIKE '%th%' AND id != 3",
    }
    for filters, where in cases.items():
        page = ask(grid, kind="rows", offset=0, limit=100, filters=dict(filters))
        want = expected(con, f"WHERE {where}")
        assert page["total"] == len(want), where
        assert page["rows"] == want[:100], where


def test_a_filter_that_cannot_be_read_is_an_error_reply(grid: ResultGrid) -> None:
    ((reply, _),) = grid.handle({"kind": "rows", "filters": {"amount": "> lots"}})
    assert reply["error"].startswith("Filter '> lots' on amount: 'lots' is not a number")
    ((reply, _),) = grid.handle({"kind": "rows", "sort": [{"column": "nope"}]})
    assert "no column 'nope'" in reply["error"]
    ((reply, _),) = grid.handle({"kind": "rows", "limit": -1})
    assert reply["kind"] == "error" and "limit" in reply["error"]


def test_stats_give_each_header_a_histogram(grid: ResultGrid) -> None:
    stats = {c["name"]: c for c in ask(grid, kind="stats")["columns"]}
    amount = stats["amount"]["bins"]
    assert len(amount) == 16 and sum(b["count"] for b in amount) == ROWS
    assert amount[0]["label"].startswith("0.00 to ")
    region = stats["region"]
    assert stats["region"]["nulls"] == ROWS // 5 and region["distinct"] == 4
    assert sorted(b["label"] for b in region["bins"]) == ["east", "north", "south", "west"]
    assert sum(b["count"] for b in stats["day"]["bins"]) == ROWS
    assert {b["label"]: b["count"] for b in stats["even"]["bins"]} == {
        "true": ROWS // 2,
        "false": ROWS // 2,
    }


def test_exports_stream_the_filtered_sorted_view(grid: ResultGrid, tmp_path: Path) -> None:
    filters, sort = {"region": "east"}, [{"column": "amount"}]
    chunks = grid.handle({"kind": "export", "format": "parquet", "filters": filters, "sort": sort})
    assert chunks[-1][0]["last"] and chunks[-1][0]["filename"] == "result.parquet"
    (tmp_path / "x.parquet").write_bytes(b"".join(b for _, bufs in chunks for b in bufs))
    table = pq.read_table(tmp_path / "x.parquet")
    assert table.num_rows == ROWS // 5 and set(table.column("region").to_pylist()) == {"east"}
    assert table.column("amount").to_pylist() == sorted(table.column("amount").to_pylist())

    ((_reply, (data,)),) = grid.handle({"kind": "export", "format": "csv", "filters": filters})
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == ["id", "amount", "day", "region", "even"] and len(rows) == ROWS // 5 + 1

    text = ask(grid, kind="copy", filters={"id": "< 3"})["text"]
    assert text.splitlines() == [
        "id\tamount\tday\tregion\teven",
        "0\t0.0\t2024-01-01\tnorth\ttrue",
        "1\t229.75\t2024-01-02\tsouth\tfalse",
        "2\t209.5\t2024-01-03\teast\ttrue",
    ]


def test_result_to_csv_and_parquet(result: SqlResult, tmp_path: Path) -> None:
    assert pq.read_table(result.to_parquet(tmp_path / "r.parquet")).num_rows == ROWS
    lines = result.to_csv(tmp_path / "r.csv").read_text().splitlines()
    assert len(lines) == ROWS + 1 and lines[2] == "1,229.75,2024-01-02,south,false"


def test_a_released_result_answers_with_an_error(
    con: duckdb.DuckDBPyConnection, grid: ResultGrid, result: SqlResult
) -> None:
    ask(grid, kind="rows", offset=0, limit=10, filters={"region": "west"})
    view = grid.data._view_table  # the filtered view, materialized
    tables = "SELECT table_name FROM duckdb_tables() WHERE temporary"
    assert view in {name for (name,) in con.execute(tables).fetchall()}
    result.release()
    ((reply, _),) = grid.handle({"kind": "rows", "offset": 100})
    assert "released to free memory" in reply["error"]
    assert view not in {name for (name,) in con.execute(tables).fetchall()}


def test_results_in_python_memory_have_a_grid_too() -> None:
    shown = run_sql(duckdb.connect(), "SELECT range AS n FROM range(300)", output="pandas")
    grid = shown.grid()
    page = ask(grid, kind="rows", offset=0, limit=3, sort=[{"column": "n", "descending": True}])
    assert page["rows"] == [[299], [298], [297]]


def test_numbers_read_the_same_in_the_static_table_and_the_text() -> None:
    r = run_sql(
        duckdb.connect(),
        "SELECT 640415100.0::DOUBLE AS revenue, 1234567 AS orders, 42 AS o_orderkey, "
        "0.0345::DOUBLE AS share, 12.5::DECIMAL(12,2) AS price",
    )
    html = r._repr_html_()
    for cell in ("640,415,100", "1,234,567", ">42<", "0.0345", "12.50"):
        assert cell in html
    assert "e+08" not in html and "e+08" not in repr(r)
    formats = table_formats(r.head())
    assert [
        format_value(v, f) for v, f in zip(r.head().to_pylist()[0].values(), formats, strict=True)
    ] == [
        "640,415,100",
        "1,234,567",
        "42",
        "0.0345",
        "12.50",
    ]
