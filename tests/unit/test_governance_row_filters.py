"""Row-filtered copies on a tiny lake, as root: publish, the writers' hook, removal.

The OS-level proof (the account reads only its rows, never the full tree) is in
tests/integration/test_tiers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest

from workspace.governance import acl, row_filters
from workspace.governance.classify import classify
from workspace.lake import Settings, Workspace, protected
from workspace.lake.engine import new_duckdb

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ACL grants to another account")
USER = "nobody"


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings.resolve(tmp_path_factory.mktemp("rows") / "home", user="owner")
    with Workspace(settings) as ws:
        ws.write("silver.orders", pd.DataFrame({
            "id": [1, 2, 3], "region": ["EUROPE", "ASIA", "EUROPE"], "amount": [10, 20, 30],
        }))  # fmt: skip
    classify(settings, "silver.orders", "confidential")
    yield settings


def _copy(settings: Settings) -> list[tuple[object, ...]]:
    root = protected.filter_root(settings, "silver.orders", USER)
    con = new_duckdb()
    try:
        con.execute(f"ATTACH 'ducklake:sqlite:{protected.catalog_file(root)}' AS f "
                    f"(DATA_PATH '{protected.data_dir(root)}/', READ_ONLY)")  # fmt: skip
        return con.execute("SELECT * FROM f.silver.orders ORDER BY id").fetchall()
    finally:
        con.close()


def test_conditions_are_checked_against_the_columns() -> None:
    cols = ["id", "region"]
    assert row_filters.check_condition("region IN ('EUROPE','ASIA')", cols) == (
        "region IN ('EUROPE', 'ASIA')"
    )
    for bad, why in [
        ("country = 'FR'", "no column 'country'"),
        ("lower(region) = 'europe'", "is not allowed"),
        ("42", "is not a condition"),
        ("id = 1 OR (SELECT 1) = 1", "is not allowed"),
        ("id = ", "Cannot read the row filter"),
        ("t.region = 'x'", "no column"),
    ]:
        with pytest.raises(row_filters.RowFilterError, match=why):
            row_filters.check_condition(bad, cols)
    with pytest.raises(row_filters.RowFilterError, match="not to the tier"):
        row_filters.condition_for(Settings.resolve(), "tier", "restricted", "id = 1")


def test_the_copy_follows_appends_overwrites_and_new_columns(lake: Settings) -> None:
    with Workspace(lake) as ws:
        row_filters.publish(ws, "silver.orders", USER, "region = 'EUROPE'")
    root = protected.filter_root(lake, "silver.orders", USER)
    assert USER in acl.readers(root)
    assert [r[0] for r in _copy(lake)] == [1, 3]
    with Workspace(lake) as ws:  # an append: only its own rows, filtered (the hook)
        ws.write("silver.orders", pd.DataFrame({
            "id": [4, 5], "region": ["ASIA", "EUROPE"], "amount": [40, 50],
        }), mode="append")  # fmt: skip
        assert [r[0] for r in _copy(lake)] == [1, 3, 5]
        snapshot = row_filters.filters(lake, "silver.orders")[USER]["snapshot"]
        assert snapshot == row_filters._current_snapshot(lake, "silver.orders")
        ws.write("silver.orders", pd.DataFrame({  # a new column: copied again in full
            "id": [6], "region": ["EUROPE"], "amount": [60], "note": ["x"],
        }), mode="append", evolve=True)  # fmt: skip
        assert [r[0] for r in _copy(lake)] == [1, 3, 5, 6]
        assert _copy(lake)[-1][-1] == "x"
        ws.write("silver.orders", pd.DataFrame({
            "id": [7, 8], "region": ["ASIA", "EUROPE"], "amount": [70, 80], "note": ["a", "b"],
        }), mode="overwrite")  # fmt: skip
        assert [r[0] for r in _copy(lake)] == [8]
    assert row_filters.remove(lake, "silver.orders", USER)
    assert not root.exists() and row_filters.filters(lake, "silver.orders") == {}
