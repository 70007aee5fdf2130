"""SQL completion as pure functions (workspace.sql.complete): what Tab offers where.

The same functions answer the kernel's complete_request (tests/integration/
test_sql_kernel_notebook.py checks that path); here "|" marks the cursor in each text.
"""

from __future__ import annotations

import pandas as pd

from workspace.lake import Workspace
from workspace.sql.complete import (
    Names,
    complete_sql,
    complete_table_name,
    duckdb_vocabulary,
    sql_at_cursor,
    table_argument,
    workspace_names,
)
from workspace.sql.complete_names import forget_names

NAMES = Names(
    {
        "gold.orders": ["o_id", "o_total", "o_date"],
        "gold.order_lines": ["l_order", "l_qty"],
        "silver.customer": ["c_id", "c_name"],
        "bronze.orders": ["raw"],
        "sandbox.scratch": ["x", "y"],
        "sandbox.order_lines": ["mine"],
    }
)


def texts(sql: str, **kwargs: object) -> list[str]:
    at = sql.index("|")
    found = complete_sql(sql.replace("|", ""), at, NAMES, **kwargs)  # type: ignore[arg-type]
    return [c.text for c in found.items]


def test_tables_qualified_and_through_the_search_path() -> None:
    assert texts("SELECT * FROM gold.ord|") == ["gold.order_lines", "gold.orders"]
    assert texts("SELECT * FROM lake.silver.c|") == ["lake.silver.customer"]
    assert texts("SELECT * FROM lake.s|") == ["lake.silver."]
    assert texts("SELECT * FROM sandbox.|") == ["sandbox.order_lines", "sandbox.scratch"]
    # unqualified: each name once, as the search path resolves it
    assert texts("SELECT * FROM ord|")[:2] == ["order_lines", "orders"]
    assert "gold." in texts("SELECT * FROM |") and "scratch" in texts("SELECT * FROM |")
    assert texts("SELECT * FROM gold.orders o JOIN cu|")[0] == "customer"
    assert texts("SELECT * FROM gold.orders, cu|")[0] == "customer"


def test_columns_of_the_tables_the_statement_reads() -> None:
    # half-typed: nothing after the dot, the FROM comes after the cursor
    assert texts("SELECT o.| FROM gold.orders o") == ["o.o_id", "o.o_total", "o.o_date"]
    assert texts("SELECT o.o_t| FROM gold.orders AS o") == ["o.o_total"]
    joined = "SELECT * FROM gold.orders o JOIN silver.customer c ON c.| = o.o_id"
    assert texts(joined) == ["c.c_id", "c.c_name"]
    # unqualified table: the search path (sandbox first) decides whose columns
    assert texts("SELECT | FROM order_lines")[0] == "mine"
    assert texts("SELECT * FROM gold.orders WHERE o_d|")[0] == "o_date"
    assert texts("SELECT gold.orders.o_i| FROM gold.orders") == ["gold.orders.o_id"]
    # a WITH query's output columns, and the WITH name as a table
    cte = "WITH t AS (SELECT o_id AS ident, 1 AS one FROM gold.orders) SELECT t.| FROM t"
    assert texts(cte) == ["t.ident", "t.one"]
    assert texts("WITH recent AS (SELECT 1) SELECT * FROM rec|")[0] == "recent"


def test_only_the_statement_at_the_cursor_counts() -> None:
    sql = "SELECT * FROM silver.customer;\nSELECT c_| FROM gold.orders;\nSELECT 1"
    assert [t for t in texts(sql) if t.startswith("c_")] == []
    assert texts("SELECT 1;\nSELECT o| FROM gold.orders")[:3] == ["o_id", "o_total", "o_date"]


def test_keywords_functions_variables_and_frames() -> None:
    vocabulary = duckdb_vocabulary()
    assert "SELECT" in texts("SEL|", vocabulary=vocabulary)
    assert texts("select * from gold.orders gro|", vocabulary=vocabulary)[0] == "group"
    found = texts("SELECT string_ag| FROM gold.orders", vocabulary=vocabulary)
    assert found == ["string_agg"]
    assert texts("SELECT * FROM gold.orders WHERE o_id > $mi|", variables=["min_id", "x"]) == [
        "$min_id"
    ]
    frames = {"sales_df": ["region", "amount"]}
    assert texts("SELECT * FROM sal|", frames=frames)[0] == "sales_df"
    assert texts("SELECT s.| FROM sales_df s", frames=frames) == ["s.region", "s.amount"]


def test_nothing_inside_strings_and_comments() -> None:
    assert texts("SELECT 'gold.or|") == []
    assert texts("SELECT 1 -- FROM gold.or|") == []
    assert texts('SELECT * FROM "gold"."or|') == []


def test_where_the_sql_is_in_a_cell() -> None:
    cell = "%%sql -o top\nSELECT * FROM gold.or"
    assert sql_at_cursor(cell, len(cell)) == ("SELECT * FROM gold.or", 21)
    assert sql_at_cursor(cell, 5) is None  # on the magic's line: IPython's own completion
    line = "x = 1\ntop = %sql -o t SELECT * FROM gold.or\ny = 2"
    at = line.index("\ny")
    assert sql_at_cursor(line, at) == ("SELECT * FROM gold.or", 21)
    assert sql_at_cursor("x = 'SELECT * FROM gold.or'", 25) is None
    assert table_argument('df = ws.table("gold.ord') == ("ws", "gold.ord")
    assert table_argument("ws.write('sandbox.sc") == ("ws", "sandbox.sc")
    assert table_argument('open("gold.') is None


def test_table_names_for_python_strings() -> None:
    assert [c.text for c in complete_table_name("gold.o", NAMES).items] == [
        "gold.order_lines",
        "gold.orders",
    ]
    assert [c.text for c in complete_table_name("b", NAMES).items] == ["bronze."]


def test_names_of_a_real_lake_follow_its_commits(ws: Workspace) -> None:
    ws.write("gold.revenue", pd.DataFrame({"nation": ["FR"], "amount": [1.0]}))
    names = workspace_names(ws)
    assert names.tables_in("gold", "rev") == ["revenue"]
    assert names.columns_of("revenue") == ("nation", "amount")
    ws.write("scratch_table", pd.DataFrame({"x": [1]}))
    forget_names()  # what the kernel does after each cell
    pending = ws.con.execute("SELECT 42")  # a result the notebook has not fetched yet
    assert workspace_names(ws).unqualified("scratch") == ["scratch_table"]
    assert complete_sql("SELECT * FROM gold.r", 20, workspace_names(ws)).items[0].text == (
        "gold.revenue"
    )
    assert pending.fetchall() == [(42,)]  # completion read the catalog on a cursor of its own
