"""Contracts and Python checks: clear errors for bad input, checks that raise, plug-ins."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import workspace.quality as wq
from workspace.lake import Workspace
from workspace.quality import CheckResult, ContractError, QualityCheckError
from workspace.quality.contract import Contract, contract_path

ORDERS = pd.DataFrame({"id": [1, 2, 3], "status": ["O", "F", "X"], "total": [1.0, 2.0, 3.0]})


@pytest.fixture
def orders(ws: Workspace) -> Workspace:
    ws.write("silver.orders", ORDERS)
    return ws


def _contract_file(ws: Workspace, text: str) -> Path:
    path = contract_path(ws.settings, ws.resolve("silver.orders"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("checks:\n  - type: not_null\n", "checks[0] (not_null).column: is required; add it"),
        ("checks:\n  - type: nul\n    column: id\n", "type must be one of not_null, unique"),
        (
            "checks:\n  - type: range\n    column: id\n    sevrity: warn\n",
            "checks[0] (range).sevrity: is not a known field; remove it",
        ),
        ("checks:\n  - type: freshness\n    max_age: soon\n", "write e.g. 36h, 1d"),
        ("checks: [\n", "is not valid YAML at line 2"),
        ("table: gold.other\nchecks: []\n", "field table is 'gold.other'"),
    ],
)
def test_a_malformed_contract_names_the_file_the_field_and_the_fix(
    orders: Workspace, text: str, names: str
) -> None:
    path = _contract_file(orders, text)
    with pytest.raises(ContractError) as err:
        orders.quality.report("silver.orders")
    assert str(path) in str(err.value) and names in str(err.value)
    with pytest.raises(ContractError, match=r"Nothing was written to silver\.orders"):
        orders.write("silver.orders", ORDERS)  # a gate that cannot read its contract is shut
    assert orders.table("silver.orders").count().execute() == 3


def test_a_check_on_a_missing_column_is_a_clear_error(orders: Workspace) -> None:
    with pytest.raises(ContractError, match=r"names column amount, which silver.orders does not"):
        orders.quality.contract("silver.orders", checks=[{"type": "not_null", "column": "amount"}])
    _contract_file(orders, "checks:\n  - type: not_null\n    column: amount\n")
    (finding,) = orders.quality.report("silver.orders").findings
    assert finding.severity == "error" and finding.column == "amount"
    assert "column amount does not exist in silver.orders (its columns: id, status, total)" in (
        finding.message
    )
    with pytest.raises(QualityCheckError, match="column amount does not exist"):
        orders.write("silver.orders", ORDERS)


@wq.check("raises")
def _raises(table: object) -> bool:
    raise ValueError("the service is down")


@wq.check("bad_cast")
def _bad_cast(table: object) -> int:
    t = table  # an ibis table inside the write's transaction
    return int(t.filter(t.status.cast("int64") > 0).count().execute())  # type: ignore[attr-defined]


def test_a_check_that_raises_is_an_error_of_the_check_not_a_data_failure(
    orders: Workspace,
) -> None:
    checks = [{"type": "python", "function": "raises", "severity": "warn"}]
    orders.quality.contract("silver.orders", checks=checks)
    (finding,) = orders.quality.report("silver.orders").findings
    assert (finding.kind, finding.severity, finding.check) == ("check", "error", "raises")
    assert finding.message == (
        "silver.orders: check raises failed to run: ValueError: the service is down"
    )
    assert orders.write("silver.orders", ORDERS).rows == 3  # declared warn: the write goes on

    orders.quality.contract("silver.orders", checks=[{"type": "python", "function": "raises"}])
    with pytest.raises(QualityCheckError, match="check raises: failed to run: ValueError"):
        orders.write("silver.orders", ORDERS)


def test_a_check_that_aborts_the_transaction_rolls_the_write_back(orders: Workspace) -> None:
    checks = [
        {"type": "python", "function": "bad_cast", "severity": "warn"},
        {"type": "row_count", "min": 1},
        {"type": "sql", "name": "later", "sql": "SELECT * FROM {table} WHERE id < 0"},
    ]
    orders.quality.contract("silver.orders", checks=checks)
    report = orders.quality.report("silver.orders")  # outside a write: the others still run
    assert [o.status for o in report.outcomes] == ["error", "pass", "pass"]
    with pytest.raises(QualityCheckError, match="bad_cast aborted the write's transaction"):
        orders.write("silver.orders", ORDERS)
    assert orders.table("silver.orders").count().execute() == 3


def test_python_checks_by_name_by_module_path_and_by_entry_point(
    orders: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    @wq.check("few_open")
    def few_open(table: object, status: str, limit: int) -> CheckResult:
        t = table
        bad = t.filter(t.status != status).order_by("id").id.to_pyarrow().to_pylist()  # type: ignore[attr-defined]
        return CheckResult(passed=len(bad) <= limit, violations=len(bad), examples=bad,
                           message=f"{len(bad)} orders are not {status}")  # fmt: skip

    plugin = tmp_path / "plugins"
    (plugin / "shop_checks").mkdir(parents=True)
    (plugin / "shop_checks" / "__init__.py").write_text(
        "def positive(table, column):\n"
        "    return int(table.filter(table[column] <= 0).count().execute())\n"
        "def always(table):\n    return True\n"
    )
    dist = plugin / "shop_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shop-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[workspace.quality_checks]\nalways_ok = shop_checks:always\n"
    )
    monkeypatch.syspath_prepend(str(plugin))
    monkeypatch.delitem(sys.modules, "shop_checks", raising=False)
    checks = [
        {"type": "python", "function": "few_open", "args": {"status": "O", "limit": 1}},
        {"type": "python", "function": "shop_checks:positive", "column": "total"},
        {"type": "python", "function": "always_ok"},
    ]
    orders.quality.contract("silver.orders", key="id", checks=checks)
    report = orders.quality.report("silver.orders")
    assert [(o.check.name, o.status) for o in report.outcomes] == [
        ("few_open", "fail"),
        ("positive", "pass"),
        ("always_ok", "pass"),
    ]
    assert report.findings[0].message == (
        "silver.orders: check few_open failed: 2 orders are not O (example keys id: 2, 3)"
    )


def test_an_unknown_python_check_and_a_non_select_sql_check_fail_to_run(
    orders: Workspace,
) -> None:
    checks = [
        {"type": "python", "function": "nowhere"},
        {"type": "sql", "name": "sneaky", "sql": "DELETE FROM {table}"},
    ]
    orders.quality.contract("silver.orders", checks=checks)
    messages = [f.message for f in orders.quality.report("silver.orders").findings]
    assert "No Python check named 'nowhere'" in messages[0]
    assert "its SQL must be exactly one SELECT" in messages[1]
    assert orders.table("silver.orders").count().execute() == 3


def test_declaring_merges_checks_by_name_and_the_file_round_trips(orders: Workspace) -> None:
    first = [{"type": "not_null", "column": "id"}, {"type": "row_count", "min": 1}]
    orders.quality.contract("silver.orders", key="id", checks=first, owner="shop")
    merged = orders.quality.contract(
        "silver.orders", checks=[wq.contract.RowCount(min=2), {"type": "unique", "columns": "id"}]
    )
    assert merged is not None
    assert [(c.name, getattr(c, "min", None)) for c in merged.checks] == [
        ("not_null(id)", None), ("row_count", 2), ("unique(id)", None)
    ]  # fmt: skip
    assert (merged.owner, merged.key) == ("shop", ["id"])
    path = contract_path(orders.settings, orders.resolve("silver.orders"))
    assert Contract.model_validate(__import__("yaml").safe_load(path.read_text())) == merged
    assert "severity" not in path.read_text()  # defaults are left out of the file
    replaced = orders.quality.contract("silver.orders", checks=[], replace=True)
    assert replaced is not None and replaced.checks == [] and replaced.key == []
    assert orders.quality.remove_contract("silver.orders") is True
    assert orders.quality.contract("silver.orders") is None
