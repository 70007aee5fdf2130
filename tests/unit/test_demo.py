"""The demo lake: bronze/silver/gold, annotations, idempotence, the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.demo import build_demo
from workspace.lake import Workspace, WorkspaceError


@pytest.fixture
def demo(ws: Workspace) -> Workspace:
    build_demo(ws, scale=0.01)
    return ws


def test_layers_are_populated(demo: Workspace) -> None:
    tables = set(demo.tables())
    assert {"bronze.lineitem", "bronze.customer", "silver.line_items", "silver.customers"} <= tables
    gold = [t.name for t in demo.catalog.list(layer="gold")]
    assert len(gold) >= 2 and "gold.revenue_by_nation_month" in gold


def test_silver_and_gold_agree_with_bronze(demo: Workspace) -> None:
    con = demo.con
    bronze = con.execute(
        "SELECT round(sum(l_extendedprice * (1 - l_discount)), 2) FROM lake.bronze.lineitem"
    ).fetchone()[0]
    gold = con.execute(
        "SELECT round(sum(revenue), 2) FROM gold.revenue_by_nation_month"
    ).fetchone()[0]
    assert float(gold) == pytest.approx(float(bronze), abs=1.0)
    customers = con.execute("SELECT count(DISTINCT o_custkey) FROM lake.bronze.orders").fetchone()[
        0
    ]
    assert con.execute("SELECT count(*) FROM gold.customer_segments").fetchone()[0] == customers


def test_every_table_is_annotated_and_pii_flagged(demo: Workspace) -> None:
    for t in demo.catalog.list():
        assert t.owner and t.description and t.tags, t.name
    assert set(demo.catalog.describe("bronze.customer").pii_columns) == {
        "c_name",
        "c_address",
        "c_phone",
    }
    assert set(demo.catalog.describe("silver.customers").pii_columns) == {
        "name",
        "address",
        "phone",
    }
    assert demo.catalog.describe("silver.customers").classification == "confidential"


def test_idempotent_and_scale_mismatch(demo: Workspace) -> None:
    snapshots = len(demo.history("bronze.lineitem"))
    again = build_demo(demo, scale=0.01)
    assert again.built == [] and len(again.skipped) == 16
    assert len(demo.history("bronze.lineitem")) == snapshots
    with pytest.raises(WorkspaceError, match="--force"):
        build_demo(demo, scale=0.02)


def test_rebuilds_a_dropped_mart(demo: Workspace) -> None:
    demo.drop("gold.customer_segments")
    report = build_demo(demo, scale=0.01)
    assert report.built == ["gold.customer_segments"]


def test_bad_scale(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="scale"):
        build_demo(ws, scale=0)


def test_cli_demo_tables_and_describe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path / "cli-home"))
    monkeypatch.setenv("WORKSPACE_USER", "cli")
    runner = CliRunner()
    out = runner.invoke(cli, ["demo", "--scale", "0.01"])
    assert out.exit_code == 0, out.output
    assert "Demo lake ready" in out.output
    assert (tmp_path / "cli-home" / "notebooks" / "tour" / "02-sql-cells.ipynb").exists()
    out = runner.invoke(cli, ["tables", "--layer", "gold"])
    assert "gold.revenue_by_nation_month" in out.output and "bronze" not in out.output
    out = runner.invoke(cli, ["describe", "silver.customers"])
    assert "[PII]" in out.output and "confidential" in out.output
    out = runner.invoke(cli, ["search", "phone"])
    assert "silver.customers" in out.output
    out = runner.invoke(cli, ["describe", "gold.nope"])
    assert out.exit_code == 2
    assert "not found" in out.output and "Traceback" not in out.output
