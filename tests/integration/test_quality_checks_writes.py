"""Write-audit-publish: a failing ``error`` check rolls the write back; readers keep the old rows.

Covers ``ws.write`` (pandas, appends and overwrites), Dask writes, a second process reading
the lake, the write-hook seam of :mod:`workspace.lake.hooks`, the recorded results and the
``workspace quality`` CLI's JSON.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.lake import Workspace, hooks
from workspace.lake.writes import WriteResult
from workspace.quality import QualityCheckError
from workspace.quality.checks_results import read_results

GOOD = pd.DataFrame({"id": [1, 2, 3], "status": ["O", "F", "O"], "total": [5.0, 6.0, 7.0]})
CHECKS = [
    {"type": "not_null", "column": "status"},
    {"type": "accepted_values", "column": "status", "values": ["O", "F"], "severity": "warn"},
    {"type": "unique", "columns": "id"},
]


@pytest.fixture
def orders(ws: Workspace) -> Workspace:
    ws.write("silver.orders", GOOD)
    ws.quality.contract("silver.orders", key="id", checks=CHECKS)
    return ws


def _reader_rows(ws: Workspace) -> list[Any]:
    """The rows another process sees (a reader of the lake, not the writer's connection)."""
    code = (
        "import workspace, json; ws = workspace.connect(read_only=True); "
        "print(json.dumps(ws.con.execute('SELECT id FROM lake.silver.orders ORDER BY id')"
        ".fetchall()))"
    )
    env = {**ws.settings.env()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [r[0] for r in json.loads(out.stdout)]


def test_a_failing_error_check_rolls_the_write_back(orders: Workspace) -> None:
    before = orders.history("silver.orders")[-1].snapshot_id
    bad = pd.DataFrame(
        {"id": [4, 5, 6, 7], "status": [None, "O", None, None], "total": [1.0, 2.0, 3.0, 4.0]}
    )
    with pytest.raises(QualityCheckError) as err:
        orders.write("silver.orders", bad)
    assert str(err.value).startswith(
        "Write to silver.orders rolled back by 1 failing check: check not_null(status) on "
        "column status: 3 rows where status is NULL (example keys id: 4, 6, 7). Nothing was "
        "written and readers still see the previous snapshot"
    )
    assert [f.check for f in err.value.findings] == ["not_null(status)"]
    assert orders.history("silver.orders")[-1].snapshot_id == before
    assert _reader_rows(orders) == [1, 2, 3]
    (run,) = read_results(orders.settings, orders.resolve("silver.orders"))
    assert (run["trigger"], run["outcome"], run["snapshot_id"]) == ("write", "blocked", None)

    # any other process (a pipeline's kernel) runs the gate without importing workspace.quality
    code = (
        "import sys, pandas as pd, workspace; workspace.connect().write('silver.orders', "
        "pd.DataFrame({'id': [9], 'status': [None], 'total': [1.0]}).astype({'status': 'str'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=orders.settings.env(), text=True,
                         capture_output=True)  # fmt: skip
    assert out.returncode != 0 and "QualityCheckError: Write to silver.orders" in out.stderr
    assert "workspace.quality" not in code and _reader_rows(orders) == [1, 2, 3]


def test_a_warn_check_records_a_finding_and_lets_the_write_commit(
    orders: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    odd = pd.DataFrame({"id": [4], "status": ["X"], "total": [1.0]})
    with caplog.at_level(logging.WARNING, logger="workspace.quality"):
        result = orders.write("silver.orders", odd)
    assert "check accepted_values(status) failed: 1 row where status is not one of O, F" in (
        caplog.text
    )
    assert _reader_rows(orders) == [1, 2, 3, 4]
    (run,) = read_results(orders.settings, orders.resolve("silver.orders"))
    assert (run["outcome"], run["snapshot_id"], run["rows"]) == ("warned", result.snapshot_id, 1)
    assert [f["check"] for f in run["findings"]] == ["accepted_values(status)"]


def test_an_append_is_judged_by_the_rows_it_adds(ws: Workspace) -> None:
    def rows(*ids: int) -> pd.DataFrame:
        return pd.DataFrame(
            {"id": list(ids), "status": ["F"] * len(ids), "total": [1.0] * len(ids)}
        )

    old = pd.DataFrame({"id": [1, 1, 2], "status": [None, "O", "O"], "total": [1.0, 2.0, 3.0]})
    ws.write("silver.orders", old)  # a NULL status and a duplicate from before the contract
    ws.quality.contract("silver.orders", key="id", checks=CHECKS)
    ws.write("silver.orders", rows(3))  # the old rows do not block it
    ws.write("silver.orders", rows(2**40, 4))  # a sparse key: GROUP BY on the added keys only
    with pytest.raises(QualityCheckError, match=r"unique\(id\) on column id: 2 rows share 1 "
                       r"duplicated value\(s\) of id \(example keys id: 2\)"):  # fmt: skip
        ws.write("silver.orders", rows(2))
    with pytest.raises(QualityCheckError, match=r"unique\(id\) on column id: 2 rows"):
        ws.write("silver.orders", rows(5, 5))
    with pytest.raises(QualityCheckError, match=r"1 row where status is NULL \(example keys id: 1"):
        ws.write("silver.orders", old, mode="overwrite")  # an overwrite checks the whole table
    assert ws.table("silver.orders").count().execute() == 6


def test_a_dask_write_is_blocked_by_an_error_check(orders: Workspace) -> None:
    import dask.dataframe as dd

    before = orders.history("silver.orders")[-1].snapshot_id
    bad = pd.DataFrame({"id": [3, 8, 9, 10], "status": ["O", "F", "O", "F"], "total": [1.0] * 4})
    with pytest.raises(QualityCheckError, match=r"check unique\(id\) on column id: 2 rows"):
        orders.write("silver.orders", dd.from_pandas(bad, npartitions=2))
    assert orders.history("silver.orders")[-1].snapshot_id == before
    assert _reader_rows(orders) == [1, 2, 3]
    folder = orders.settings.lake_data_path / "silver" / "orders"
    assert not [p for p in folder.iterdir() if p.name.startswith("_dask-")]  # staging removed
    good = bad.assign(id=[8, 9, 10, 11])
    assert orders.write("silver.orders", dd.from_pandas(good, npartitions=2)).rows == 4


def test_write_hooks_see_each_write_and_can_veto_it(ws: Workspace) -> None:
    seen: list[tuple[str, str, int, int | None]] = []

    class Veto(hooks.WriteHook):
        def before_commit(self, ctx: hooks.WriteContext) -> None:
            count = ctx.con.execute(f"SELECT count(*) FROM {ctx.ref.sql}").fetchone()
            seen.append((ctx.ref.display, ctx.mode, ctx.rows, count[0] if count else None))
            if ctx.rows > 2:
                raise ValueError("too many rows")

        def after_commit(self, ctx: hooks.WriteContext, result: WriteResult) -> None:
            seen.append(("committed", result.table, result.rows, result.snapshot_id))

    hook = hooks.register(Veto())
    try:
        ws.write("silver.t", pd.DataFrame({"x": [1, 2]}))
        with pytest.raises(ValueError, match="too many rows"):
            ws.write("silver.t", pd.DataFrame({"x": [3, 4, 5]}))
    finally:
        hooks.unregister(hook)
    snapshot = ws.history("silver.t")[-1].snapshot_id
    assert seen == [
        ("silver.t", "append", 2, 2),
        ("committed", "silver.t", 2, snapshot),
        ("silver.t", "append", 3, 5),  # inside the transaction: the new rows are there
    ]
    assert ws.table("silver.t").count().execute() == 2


def test_cli_check_and_contract_json(orders: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in orders.settings.env().items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    out = runner.invoke(cli, ["quality", "check", "silver.orders", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert set(report) == {
        "table",
        "contract",
        "passed",
        "blocking",
        "seconds",
        "checks",
        "findings",
    }
    assert (report["table"], report["passed"], report["findings"]) == ("silver.orders", True, [])
    assert [c["name"] for c in report["checks"]] == [
        "not_null(status)", "accepted_values(status)", "unique(id)"
    ]  # fmt: skip
    assert set(report["checks"][0]) == {
        "name", "type", "column", "severity", "status", "violations", "examples", "message",
        "seconds",
    }  # fmt: skip

    orders.quality.contract("silver.orders", checks=[{"type": "row_count", "max": 2}])
    out = runner.invoke(cli, ["quality", "check", "silver.orders", "--json"])
    assert out.exit_code == 1  # a failing error check
    (finding,) = json.loads(out.output)["findings"]
    assert {k: finding[k] for k in ("table", "kind", "column", "severity", "check")} == {
        "table": "silver.orders", "kind": "check", "column": None, "severity": "error",
        "check": "row_count",
    }  # fmt: skip
    assert finding["message"] == "silver.orders: check row_count failed: 3 rows, expected at most 2"

    out = runner.invoke(cli, ["quality", "contract", "silver.orders", "--json"])
    shown = json.loads(out.output)
    assert shown["table"] == "silver.orders" and shown["path"].endswith("silver.orders.yaml")
    assert [c["type"] for c in shown["contract"]["checks"]] == ["not_null", "accepted_values",
                                                                "unique", "row_count"]  # fmt: skip
    out = runner.invoke(cli, ["quality", "check", "silver.nothing"])
    assert out.exit_code == 2 and "Table 'silver.nothing' not found" in out.output
