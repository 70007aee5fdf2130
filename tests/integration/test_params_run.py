"""Widget parameters through real runs (``workspace run -p``, papermill, a python3 kernel):
a value outside the declaration fails before the first cell; a valid one is used, and the
executed notebook's parameter bar shows it as text (what a report renders)."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result
from support.notebooks import make_notebook

from workspace.cli.main import cli

pytestmark = pytest.mark.slow

CELL = """\
from workspace import params
region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], default="ASIA", label="Region")
min_orders = params.integer("min_orders", 5, min=0, max=100)
segment = params.dropdown("segment", default="BUILDING", query="SELECT s FROM no_such_table")
"""


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    return home


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_checks_widget_parameters(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    body = f"import json; json.dump([region, min_orders, segment], open({str(out)!r}, 'w'))"
    nb = make_notebook(tmp_path / "widgets.ipynb", CELL, body)

    bad = invoke("run", str(nb), "-q", "-p", "region", "MARS")
    assert bad.exit_code != 0
    assert "parameter region: 'MARS' is not one of ASIA, EUROPE, AMERICA" in bad.output
    assert not out.exists()  # no cell ran

    ok = invoke("run", str(nb), "-q", "-p", "region", "EUROPE", "-p", "min_orders", "7")
    assert ok.exit_code == 0, ok.output
    # the injected values won; the failing query left the default and the notebook ran on
    assert json.loads(out.read_text()) == ["EUROPE", 7, "BUILDING"]
    executed = next(home.rglob("executed.ipynb"))
    bar = nbformat.read(executed, as_version=4).cells[0].outputs
    texts = [o["data"]["text/plain"] for o in bar if "text/plain" in o.get("data", {})]
    assert texts == ["region = 'EUROPE'\nmin_orders = 7\nsegment = 'BUILDING'"]
    report = next(home.rglob("report.html")).read_text()
    assert "<th>Region</th><td><code>'EUROPE'</code></td>" in report  # the static fallback


def test_spec_loader_and_jobs_show_use_the_declarations(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "scheduled"
    for name, region in (("sales", "EUROPE"), ("mars", "MARS")):
        (root / name).mkdir(parents=True)
        (root / name / "pipeline.yaml").write_text(
            "defaults: {kernel: python3}\n"
            f"tasks: [{{name: t, notebook: t.ipynb, parameters: {{region: {region}}}}}]\n"
        )
        make_notebook(root / name / "t.ipynb", CELL, "pass")
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(root))
    data = json.loads(invoke("jobs", "list", "--json").stdout)
    assert [p["name"] for p in data["pipelines"]] == ["sales"]
    assert "parameter region: 'MARS' is not one of ASIA, EUROPE, AMERICA" in data["invalid"]["mars"]
    shown = invoke("jobs", "show", "sales")
    assert shown.exit_code == 0, shown.output
    assert "region: dropdown of ASIA, EUROPE, AMERICA (default 'ASIA') [Region]" in shown.stdout
    assert "min_orders: integer 0 .. 100 (default 5)" in shown.stdout
    assert "segment: dropdown from query 'SELECT s FROM no_such_table'" in shown.stdout


def test_query_backed_dropdown_checks_the_injected_value_in_the_kernel(
    home: Path, tmp_path: Path
) -> None:
    cell = (
        "from workspace import params\n"
        "seg = params.dropdown(\"seg\", query=\"SELECT * FROM (VALUES ('a'), ('b')) t(s)\")"
    )
    nb = make_notebook(tmp_path / "seg.ipynb", cell, "print('body ran')")
    bad = invoke("run", str(nb), "-q", "-p", "seg", "z")
    assert bad.exit_code != 0
    assert "at cell 1: ParamError: parameter seg: 'z' is not one of a, b" in bad.output
