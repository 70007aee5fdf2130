"""Naming standards on a real lake: refused writes, sandbox warnings, ``standards check``, promote.

The standards hook is installed through the ``workspace.write_hooks`` entry point, as in every
process that writes; each test points ``WORKSPACE_SCHEDULED`` at its own folder, so the
shipped defaults apply unless it writes a ``standards.yaml`` there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from support.notebooks import make_notebook

import workspace
from workspace.cli.main import cli
from workspace.governance.standards import StandardsError, StandardsWarning
from workspace.lake import Workspace

ROWS = pd.DataFrame({"order_id": [1, 2], "amount": [5.0, 6.0]})


@pytest.fixture(autouse=True)
def scheduled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "scheduled"
    folder.mkdir()
    monkeypatch.delenv("WORKSPACE_STANDARDS", raising=False)
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(folder))
    return folder


def _snapshot(ws: Workspace) -> int:
    return int(ws.con.execute("SELECT id FROM lake.current_snapshot()").fetchone()[0])


def test_a_badly_named_table_or_column_is_refused_and_nothing_committed(ws: Workspace) -> None:
    ws.write("silver.orders", ROWS)
    before = _snapshot(ws)
    with pytest.raises(StandardsError) as err:
        ws.write("silver.CustomerOrders", ROWS)
    assert (
        "silver.CustomerOrders: table names in silver must be snake_case "
        "(rule silver.table.case); use silver.customer_orders"
    ) in str(err.value)
    with pytest.raises(
        StandardsError, match=r"rule silver\.column\.case\); use silver\.orders\.net_amount"
    ):
        ws.write("silver.orders", ROWS.assign(NetAmount=1.0), evolve=True)
    assert _snapshot(ws) == before
    assert [t.name for t in ws.catalog.list()] == ["silver.orders"]
    assert ws.table("silver.orders").columns == ("order_id", "amount")

    # a name that was there before the standards is left to `standards check`
    ws.con.execute('CREATE TABLE lake.bronze."LegacyFeed" AS SELECT 1::BIGINT AS "Id"')
    assert ws.write("bronze.LegacyFeed", pd.DataFrame({"Id": [2]})).rows == 1


def test_sandbox_writes_only_warn(ws: Workspace) -> None:
    with pytest.warns(
        StandardsWarning, match=r"rule sandbox\.table\.case\); use sandbox\.scratch_pad"
    ):
        ws.write("ScratchPad", ROWS)
    assert ws.table("sandbox.ScratchPad").count().execute() == 2


def test_the_team_file_applies_and_a_malformed_one_refuses_shared_writes(
    ws: Workspace, scheduled: Path
) -> None:
    rules = "layers: {gold: {table: {prefixes: [fct_], forbidden_abbreviations: {amt: amount}}}}"
    (scheduled / "standards.yaml").write_text(rules)
    with pytest.raises(
        StandardsError, match=r"rule gold\.table\.abbreviation\); use gold\.fct_amount"
    ):
        ws.write("gold.amt", ROWS)
    ws.write("gold.fct_amount", ROWS)

    (scheduled / "standards.yaml").write_text("layers: {gold: {table: {case: snake}}}")
    with pytest.raises(StandardsError) as err:
        ws.write("gold.fct_more", ROWS)
    assert str(err.value).startswith(
        f"{scheduled / 'standards.yaml'}, field layers.gold.table.case"
    )
    assert "Nothing was written to gold.fct_more" in str(err.value)
    with pytest.warns(StandardsWarning, match="sandbox writes are not checked"):
        ws.write("scratch", ROWS)


def test_metadata_enforcement_write_refuses_writes_to_unannotated_tables(
    ws: Workspace, scheduled: Path
) -> None:
    (scheduled / "standards.yaml").write_text("metadata_enforcement: write")
    ws.write("gold.revenue", ROWS)  # a first write cannot have an owner yet
    with pytest.raises(StandardsError, match=r"rule gold\.table\.owner\)"):
        ws.write("gold.revenue", ROWS)
    ws.catalog.annotate("gold.revenue", owner="finance", description="Revenue per order.")
    assert ws.write("gold.revenue", ROWS).rows == 2


def _check(ws: Workspace, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    for key, value in ws.settings.env().items():
        monkeypatch.setenv(key, value)
    out = CliRunner().invoke(cli, ["standards", "check", *args])
    return out.exit_code, out.stdout


def test_check_lists_violations_and_a_baseline_fails_only_on_new_ones(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ws.write("silver.customers", pd.DataFrame({"email": ["a@b.c"]}))
    ws.catalog.annotate("silver.customers", columns={"email": {"pii": True}})
    ws.con.execute('CREATE TABLE lake.bronze."Feed" AS SELECT 1 AS id')  # from before
    code, out = _check(ws, monkeypatch, "--json")
    assert code == 1
    violations = json.loads(out)["violations"]
    assert {(v["rule"], v["object"], v["suggestion"]) for v in violations} == {
        ("bronze.table.case", "bronze.Feed", "bronze.feed"),
        ("pii.classification", "silver.customers",
         "ws.catalog.annotate('silver.customers', classification='confidential')"),
    }  # fmt: skip
    assert all(set(v) == {"rule", "object", "message", "suggestion"} for v in violations)

    baseline = tmp_path / "baseline.json"
    assert _check(ws, monkeypatch, "--write-baseline", str(baseline))[0] == 0
    code, out = _check(ws, monkeypatch, "--baseline", str(baseline), "--json")
    assert (code, json.loads(out)) == (0, {"violations": [], "accepted": 2})
    ws.write("gold.sales", ROWS)  # no owner, no description
    code, out = _check(ws, monkeypatch, "--baseline", str(baseline))
    assert code == 1
    assert out.splitlines() == [
        "gold.sales: gold tables need an owner (rule gold.table.owner); set it with "
        "ws.catalog.annotate('gold.sales', owner='TEAM') or in the catalog",
        "gold.sales: gold tables need a description (rule gold.table.description); set it "
        "with ws.catalog.annotate('gold.sales', description='...') or in the catalog",
    ]


WRITER = """
import pandas as pd
import workspace
ws = workspace.connect()
ws.write(table, pd.DataFrame({"a": [1]}))
if owner:
    ws.catalog.annotate(table, owner=owner, description="One row.")
"""


@pytest.mark.slow
def test_promote_refuses_a_notebook_writing_a_badly_named_table(
    tmp_path: Path, scheduled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "ada")
    with workspace.connect(home) as ws:  # a table from before the standards
        ws.con.execute('CREATE TABLE lake.silver."OldOrders" AS SELECT 1::BIGINT AS a')
    nb = make_notebook(tmp_path / "writer.ipynb", "table = 'x'\nowner = ''", WRITER, "workspace")

    def promote(table: str, owner: str = "", code: int = 2) -> str:
        args = [str(nb), "--pipeline", "writer", "-p", "table", table, "-p", "owner", owner]
        out = CliRunner().invoke(cli, ["promote", *args, "-q"])
        assert out.exit_code == code, out.output
        assert (scheduled / "writer").exists() == (code == 0)
        return out.stderr

    # a new name: its own write fails in the test run
    assert "rule silver.table.case); use silver.customer_orders" in promote("silver.CustomerOrders")
    # an old name the write leaves alone: the promotion checks what the test run wrote
    refused = promote("silver.OldOrders")
    assert "Not promoted: writer.ipynb writes tables that break the naming standards" in refused
    assert "(rule silver.table.case); use silver.old_orders" in refused

    # metadata rules refuse a promotion when the team's file says so; the notebook meets
    # them by annotating what it writes (the check sees the test run's throwaway lake)
    (scheduled / "standards.yaml").write_text("metadata_enforcement: promote")
    assert "(rule gold.table.owner)" in promote("gold.fresh")
    promote("gold.fresh", owner="finance", code=0)
