"""Writes: sources, modes, schema checks and evolution, failed writes, on both catalogs."""

from __future__ import annotations

import decimal

import duckdb
import ibis
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from workspace.lake import Workspace
from workspace.lake.errors import (
    QueryError,
    SchemaMismatchError,
    UnsupportedDataError,
    WorkspaceError,
)


def _rows(ws: Workspace, name: str, order: str = "id") -> list[tuple[object, ...]]:
    ref = ws.resolve(name)
    return ws.con.execute(f"SELECT * FROM {ref.sql} ORDER BY {order}").fetchall()


def _types(ws: Workspace, name: str) -> dict[str, str]:
    ref = ws.resolve(name)
    return {r[0]: r[1] for r in ws.con.execute(f"DESCRIBE {ref.sql}").fetchall()}


EXPECTED = [(1, "a"), (2, "b"), (3, "c")]


def _sources(ws: Workspace) -> dict[str, object]:
    ids, names = [1, 2, 3], ["a", "b", "c"]
    ws.write("silver.src", pd.DataFrame({"id": ids, "name": names}), mode="overwrite")
    arrow = pa.table({"id": pa.array(ids, pa.int64()), "name": names})
    return {
        "pandas": pd.DataFrame({"id": ids, "name": names}),
        "polars": pl.DataFrame({"id": ids, "name": names}),
        "polars-lazy": pl.DataFrame({"id": ids, "name": names}).lazy(),
        "pyarrow": arrow,
        "pyarrow-batch": arrow.to_batches()[0],
        "pyarrow-reader": pa.RecordBatchReader.from_batches(arrow.schema, arrow.to_batches()),
        "ibis-same-backend": ws.table("silver.src").order_by("id"),
        "ibis-memtable": ibis.memtable({"id": ids, "name": names}),
        "duckdb-relation": ws.con.sql("SELECT * FROM lake.silver.src"),
    }


def test_write_from_every_supported_source(lake_ws: Workspace) -> None:
    for kind, source in _sources(lake_ws).items():
        result = lake_ws.write(f"from_{kind.replace('-', '_')}", source)
        assert result.rows == 3, kind
        assert result.table == f"sandbox.from_{kind.replace('-', '_')}"
        assert _rows(lake_ws, result.table) == EXPECTED, kind
    assert result.snapshot_id == lake_ws.history(result.table)[-1].snapshot_id


def test_ibis_expression_is_computed_in_the_lake(lake_ws: Workspace) -> None:
    lake_ws.write("silver.orders", pd.DataFrame({"id": range(10), "amount": range(10)}))
    orders = lake_ws.table("silver.orders")
    expr = orders.filter(orders.amount >= 5).mutate(double=orders.amount * 2)
    res = lake_ws.write("gold.big_orders", expr)
    assert res.rows == 5
    assert _rows(lake_ws, "gold.big_orders") == [(i, i, 2 * i) for i in range(5, 10)]


def test_append_then_overwrite(lake_ws: Workspace) -> None:
    lake_ws.write("t", pd.DataFrame({"id": [1, 2]}))
    lake_ws.write("t", pd.DataFrame({"id": [3]}), mode="append")
    assert _rows(lake_ws, "t") == [(1,), (2,), (3,)]
    res = lake_ws.write("t", pd.DataFrame({"id": [9]}), mode="overwrite")
    assert (res.rows, res.mode) == (1, "overwrite")
    assert _rows(lake_ws, "t") == [(9,)]
    with pytest.raises(WorkspaceError, match="mode must be"):
        lake_ws.write("t", pd.DataFrame({"id": [1]}), mode="upsert")  # type: ignore[arg-type]
    assert _rows(lake_ws, "t") == [(9,)]


def test_schema_mismatch_is_refused_and_nothing_written(lake_ws: Workspace) -> None:
    lake_ws.write("silver.t", pd.DataFrame({"id": [1], "name": ["a"], "n": [1]}))
    before = lake_ws.history("silver.t")
    bad = pd.DataFrame({"id": ["x"], "name": ["b"], "extra": [1.5]})
    with pytest.raises(SchemaMismatchError) as info:
        lake_ws.write("silver.t", bad)
    err = info.value
    assert err.extra == ["extra"]
    assert err.missing == ["n"]
    assert [c for c, _, _ in err.changed] == ["id"]
    message = str(err)
    for column in ("extra", "n", "id", "silver.t", "evolve=True", "Nothing was written"):
        assert column in message
    with pytest.raises(SchemaMismatchError):
        lake_ws.write("silver.t", bad, mode="overwrite")
    assert _rows(lake_ws, "silver.t") == [(1, "a", 1)]
    assert lake_ws.history("silver.t") == before


def test_evolve_adds_fills_and_widens(lake_ws: Workspace) -> None:
    first = pa.table({"id": pa.array([1], pa.int32()), "x": pa.array([1.5], pa.float32())})
    lake_ws.write("silver.t", first)
    assert _types(lake_ws, "silver.t") == {"id": "INTEGER", "x": "FLOAT"}
    wider = pa.table(
        {
            "id": pa.array([2**40], pa.int64()),
            "x": pa.array([2.25], pa.float64()),
            "label": ["new"],
        }
    )
    lake_ws.write("silver.t", wider, evolve=True)
    assert _types(lake_ws, "silver.t") == {"id": "BIGINT", "x": "DOUBLE", "label": "VARCHAR"}
    lake_ws.write("silver.t", pd.DataFrame({"id": [3]}), evolve=True)  # x, label missing
    assert _rows(lake_ws, "silver.t") == [
        (1, 1.5, None),
        (3, None, None),
        (2**40, 2.25, "new"),
    ]
    ops = [s.operations for s in lake_ws.history("silver.t")]
    assert any("altered" in o for o in ops)


def test_overwrite_with_evolve_replaces_the_schema(lake_ws: Workspace) -> None:
    lake_ws.write("t", pd.DataFrame({"id": [1], "old": ["x"]}))
    lake_ws.write("t", pd.DataFrame({"id": [2], "new": [True]}), mode="overwrite", evolve=True)
    assert _types(lake_ws, "t") == {"id": "BIGINT", "new": "BOOLEAN"}
    assert _rows(lake_ws, "t") == [(2, True)]
    first = lake_ws.history("t")[0].snapshot_id
    assert lake_ws.table("t", at=first).execute().to_dict("list") == {"id": [1], "old": ["x"]}


UNSUPPORTED_OBJECTS = [{"id": [1]}, [1, 2, 3], 42, "SELECT 1", None, pd.Series([1, 2])]


def test_unsupported_objects_are_rejected_clearly(lake_ws: Workspace) -> None:
    for data in UNSUPPORTED_OBJECTS:
        with pytest.raises(UnsupportedDataError, match="Cannot write an object of type"):
            lake_ws.write("t", data)
    assert lake_ws.tables() == []


def test_unsupported_column_types_are_rejected_and_nothing_written(lake_ws: Workspace) -> None:
    lake_ws.write("t", pd.DataFrame({"id": [1]}))
    sources = {
        "UNION": lake_ws.con.sql("SELECT 2::BIGINT AS id, union_value(k := 1) AS extra"),
        "ENUM": pd.DataFrame({"id": [2], "extra": pd.Categorical(["a"])}),
    }
    for type_name, source in sources.items():
        with pytest.raises(UnsupportedDataError) as info:
            lake_ws.write("t", source, evolve=True)
        message = str(info.value)
        assert type_name in message and "sandbox.t" in message and "Nothing was written" in message
        with pytest.raises(UnsupportedDataError, match=type_name):
            lake_ws.write("fresh", source)
    assert _rows(lake_ws, "t") == [(1,)]
    assert _types(lake_ws, "t") == {"id": "BIGINT"}
    assert len(lake_ws.history("t")) == 1
    assert lake_ws.tables() == ["sandbox.t"]


def _decimal_table(values: list[str], precision: int) -> pa.Table:
    return pa.table(
        {"d": pa.array([decimal.Decimal(v) for v in values], pa.decimal128(precision, 2))}
    )


def test_arrow_source_failing_mid_cast_leaves_previous_version(lake_ws: Workspace) -> None:
    lake_ws.write("silver.prices", _decimal_table(["1.50", "2.25"], 5))
    before = (_rows(lake_ws, "silver.prices", "d"), lake_ws.history("silver.prices"))
    # DECIMAL(20,2) is accepted for a DECIMAL(5,2) column; the last value does not fit.
    source = _decimal_table(["9.99"] * 50_000 + ["12345678.50"], 20)
    for mode in ("append", "overwrite"):
        with pytest.raises(QueryError, match=r"silver\.prices.*nothing was written") as info:
            lake_ws.write("silver.prices", source, mode=mode)  # type: ignore[arg-type]
        assert isinstance(info.value.__cause__, duckdb.ConversionException)
        assert (_rows(lake_ws, "silver.prices", "d"), lake_ws.history("silver.prices")) == before
    lake_ws.write("silver.prices", _decimal_table(["3.00"], 5))
    assert len(_rows(lake_ws, "silver.prices", "d")) == 3


def test_pandas_source_failing_mid_evolve_leaves_previous_version(lake_ws: Workspace) -> None:
    lake_ws.write("t", pd.DataFrame({"id": [1, 2], "code": ["10", "not a number"]}))
    before = (_rows(lake_ws, "t"), lake_ws.history("t"))
    # evolve=True turns code VARCHAR into BIGINT; a row already in the table fails the cast.
    with pytest.raises(SchemaMismatchError, match="code"):
        lake_ws.write("t", pd.DataFrame({"id": [3], "code": [30]}), evolve=True)
    assert (_rows(lake_ws, "t"), lake_ws.history("t")) == before
    # An overwrite with evolve=True replaces the table's schema instead.
    lake_ws.write("t", pd.DataFrame({"id": [3], "code": [30]}), mode="overwrite", evolve=True)
    assert _rows(lake_ws, "t") == [(3, 30)]


def test_cast_error_inside_ibis_expression_leaves_previous_version(lake_ws: Workspace) -> None:
    lake_ws.write(
        "bronze.raw", pd.DataFrame({"id": range(1000), "v": [str(i) for i in range(1000)]})
    )
    lake_ws.write("silver.clean", pd.DataFrame({"id": [0], "v": [0]}))
    before = (_rows(lake_ws, "silver.clean"), lake_ws.history("silver.clean"))
    lake_ws.write("bronze.raw", pd.DataFrame({"id": [1000], "v": ["oops"]}))
    raw = lake_ws.table("bronze.raw")
    expr = raw.mutate(v=raw.v.cast("int64"))
    for mode in ("append", "overwrite"):
        with pytest.raises(QueryError, match=r"(?i)could not convert string 'oops'"):
            lake_ws.write("silver.clean", expr, mode=mode)  # type: ignore[arg-type]
        assert (_rows(lake_ws, "silver.clean"), lake_ws.history("silver.clean")) == before
    with pytest.raises(QueryError):
        lake_ws.write("silver.new_table", expr)
    assert "silver.new_table" not in lake_ws.tables()
    ok = raw.filter(raw.v != "oops").mutate(v=raw.v.cast("int64"))
    assert lake_ws.write("silver.clean", ok, mode="overwrite").rows == 1000
