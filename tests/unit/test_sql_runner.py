"""The shared SQL runner and its result object, on a real workspace connection."""

from __future__ import annotations

import gc

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from workspace.lake import QueryError, Workspace
from workspace.sql.result import SqlResult
from workspace.sql.runner import one_line, parse_statements, run_sql


def _temp_tables(ws: Workspace) -> set[str]:
    rows = ws.con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    return {r[0] for r in rows}


def _temp_views(ws: Workspace) -> set[str]:
    rows = ws.con.execute(
        "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall()
    return {r[0] for r in rows}


def test_query_with_parameters_reads_lake_table(ws: Workspace) -> None:
    ws.write("silver.prices", pd.DataFrame({"item": list("abcd"), "price": [1, 5, 7, 9]}))
    r = run_sql(
        ws.con, "SELECT item FROM prices WHERE price > $low ORDER BY item", variables={"low": 4}
    )
    assert r.row_count == 3
    assert r.columns == ["item"]
    assert r.df().item.tolist() == ["b", "c", "d"]
    assert r.arrow().column("item").to_pylist() == ["b", "c", "d"]


def test_variable_is_bound_as_value_never_pasted_into_sql(ws: Workspace) -> None:
    ws.write("victims", pd.DataFrame({"name": ["alice", "bob"]}))
    evil = "x'; DROP TABLE sandbox.victims; --"
    r = run_sql(
        ws.con,
        "SELECT $evil AS v, count(*) AS n FROM victims WHERE name = $evil",
        variables={"evil": evil},
    )
    assert r.df().v.tolist() == [evil]
    assert r.df().n.tolist() == [0]
    assert "sandbox.victims" in ws.tables()
    assert ws.con.execute("SELECT count(*) FROM sandbox.victims").fetchone() == (2,)


def test_missing_variable_is_named(ws: Workspace) -> None:
    with pytest.raises(QueryError, match=r"\$min_price has no value.*'min_price'"):
        run_sql(ws.con, "SELECT 1;\nSELECT $min_price", variables={})


def test_positional_parameters_are_refused(ws: Workspace) -> None:
    with pytest.raises(QueryError, match="Positional parameters"):
        run_sql(ws.con, "SELECT ?")


def test_several_statements_run_in_order_and_last_result_is_returned(ws: Workspace) -> None:
    r = run_sql(
        ws.con,
        "CREATE TABLE sandbox.t (i INTEGER);\nINSERT INTO sandbox.t VALUES (1), (2), (3);\n"
        "SELECT sum(i) AS total FROM sandbox.t",
    )
    assert r.df().total.tolist() == [6]
    assert r.statement == "SELECT sum(i) AS total FROM sandbox.t"


def test_statement_lines_are_counted_in_the_cell() -> None:
    stmts = parse_statements("SELECT 1;\n\n  -- note\n  SELECT 2;\nSELECT 3")
    assert [(s.index, s.line) for s in stmts] == [(1, 1), (2, 3), (3, 5)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame({"a": [1, 2, 3]}),
        lambda: pl.DataFrame({"a": [1, 2, 3]}),
        lambda: pa.table({"a": [1, 2, 3]}),
    ],
    ids=["pandas", "polars", "pyarrow"],
)
def test_notebook_frames_are_queryable_and_unregistered_after(ws: Workspace, make: object) -> None:
    frame = make()  # type: ignore[operator]
    r = run_sql(ws.con, "SELECT sum(a) AS s FROM my_frame", variables={"my_frame": frame})
    assert r.df().s.tolist() == [6]
    assert "my_frame" not in _temp_views(ws)


def test_frame_variable_wins_over_table_of_same_unqualified_name(ws: Workspace) -> None:
    ws.write("orders", pd.DataFrame({"a": [1, 2]}))
    frame = pd.DataFrame({"a": [10, 20, 30]})
    assert (
        run_sql(ws.con, "SELECT count(*) AS n FROM orders", variables={"orders": frame}).df().n[0]
        == 3
    )
    assert (
        run_sql(ws.con, "SELECT count(*) AS n FROM sandbox.orders", variables={"orders": frame})
        .df()
        .n[0]
        == 2
    )


def test_large_result_display_fetches_only_the_head(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = run_sql(ws.con, "SELECT range AS i, range * 2 AS j FROM range(2000000)", display_rows=7)
    assert r.row_count == 2_000_000

    def fail(self: SqlResult) -> None:
        raise AssertionError("displaying must not fetch the whole result")

    monkeypatch.setattr(SqlResult, "df", fail)
    monkeypatch.setattr(SqlResult, "arrow", fail)
    html = r._repr_html_()
    text = repr(r)
    assert html.count("<tr>") == 1 + 7  # header + shown rows
    assert "2,000,000 rows" in html and "2,000,000 rows" in text
    assert "showing the first 7" in text
    assert r.head().num_rows == 7


def test_result_temp_table_is_dropped_with_the_result(ws: Workspace) -> None:
    before = _temp_tables(ws)
    r = run_sql(ws.con, "SELECT 1 AS x")
    assert len(_temp_tables(ws) - before) == 1
    del r
    gc.collect()
    assert _temp_tables(ws) == before


def test_pandas_output_fetches_everything(ws: Workspace) -> None:
    r = run_sql(ws.con, "SELECT range AS i FROM range(25)", output="pandas", display_rows=5)
    assert isinstance(r.df(), pd.DataFrame)
    assert r.df().i.tolist() == list(range(25))
    assert r.head().num_rows == 5


def test_statements_that_cannot_be_materialized_still_show(ws: Workspace) -> None:
    ws.write("t", pd.DataFrame({"a": [1]}))
    r = run_sql(ws.con, "DESCRIBE sandbox.t")
    assert r.df().column_name.tolist() == ["a"]
    ddl = run_sql(ws.con, "CREATE TABLE sandbox.u (i INTEGER)")
    assert "rows" in repr(ddl) or repr(ddl).startswith("OK")


def test_unknown_table_mentions_catalog_list_and_hides_wrapper(ws: Workspace) -> None:
    with pytest.raises(QueryError) as info:
        run_sql(ws.con, "SELECT * FROM no_such_table")
    message = str(info.value)
    assert "no_such_table" in message
    assert "ws.catalog.list()" in message
    assert "CREATE TEMP TABLE" not in message
    assert "LINE 1: SELECT * FROM no_such_table" in message


def test_error_names_statement_and_cell_line(ws: Workspace) -> None:
    sql = "SELECT 1;\n\nSELECT *\nFROM range(3) WHERE nosuch = 1"
    with pytest.raises(QueryError) as info:
        run_sql(ws.con, sql)
    message = str(info.value)
    assert "(statement 2, line 3)" in message
    assert "LINE 4: FROM range(3) WHERE nosuch = 1" in message
    assert info.value.index == 2


@pytest.mark.parametrize("sql", ["SELEC 1", "", "  ;  "])
def test_syntax_errors_and_empty_sql(ws: Workspace, sql: str) -> None:
    with pytest.raises(QueryError):
        run_sql(ws.con, sql)


def test_one_line() -> None:
    msg = "Binder Error: bad (statement 2, line 3)\nCandidate: x\n\nLINE 4: FROM t\n     ^\nhint"
    assert (
        one_line(msg)
        == "Binder Error: bad (statement 2, line 3) Candidate: x [LINE 4: FROM t] hint"
    )


def test_result_converts_for_arrow_polars_and_altair(ws: Workspace) -> None:
    import altair as alt

    r = run_sql(ws.con, "SELECT range AS x, range * 10 AS y FROM range(4)")
    assert pa.table(r).column("y").to_pylist() == [0, 10, 20, 30]
    assert r.pl()["x"].to_list() == [0, 1, 2, 3]
    spec = alt.Chart(r).mark_bar().encode(x="x:O", y="y:Q").to_dict()
    (values,) = spec["datasets"].values()
    assert values == [{"x": i, "y": i * 10} for i in range(4)]


def test_display_formats_floats_and_dates_readably() -> None:
    import duckdb

    from workspace.sql.runner import run_sql

    con = duckdb.connect()
    sql = (
        "SELECT 53540803.800000004::DOUBLE AS revenue, 1.5e-09::DOUBLE AS tiny, "
        "DATE '1992-01-01' AS month, TIMESTAMP '1992-01-01 10:30:00' AS ts"
    )
    shown = run_sql(con, sql)._repr_html_()
    right = "<td style='text-align: right'>"
    assert f"{right}53,540,803.80</td>" in shown and f"{right}1.5e-09</td>" in shown
    assert "<td>1992-01-01</td>" in shown and "<td>1992-01-01 10:30:00</td>" in shown
    as_pandas = run_sql(con, sql, output="pandas")._repr_html_()
    assert "<td>1992-01-01</td>" in as_pandas and "00:00:00" not in as_pandas


def test_old_results_are_released_but_stay_displayable() -> None:
    import duckdb

    from workspace.sql import result as result_mod
    from workspace.sql.runner import run_sql

    con = duckdb.connect()
    first = run_sql(con, "SELECT range AS i FROM range(100)")
    shown = first._repr_html_()
    later = [run_sql(con, f"SELECT {n} AS n") for n in range(result_mod.MAX_LIVE_RESULTS)]
    temp_tables = con.execute(
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE temporary AND table_name LIKE '_ws_sql_result_%'"
    ).fetchone()[0]
    assert temp_tables == result_mod.MAX_LIVE_RESULTS
    assert first._repr_html_() == shown  # what was on screen is still there
    with pytest.raises(result_mod.ResultReleasedError, match="Run the cell again"):
        first.df()
    assert int(later[-1].df().n[0]) == result_mod.MAX_LIVE_RESULTS - 1
