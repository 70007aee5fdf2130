"""Each built-in check fails on bad data (with counts and example keys) and passes on good data.

Bad rows are committed before the contract exists; ``ws.quality.report`` then finds them.
Overwriting with good rows afterwards goes through the write gate (the checks run in the
write's transaction and let it commit), and a second report passes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from workspace.lake import Workspace

NOW = pd.Timestamp.now(tz="UTC").tz_localize(None)


def _orders(**changes: list[Any]) -> pd.DataFrame:
    base: dict[str, list[Any]] = {
        "id": [1, 2, 3, 4],
        "customer": [10, 10, 20, 20],
        "status": ["O", "F", "O", "F"],
        "total": [5.0, 10.0, 50.0, 100.0],
        "ts": [NOW - pd.Timedelta(hours=h) for h in (1, 2, 3, 4)],
    }
    base.update(changes)
    frame = pd.DataFrame(base)
    frame["customer"] = frame["customer"].astype("Int64")
    return frame


# (check, bad data, violations, example keys)
CASES: dict[str, tuple[dict[str, Any], pd.DataFrame, int, list[Any]]] = {
    "not_null": (
        {"type": "not_null", "column": "customer"},
        _orders(customer=[10, None, 20, None]), 2, [2, 4],
    ),
    "unique": ({"type": "unique", "columns": "id"}, _orders(id=[1, 2, 2, 4]), 2, [2]),
    "unique_several": (
        {"type": "unique", "columns": ["customer", "status"]},
        _orders(status=["O", "O", "O", "F"]), 2, [{"customer": 10, "status": "O"}],
    ),
    "accepted_values": (
        {"type": "accepted_values", "column": "status", "values": ["O", "F"]},
        _orders(status=["O", "X", "O", "Y"]), 2, [2, 4],
    ),
    "range": (
        {"type": "range", "column": "total", "min": 0, "max": 100},
        _orders(total=[-1.0, 10.0, 50.0, 100.5]), 2, [1, 4],
    ),
    "row_count": ({"type": "row_count", "min": 1, "max": 3}, _orders(), 1, []),
    "freshness_column": (
        {"type": "freshness", "column": "ts", "max_age": "1d"},
        _orders(ts=[NOW - pd.Timedelta(days=d) for d in (2, 3, 4, 5)]), 1, [],
    ),
    "relationships": (
        {"type": "relationships", "column": "customer", "to": "silver.customers", "field": "id"},
        _orders(customer=[10, 99, 20, 98]), 2, [2, 4],
    ),
    "sql": (
        {"type": "sql", "name": "small_orders", "sql": "SELECT * FROM {table} WHERE total > 60"},
        _orders(total=[70.0, 10.0, 50.0, 80.0]), 2, [1, 4],
    ),
    "schema": (
        {"type": "schema", "columns": {"id": "BIGINT", "total": "DOUBLE"}},
        _orders(total=["5", "10", "50", "100"]), 1, ["total is VARCHAR, expected DOUBLE"],
    ),
}  # fmt: skip


@pytest.fixture
def shop(ws: Workspace) -> Workspace:
    ws.write("silver.customers", pd.DataFrame({"id": [10, 20, 30]}))
    return ws


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_fails_on_bad_rows_and_passes_on_good_ones(shop: Workspace, case: str) -> None:
    check, bad, violations, examples = CASES[case]
    shop.write("silver.orders", bad, mode="overwrite")
    shop.quality.contract("silver.orders", key="id", checks=[check])

    report = shop.quality.report("silver.orders")
    (outcome,) = report.outcomes
    assert (outcome.status, outcome.violations) == ("fail", violations)
    assert outcome.examples == examples
    (finding,) = report.findings
    assert (finding.kind, finding.severity, finding.check) == ("check", "error", outcome.check.name)
    assert finding.message.startswith(f"silver.orders: check {outcome.check.name} failed: ")

    shop.write("silver.orders", _orders().head(3), mode="overwrite", evolve=True)  # the gate
    assert [o.status for o in shop.quality.report("silver.orders").outcomes] == ["pass"]


def test_freshness_of_the_last_commit(ws: Workspace) -> None:
    ws.write("silver.orders", _orders())
    ws.quality.contract("silver.orders", checks=[{"type": "freshness", "max_age": "1h"}])
    assert ws.quality.report("silver.orders").passed
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    (finding,) = ws.quality.report("silver.orders", as_of=later).findings
    assert "the last commit is 2.0h old, expected at most 1.0h" in finding.message


def test_row_checks_share_one_scan_and_keep_the_contract_order(ws: Workspace) -> None:
    ws.write("silver.orders", _orders(status=["O", "F", "X", "F"], total=[1.0, 2.0, 3.0, -4.0]))
    checks = [
        {"type": "range", "column": "total", "min": 0},
        {"type": "unique", "columns": "id"},
        {"type": "not_null", "column": "status"},
        {"type": "accepted_values", "column": "status", "values": ["O", "F"], "severity": "warn"},
    ]
    ws.quality.contract("silver.orders", key="id", checks=checks)
    report = ws.quality.report("silver.orders")
    assert [(o.check.name, o.status) for o in report.outcomes] == [
        ("range(total)", "fail"),
        ("unique(id)", "pass"),
        ("not_null(status)", "pass"),
        ("accepted_values(status)", "fail"),
    ]
    assert [o.example_values for o in report.outcomes if o.example_values] == [[-4.0], ["X"]]
    assert [f.severity for f in report.findings] == ["error", "warn"]
    scan = {o.seconds for o in report.outcomes if o.check.type in ("range", "not_null")}
    assert len(scan) == 1  # one shared aggregate computed both


def test_unique_on_a_sparse_integer_key_falls_back_to_group_by(ws: Workspace) -> None:
    ids = [1, 2**40, 2**50, 2**50]  # too wide for a bitmap
    ws.write("silver.orders", _orders(id=ids))
    ws.quality.contract("silver.orders", checks=[{"type": "unique", "columns": "id"}])
    (outcome,) = ws.quality.report("silver.orders").outcomes
    assert (outcome.status, outcome.violations, outcome.examples) == ("fail", 2, [2**50])


def test_examples_never_show_pii_values(shop: Workspace) -> None:
    shop.write("silver.orders", _orders(customer=[10, 10, 20, 20]))
    shop.catalog.annotate("silver.orders", columns={"id": {"pii": True}, "total": {"pii": True}})
    shop.quality.contract(
        "silver.orders", key="id", checks=[{"type": "range", "column": "total", "max": 6}]
    )
    report = shop.quality.report("silver.orders")
    (outcome,) = report.outcomes
    assert outcome.examples == ["***"] * 3 and outcome.example_values == ["***"] * 3
    text = report.findings[0].model_dump_json()
    assert "50.0" not in text and '"***"' in text
