"""The pipeline commands end to end: ``workspace run`` and ``workspace jobs ...`` on real
kernels (python3, for speed) against a temporary WORKSPACE_HOME and ``scheduled/`` folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result
from support.notebooks import make_notebook

from workspace.cli.main import cli
from workspace.jobs.orchestration.adhoc import adhoc_pipeline, parse_value

pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    return home


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# -- workspace run --------------------------------------------------------------------------
def test_parse_value_like_papermill() -> None:
    assert parse_value("3") == 3 and parse_value("-2.5") == -2.5
    assert parse_value("true") is True and parse_value("False") is False
    assert parse_value("eu-west") == "eu-west" and parse_value("2024-01-01") == "2024-01-01"
    assert parse_value("[1, 2]") == [1, 2] and parse_value("{a: 1}") == {"a": 1}
    assert parse_value("null") is None and parse_value("") == ""
    assert parse_value("a: b: c") == "a: b: c"  # not valid YAML: the text as typed


def test_adhoc_pipeline_name_is_sanitized(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "2024 Daily-Sales.ipynb", "n = 1", "pass")
    p = adhoc_pipeline(nb)
    assert p.name == "adhoc_daily_sales" and p.tasks[0].name == "daily_sales"
    assert p.folder == tmp_path and p.defaults.kernel == "python3"


def test_run_success_records_the_run(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    nb = make_notebook(
        tmp_path / "ok.ipynb",
        "n = 1\nlabel = 'x'\nitems = []\nflag = False\nratio = 0.0",
        f"import json; json.dump([n, label, items, flag, ratio], open({str(out)!r}, 'w'))",
    )
    result = invoke(
        "run", str(nb), "-p", "n", "5", "-p", "label", "eu", "-p", "items", "[1, 2]",
        "-p", "flag", "true", "-p", "ratio", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == [5, "eu", [1, 2], True, 2]
    assert "succeeded" in result.stdout and "report: " in result.stdout
    assert "ok: attempt 1 started" in result.stderr  # progress lines
    report = Path(result.stdout.split("report: ")[1].strip())
    assert report.is_file() and report.is_relative_to(home)
    runs = invoke("jobs", "runs", "adhoc_ok", "--json")
    assert [r["state"] for r in json.loads(runs.stdout)] == ["succeeded"]


def test_run_failure_shows_cell_error_and_report(home: Path, tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "bad.ipynb", "n = 1", "raise ValueError(f'boom {n}')")
    result = invoke("run", str(nb), "-q")
    assert result.exit_code == 1
    assert "failed" in result.stdout and "at cell 2: ValueError: boom 1" in result.stdout
    report = Path(result.stdout.split("report: ")[1].strip())
    assert report.is_file() and result.stderr == ""


def test_run_parameter_errors_are_one_line(home: Path, tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "ok.ipynb", "n = 1", "print(n)")
    unknown = invoke("run", str(nb), "-p", "nope", "1")
    assert unknown.exit_code == 2 and "has no parameter 'nope'" in unknown.stderr
    assert "Traceback" not in unknown.output
    wrong = invoke("run", str(nb), "-p", "n", "abc")
    assert wrong.exit_code == 2 and "'n' should be int" in wrong.stderr
    missing = invoke("run", str(tmp_path / "missing.ipynb"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    plain = make_notebook(tmp_path / "plain.ipynb", "n = 1", "print(n)")
    nbf = nbformat.read(plain, as_version=4)
    nbf.cells[0].metadata["tags"] = []
    nbformat.write(nbf, plain)
    no_cell = invoke("run", str(plain), "-p", "n", "2")
    assert no_cell.exit_code == 2 and "no cell tagged 'parameters'" in no_cell.stderr


def test_workspace_run_as_a_real_subprocess(home: Path, tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "sub.ipynb", "n = 1", "assert n == 3, n")
    exe = Path(sys.executable).with_name("workspace")
    env = {**os.environ, "WORKSPACE_HOME": str(home)}
    ok = subprocess.run(
        [str(exe), "run", str(nb), "-p", "n", "3"], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert "succeeded" in ok.stdout
    bad = subprocess.run([str(exe), "run", str(nb)], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and "AssertionError" in bad.stdout


# -- workspace jobs -------------------------------------------------------------------------
PIPELINE = """
description: two steps
schedule: {cron: "0 6 * * *", timezone: Europe/Amsterdam}
defaults: {kernel: python3}
parameters: {label: base}
tasks:
  - {name: load, notebook: load.ipynb}
  - {name: report, notebook: report.ipynb, depends_on: [load]}
"""


@pytest.fixture
def scheduled(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "scheduled"
    folder = root / "daily"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    gate = tmp_path / "allow"
    make_notebook(
        folder / "load.ipynb",
        "label = ''\nn = 1",
        f"import pathlib\nassert pathlib.Path({str(gate)!r}).exists(), 'gate closed'\n"
        "from workspace.jobs import output\noutput('n', n)",
    )
    make_notebook(folder / "report.ipynb", "label = ''\nn = 1", "print(label, n)")
    manual = root / "manual"
    manual.mkdir()
    (manual / "pipeline.yaml").write_text("tasks: [{name: a, notebook: a.ipynb}]\n")
    make_notebook(manual / "a.ipynb", "", "pass")
    (root / "broken").mkdir()
    (root / "broken" / "pipeline.yaml").write_text("tasks: []\n")
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(root))
    return root


def test_list_show_next_pause_resume(scheduled: Path) -> None:
    listed = invoke("jobs", "list")
    assert listed.exit_code == 0
    assert "daily" in listed.stdout and "0 6 * * * Europe/Amsterdam" in listed.stdout
    assert "broken" in listed.stdout and "invalid" in listed.stdout
    data = json.loads(invoke("jobs", "list", "--json").stdout)
    assert {p["name"] for p in data["pipelines"]} == {"daily", "manual"}
    assert "broken" in data["invalid"]
    shown = invoke("jobs", "show", "daily")
    assert shown.exit_code == 0 and "report" in shown.stdout and "<- load" in shown.stdout
    nxt = json.loads(invoke("jobs", "next", "-n", "3", "--json").stdout)
    assert [n["pipeline"] for n in nxt] == ["daily"] * 3
    assert all(n["at"].endswith(("04:00:00+00:00", "05:00:00+00:00")) for n in nxt)
    assert invoke("jobs", "pause", "daily").exit_code == 0
    assert "paused" in invoke("jobs", "list").stdout
    assert "No scheduled runs" in invoke("jobs", "next").stdout
    assert invoke("jobs", "resume", "daily").exit_code == 0
    assert len(json.loads(invoke("jobs", "next", "--json").stdout)) == 5
    unknown = invoke("jobs", "show", "nope")
    assert unknown.exit_code == 2 and "No pipeline 'nope'" in unknown.stderr
    assert "daily" in unknown.stderr  # names the pipelines there


def test_list_shows_after_cycles_invalid(scheduled: Path) -> None:
    for name, after in (("ping", "pong"), ("pong", "ping"), ("selfish", "selfish")):
        (scheduled / name).mkdir()
        (scheduled / name / "pipeline.yaml").write_text(
            f"after: [{after}]\ntasks: [{{name: a, notebook: a.ipynb}}]\n"
        )
        make_notebook(scheduled / name / "a.ipynb", "", "pass")
    data = json.loads(invoke("jobs", "list", "--json").stdout)
    assert {p["name"] for p in data["pipelines"]} == {"daily", "manual"}
    assert "cycle, ping -> pong -> ping" in data["invalid"]["ping"]
    assert "pipeline.yaml: after[0]: names the pipeline itself" in data["invalid"]["selfish"]
    listed = invoke("jobs", "list").stdout
    assert any(line.startswith("pong") and "invalid" in line for line in listed.splitlines())
    shown = invoke("jobs", "show", "ping")
    assert shown.exit_code != 0 and "cycle" in (shown.stderr + shown.stdout)


def test_scheduled_option_and_default(tmp_path: Path, home: Path) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    result = invoke("jobs", "--scheduled", str(empty), "list")
    assert result.exit_code == 0 and "No pipelines" in result.stdout
    assert "default ./scheduled" in invoke("jobs", "--help").stdout


def test_trigger_runs_repair(scheduled: Path, tmp_path: Path) -> None:
    queued = invoke("jobs", "trigger", "daily", "-p", "n", "4")
    assert queued.exit_code == 0 and "queued" in queued.stdout
    bad = invoke("jobs", "trigger", "daily", "-p", "nope", "1")
    assert bad.exit_code == 2 and "nope" in bad.stderr

    failed = invoke("jobs", "trigger", "daily", "-p", "n", "7", "--wait")
    assert failed.exit_code == 1, failed.output
    assert "load: attempt 1 failed at cell 2: AssertionError: gate closed" in failed.stdout
    run_id = failed.stdout.split()[1].rstrip(":")

    listed = json.loads(invoke("jobs", "runs", "daily", "--json").stdout)
    assert {r["state"] for r in listed} == {"queued", "failed"}
    only_failed = json.loads(invoke("jobs", "runs", "--state", "failed", "--json").stdout)
    assert [r["run_id"] for r in only_failed] == [run_id]
    assert invoke("jobs", "runs", "--since", "1d", "--limit", "1").stdout.count("daily") == 1
    assert invoke("jobs", "runs", "--since", "2999-01-01").stdout.strip() == "No runs match."
    assert invoke("jobs", "runs", "--since", "soon").exit_code == 2

    shown = invoke("jobs", "run", run_id)
    assert "task load: failed" in shown.stdout and "at cell 2" in shown.stdout
    assert "report: " in shown.stdout and "task report: upstream_failed" in shown.stdout
    detail = json.loads(invoke("jobs", "run", run_id, "--json").stdout)
    assert detail["run"]["state"] == "failed" and detail["run"]["parameters"] == {"n": 7}
    load = next(a for a in detail["attempts"] if a["task_key"] == "load")
    assert load["resources"]["cpu_seconds"] > 0 and load["cost"]["cost"] == 0  # no prices
    assert "used: wall " in shown.stdout and detail["currency"] == "USD"

    (tmp_path / "allow").touch()
    repaired = invoke("jobs", "repair", run_id, "--wait", "-q")
    assert repaired.exit_code == 0, repaired.output
    assert "re-queued" in repaired.stdout and "load" in repaired.stdout
    detail = json.loads(invoke("jobs", "run", run_id, "--json").stdout)
    assert detail["run"]["state"] == "succeeded" and detail["run"]["repair_generation"] == 1
    outputs = {t["task_key"]: t["outputs"] for t in detail["tasks"]}
    assert outputs["load"] == {"n": 7}
    again = invoke("jobs", "repair", run_id)
    assert again.exit_code == 0 and "nothing to repair" in again.stdout
    missing = invoke("jobs", "run", "nope")
    assert missing.exit_code == 2 and "Traceback" not in missing.output


def test_share_unshare_owner_through_the_routes(scheduled: Path) -> None:
    shared = invoke("jobs", "share", "daily", "--group", "stakeholders", "--user", "carol")
    assert shared.exit_code == 0, shared.output
    assert "group stakeholders, user carol" in shared.stdout
    partly = invoke("jobs", "unshare", "daily", "--user", "carol")
    assert partly.stdout.strip().endswith("readable by group stakeholders")
    private = invoke("jobs", "unshare", "daily")
    assert "private" in private.stdout
    bad = invoke("jobs", "share", "daily", "--group", "no spaces allowed")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    handed = invoke("jobs", "owner", "daily", "bob", "--reason", "holiday")
    assert handed.exit_code == 0 and "owner is now bob" in handed.stdout
    shown = json.loads(invoke("jobs", "list", "--json").stdout)
    assert {p["name"]: p["owner"] for p in shown["pipelines"]}["daily"] == "bob"
