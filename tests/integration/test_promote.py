"""``workspace promote``: checks, the test run on a throwaway lake, the pipeline it writes."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from support.notebooks import make_notebook as shared_notebook

import workspace
from workspace.cli.main import cli
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow


def make_notebook(path: Path, params: str | None, body: str, kernel: str = "python3") -> Path:
    return shared_notebook(
        path,
        params or "x = 1",
        body,
        kernel,
        tagged=params is not None,
        stale_output="old output\n",
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "ada")
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(tmp_path / "scheduled"))
    return home


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, ["promote", *args], catch_exceptions=False)


def test_promote_writes_a_valid_pipeline(home: Path, tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "Daily Sales.ipynb", "scale = 1.0\nregion = 'all'", "print(1)")
    args = [str(nb), "--pipeline", "daily_sales", "-k", "python3", "-q"]
    result = invoke(
        *args, "--schedule", "0 6 * * *", "--timezone", "Europe/Amsterdam",
        "-p", "scale", "0.5", "-p", "region", "eu",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    folder = tmp_path / "scheduled" / "daily_sales"
    assert f"pipeline daily_sales: {folder}" in result.stdout
    p = load_pipeline(folder)
    assert p.schedule is not None and p.schedule.cron == "0 6 * * *"
    assert p.schedule.timezone == "Europe/Amsterdam" and p.owner is None  # not in the file
    with RunStore.open(Settings.resolve()) as store:  # the promoter, recorded by the platform
        gov = store.governance("daily_sales")
        assert (gov.owner, gov.approval, gov.promoted_by) == ("ada", "approved", "ada")
    assert [(t.name, t.notebook, t.parameters) for t in p.tasks] == [
        ("daily_sales", "Daily Sales.ipynb", {"scale": 0.5, "region": "eu"})
    ]
    copy = nbformat.read(folder / "Daily Sales.ipynb", as_version=4)
    assert copy.cells[1].outputs == [] and copy.cells[0].metadata["tags"] == ["parameters"]
    report = Path(result.stdout.split("test report: ")[1].split()[0])
    assert report.is_file()

    again = invoke(*args)
    assert again.exit_code == 2 and "already exists" in again.stderr and "--force" in again.stderr
    forced = invoke(*args, "--force")
    assert forced.exit_code == 0, forced.output
    assert load_pipeline(folder).schedule is None  # replaced: manual only now
    assert sorted(f.name for f in folder.iterdir()) == ["Daily Sales.ipynb", "pipeline.yaml"]
    listed = CliRunner().invoke(cli, ["jobs", "list", "--json"])
    assert [p["name"] for p in json.loads(listed.stdout)["pipelines"]] == ["daily_sales"]


def test_promote_checks_before_running(home: Path, tmp_path: Path) -> None:
    scheduled = tmp_path / "scheduled"
    plain = make_notebook(tmp_path / "plain.ipynb", None, "print(1)")
    result = invoke(str(plain), "--pipeline", "plain", "-k", "python3")
    assert result.exit_code == 2 and "no cell tagged 'parameters'" in result.stderr
    nb = make_notebook(tmp_path / "nb.ipynb", "n = 1", "print(n)")
    unknown = invoke(str(nb), "--pipeline", "p", "-k", "python3", "-p", "m", "2")
    assert unknown.exit_code == 2 and "no parameter 'm'" in unknown.stderr
    bad_cron = invoke(str(nb), "--pipeline", "p", "-k", "python3", "--schedule", "61 * * * *")
    assert bad_cron.exit_code == 2 and "not a valid cron expression" in bad_cron.stderr
    bad_name = invoke(str(nb), "--pipeline", "Bad-Name", "-k", "python3")
    assert bad_name.exit_code == 2 and "not valid" in bad_name.stderr
    assert not scheduled.exists()


def test_promote_refuses_a_failing_notebook(home: Path, tmp_path: Path) -> None:
    nb = make_notebook(
        tmp_path / "bad.ipynb", "n = 1", "raise RuntimeError('no data for ' + str(n))"
    )
    result = invoke(str(nb), "--pipeline", "bad", "-k", "python3", "-q")
    assert result.exit_code == 2
    assert "Not promoted" in result.stderr and "in cell 2" in result.stderr
    assert "RuntimeError: no data for 1" in result.stderr and "Traceback" not in result.output
    report = Path(result.stderr.split("report: ")[1].strip())
    assert report.is_file() and report.name == "report.html"
    assert not (tmp_path / "scheduled" / "bad").exists()


def test_promote_refuses_without_an_embedded_catalog(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSPACE_CATALOG", "postgresql://ws@127.0.0.1:1/lake")
    nb = make_notebook(tmp_path / "nb.ipynb", "n = 1", "print(n)")
    result = invoke(str(nb), "--pipeline", "p", "-k", "python3")
    assert result.exit_code == 2 and "throwaway copy" in result.stderr


WRITER = """
import datetime as dt
import pandas as pd
import workspace
ws = workspace.connect()
assert ws.table("gold.x").execute().a.tolist() == [1, 2]      # reads see the real lake
assert ws.table("silver.y").execute().a.tolist() == [3]
ws.write("gold.x", pd.DataFrame({"a": [scale]}), mode="overwrite")
ws.write("gold.fresh", pd.DataFrame({"a": [1]}))
ws.write("silver.y", pd.DataFrame({"a": [4]}))
ws.write("scratch", pd.DataFrame({"a": [7]}), mode="overwrite")  # unqualified: the sandbox
assert ws.table("gold.x").execute().a.tolist() == [scale]
ws.maintain(compact=True, expire_older_than=dt.timedelta(microseconds=1))
"""


def test_test_run_writes_never_reach_the_lake(home: Path, tmp_path: Path) -> None:
    with workspace.connect(home, user="ada") as ws:
        ws.write("gold.x", pd.DataFrame({"a": [1, 2]}), mode="overwrite")
        ws.write("silver.y", pd.DataFrame({"a": [3]}), mode="overwrite")
        snapshots = len(ws.history("gold.x"))
    data = home / "lake" / "data"
    files = {p: p.stat().st_mtime_ns for p in data.rglob("*")}
    nb = make_notebook(tmp_path / "writer.ipynb", "scale = 0", WRITER, kernel="workspace")
    result = invoke(str(nb), "--pipeline", "writer", "-p", "scale", "9", "-q")
    assert result.exit_code == 0, result.output

    assert {p: p.stat().st_mtime_ns for p in data.rglob("*")} == files
    with workspace.connect(home, user="ada") as ws:
        assert ws.table("gold.x").execute().a.tolist() == [1, 2]
        assert ws.table("silver.y").execute().a.tolist() == [3]
        assert len(ws.history("gold.x")) == snapshots
        names = {t.name for t in ws.catalog.list()}
        assert "gold.fresh" not in names
        assert ws.table("sandbox.scratch").execute().a.tolist() == [7]
    promote_dir = home / "jobs" / "promote"
    assert not list(promote_dir.glob("*/lake"))  # the throwaway lake is gone
    assert list(promote_dir.glob("writer-*/attempt/report.html"))
