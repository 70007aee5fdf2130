"""Naming standards without a lake: the file's rules, suggestions, merging and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.governance.standards import (
    DEFAULT_STANDARDS,
    StandardsError,
    current_standards,
    load_standards,
    parse_standards,
)
from workspace.governance.standards_check import table_violations
from workspace.governance.standards_rules import metadata_violations, name_violations
from workspace.lake.metadata import TableAnnotation

CUSTOM = """
version: 1
layers:
  gold:
    table:
      prefixes: [fct_, dim_]
      max_length: 20
      reserved_words: [order]
      forbidden_abbreviations: {cust: customer, amt: amount}
    column:
      reserved_words: [date]
"""


def _rules(found: list) -> dict[str, str | None]:  # type: ignore[type-arg]
    return {v.rule: v.suggestion for v in found}


def test_custom_rules_name_the_rule_and_suggest_a_compliant_name() -> None:
    s = parse_standards(CUSTOM)
    assert _rules(name_violations(s, "gold", "table", "cust_orders")) == {
        "gold.table.prefix": "gold.fct_customer_orders",
        "gold.table.abbreviation": "gold.fct_customer_orders",
    }
    long = name_violations(s, "gold", "table", "fct_revenue_by_customer_region")
    assert _rules(long) == {"gold.table.max_length": "gold.fct_revenue_by"}
    assert "at most 20 characters, not 30" in long[0].message
    assert _rules(name_violations(s, "gold", "table", "order")) == {
        "gold.table.prefix": "gold.fct_order_table",
        "gold.table.reserved_word": "gold.fct_order_table",
    }
    assert _rules(name_violations(s, "gold", "column", "Date", table="t")) == {
        "gold.column.case": "gold.t.date_value",  # snake_case: kept from the defaults
        "gold.column.reserved_word": "gold.t.date_value",
    }
    assert name_violations(s, "silver", "table", "cust_orders") == []  # gold's rules only
    assert name_violations(s, "gold", "table", "dim_customer") == []


def test_a_file_changes_only_what_it_names() -> None:
    s = parse_standards("layers: {silver: {require_owner: true, table: {max_length: 10}}}")
    assert s.requires("silver", "owner") and not s.requires("silver", "description")
    assert s.requires("gold", "owner") and s.requires("gold", "description")  # shipped default
    assert s.rule("silver", "table").case == "snake_case"  # from defaults
    assert s.rule("silver", "table").max_length == 10
    off = parse_standards("layers: {gold: {require_owner: false}}\npii_classification: null")
    assert not off.requires("gold", "owner") and off.pii_classification is None


def test_defaults_ship_with_the_product() -> None:
    s = DEFAULT_STANDARDS
    assert [v.message for v in name_violations(s, "silver", "table", "CustomerOrders")] == [
        "silver.CustomerOrders: table names in silver must be snake_case "
        "(rule silver.table.case); use silver.customer_orders"
    ]
    assert _rules(table_violations(s, "bronze", "orders", ["OrderID", "o_custkey"])) == {
        "bronze.column.case": "bronze.orders.order_id"
    }
    gold = metadata_violations(s, "gold", "revenue", ["amount"], TableAnnotation())
    assert [v.rule for v in gold] == ["gold.table.owner", "gold.table.description"]
    assert metadata_violations(s, "silver", "revenue", ["amount"], TableAnnotation()) == []
    exempt = parse_standards("accepted: [silver.CustomerOrders]")
    assert table_violations(exempt, "silver", "CustomerOrders", []) == []


def test_pii_columns_need_a_classified_table() -> None:
    notes = TableAnnotation.model_validate(
        {"owner": "crm", "description": "d", "columns": {"email": {"pii": True}}}
    )
    (v,) = metadata_violations(DEFAULT_STANDARDS, "silver", "people", ["email"], notes)
    assert v.rule == "pii.classification" and "confidential or higher, not internal" in v.message
    notes.classification = "confidential"
    assert metadata_violations(DEFAULT_STANDARDS, "silver", "people", ["email"], notes) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("layers: {silver: {table: {case: snake}}}", "field layers.silver.table.case: input"),
        ("layers: {silvr: {}}", "field layers.silvr: input should be 'bronze'"),
        ("defaults: {column: {max_length: 0}}", "field defaults.column.max_length"),
        ("metadata_enforcment: write", "field metadata_enforcment: is not a known setting"),
        ("layers: [", "is not valid YAML at line 1"),
        ("- a list", "must be a mapping of settings"),
        ("layers: {gold: {schema: {prefixes: [g_]}}}", "layer names are fixed by the product"),
    ],
)
def test_a_malformed_file_names_the_file_the_field_and_the_fix(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "standards.yaml"
    path.write_text(text)
    with pytest.raises(StandardsError) as err:
        load_standards(path)
    message = str(err.value)
    assert message.startswith(str(path)) and expected in message
    assert "Fix the" in message or "Loosen" in message or "See docs" in message


def test_the_file_in_force(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORKSPACE_STANDARDS", raising=False)
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(tmp_path))
    assert current_standards() is DEFAULT_STANDARDS  # no file: the defaults
    (tmp_path / "standards.yaml").write_text("layers: {silver: {require_owner: true}}")
    assert current_standards().requires("silver", "owner")
    monkeypatch.setenv("WORKSPACE_STANDARDS", str(tmp_path / "missing.yaml"))
    with pytest.raises(StandardsError, match=r"WORKSPACE_STANDARDS=.*missing\.yaml names no file"):
        current_standards()
