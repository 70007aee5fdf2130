"""``ws.sql``: an unmodified SQL table is fetched by running its text, with ibis' results.

The workspace's ibis backend skips ibis' sqlglot round trip for a bare ``ws.sql(q)`` table
(tests/benchmarks/bench_tpch.py); everything else must stay exactly what plain ibis gives.
"""

from __future__ import annotations

import datetime as dt
import decimal

import ibis
import pandas as pd
import pytest

from workspace import Workspace
from workspace.lake.errors import QueryError

QUERY = """
SELECT o.id, o.price, o.day, o.label, [o.id, 2] AS pair, {'k': o.label} AS rec
FROM silver.orders o
WHERE o.price > 1   -- a trailing comment
ORDER BY o.id;
"""


@pytest.fixture
def ws(lake_ws: Workspace) -> Workspace:
    orders = pd.DataFrame(
        {
            "id": [1, 2, 3],
            "price": [decimal.Decimal("1.50"), decimal.Decimal("2.25"), None],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None],
            "label": ["a", None, "c"],
        }
    )
    lake_ws.write("silver.orders", orders)
    return lake_ws


def test_bare_sql_table_equals_plain_ibis(ws: Workspace) -> None:
    plain = ibis.duckdb.from_connection(ws.con)
    ours, theirs = ws.sql(QUERY), plain.sql(QUERY)
    assert ours.schema() == theirs.schema()
    got, want = ours.to_pyarrow(), theirs.to_pyarrow()
    assert got.schema == want.schema
    assert got.equals(want)
    assert got.num_rows == 2
    left, right = ours.to_pandas(), theirs.to_pandas()
    assert list(left.dtypes) == list(right.dtypes)
    assert left.equals(right)
    assert ours.execute().equals(right)


def test_the_fast_path_runs_the_text_as_written(ws: Workspace) -> None:
    t = ws.sql(QUERY)
    assert ws.ibis._plain_query(t, None, None, {}) == QUERY
    assert ws.ibis._plain_query(t, None, 5, {}) is None
    assert ws.ibis._plain_query(t.filter(t.id > 1), None, None, {}) is None


def test_expressions_on_a_sql_table_still_compile_through_ibis(ws: Workspace) -> None:
    t = ws.sql(QUERY)
    assert t.filter(t.id > 1).id.to_pyarrow().to_pylist() == [2]
    assert t.count().execute() == 2
    assert t.to_pyarrow(limit=1).num_rows == 1
    assert t.head(1).to_pandas().id.tolist() == [1]
    assert ws.sql("SELECT 1 AS x").union(ws.sql("SELECT 2 AS x")).x.sum().execute() == 3


def test_errors_and_writes_are_unchanged(ws: Workspace) -> None:
    with pytest.raises(QueryError, match="nope"):
        ws.sql("SELECT * FROM silver.nope")
    ws.write("silver.copy", ws.sql(QUERY))
    assert ws.sql("SELECT count(*) AS n FROM silver.copy").to_pandas().n.tolist() == [2]
