"""pipeline.yaml validation: clear errors naming the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from workspace.jobs.spec.discovery import discover
from workspace.jobs.spec.pipeline import (
    OutputCondition,
    Pipeline,
    PipelineSpecError,
    load_pipeline,
    parse_duration,
    parse_pipeline,
)

SRC = "scheduled/x/pipeline.yaml"

GOOD = """
description: Daily refresh
owner: data-platform
schedule: {cron: "0 6 * * *", timezone: Europe/Amsterdam, catchup: all, max_catchup: 3}
concurrency: 2
defaults: {retries: 2, timeout: 30m}
tasks:
  - name: load
    notebook: load.ipynb
    parameters: {scale: 0.1}
    pool: warehouse
    retries: {count: 3, backoff: 10s}
  - name: gate
    notebook: gate.ipynb
    depends_on: [load]
    timeout: 90
  - name: publish
    notebook: publish.ipynb
    depends_on: [gate]
    run_if: {output: gate.passed, op: "==", value: true}
  - name: regions
    notebook: region.ipynb
    depends_on: [publish]
    for_each: {query: "SELECT r_name FROM bronze.region", as: region}
  - name: summary
    notebook: summary.ipynb
    depends_on: [regions]
    run_if: all_done
    on_failure: notify.ipynb
"""


def test_a_full_spec_parses_with_defaults_applied() -> None:
    p = parse_pipeline(GOOD, source=SRC, name="refresh")
    assert p.name == "refresh" and p.concurrency == 2 and p.max_active_runs == 1
    load, gate, publish, regions, summary = p.tasks
    assert p.retries_for(load).count == 3 and p.retries_for(load).delay(2) == 20.0
    assert p.retries_for(gate).count == 2
    assert p.timeout_for(gate) == 90.0 and p.timeout_for(load) == 1800.0
    assert isinstance(publish.run_if, OutputCondition) and publish.run_if.task == "gate"
    assert regions.for_each is not None and regions.for_each.as_ == "region"
    assert summary.run_if == "all_done" and summary.on_failure == "notify.ipynb"
    assert p.downstream["gate"] == {"publish"}
    assert p.ancestors()["summary"] == {"load", "gate", "publish", "regions"}
    assert p.schedule is not None and p.schedule.catchup == "all"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("tasks: [\n", "line 2, column 1: not valid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        ("description: x\n", "tasks: Field required"),
        ("tasks:\n - {name: a, notebok: a.ipynb}\n", "tasks[0].notebok: Extra inputs"),
        ("tasks:\n - {name: A-1, notebook: a.ipynb}\n", "tasks[0].name"),
        ("tasks:\n - {name: a, notebook: a.py}\n", "expected a .ipynb notebook path"),
        ("tasks:\n - {name: a, notebook: ../a.ipynb}\n", "without '..'"),
        (
            "tasks:\n - {name: a, notebook: a.ipynb}\n - {name: a, notebook: b.ipynb}\n",
            "repeated: a",
        ),
        ("tasks:\n - {name: a, notebook: a.ipynb, depends_on: [zz]}\n", "unknown task(s) zz"),
        (
            "tasks:\n - {name: a, notebook: a.ipynb, depends_on: [b]}\n"
            " - {name: b, notebook: b.ipynb, depends_on: [a]}\n",
            "cycle: a -> b -> a",
        ),
        (
            "tasks:\n - {name: a, notebook: a.ipynb}\n"
            " - {name: b, notebook: b.ipynb, run_if: {output: a.ok}}\n",
            "'a' is not upstream of 'b'",
        ),
        ("tasks:\n - {name: a, notebook: a.ipynb, run_if: sometimes}\n", "tasks[0].run_if"),
        (
            "tasks:\n - {name: a, notebook: a.ipynb, retries: {count: -1}}\n",
            "tasks[0].retries.count: Input should be greater than or equal to 0 (got -1)",
        ),
        ("tasks:\n - {name: a, notebook: a.ipynb, timeout: soon}\n", "tasks[0].timeout"),
        (
            "tasks:\n - {name: a, notebook: a.ipynb, for_each: {values: [1], query: x}}\n",
            "exactly one of 'values'",
        ),
        (
            "schedule: {cron: '99 * * * *'}\ntasks:\n - {name: a, notebook: a.ipynb}\n",
            "schedule.cron: '99 * * * *' is not a valid cron expression",
        ),
        (
            "schedule: {cron: '0 * * * *', timezone: Mars/Base}\n"
            "tasks:\n - {name: a, notebook: a.ipynb}\n",
            "unknown time zone 'Mars/Base'",
        ),
        ("concurrency: 0\ntasks:\n - {name: a, notebook: a.ipynb}\n", "concurrency"),
    ],
)
def test_invalid_specs_name_file_field_and_fix(yaml_text: str, expected: str) -> None:
    with pytest.raises(PipelineSpecError) as err:
        parse_pipeline(yaml_text, source=SRC, name="x")
    assert str(err.value).startswith(SRC)
    assert expected in str(err.value)


def test_durations() -> None:
    assert parse_duration("250ms") == 0.25
    assert parse_duration("2d") == 172800.0
    for bad in ("-1s", "ten", True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def _notebook(path: Path) -> None:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)


def test_load_and_discover_check_notebooks_exist(tmp_path: Path) -> None:
    folder = tmp_path / "scheduled" / "daily"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(
        "tasks:\n - {name: a, notebook: a.ipynb, on_failure: alert.ipynb}\n"
    )
    _notebook(folder / "a.ipynb")
    with pytest.raises(PipelineSpecError, match=r"tasks\[0\]\.on_failure: alert\.ipynb does not"):
        load_pipeline(folder)
    _notebook(folder / "alert.ipynb")
    pipeline = load_pipeline(folder)
    assert pipeline.name == "daily" and pipeline.notebook_path(pipeline.tasks[0]).is_file()
    assert list(discover(tmp_path / "scheduled")) == ["daily"]
    with pytest.raises(PipelineSpecError, match="not found"):
        load_pipeline(tmp_path / "nope")


def _params_notebook(path: Path, params: str) -> None:
    cells = [nbformat.v4.new_code_cell(params), nbformat.v4.new_code_cell("pass")]
    cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


def test_parameters_are_checked_against_the_notebooks(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    _params_notebook(folder / "load.ipynb", "scale = 0.1\nregion = 'EU'")
    _params_notebook(folder / "sum.ipynb", "rows = 0")
    spec = folder / "pipeline.yaml"

    def write(tasks: str) -> None:
        spec.write_text("tasks:\n" + tasks)

    write(" - {name: a, notebook: load.ipynb, parameters: {scale: 1, region: EU}}\n")
    assert load_pipeline(folder).tasks[0].parameters == {"scale": 1, "region": "EU"}
    write(" - {name: a, notebook: load.ipynb, parameters: {sacle: 1}}\n")
    with pytest.raises(PipelineSpecError, match=r"tasks\[0\] \(a\)\.parameters: .*sacle"):
        load_pipeline(folder)
    write(" - {name: a, notebook: load.ipynb, parameters: {scale: fast}}\n")
    with pytest.raises(PipelineSpecError, match=r"tasks\[0\] \(a\)\.parameters: .*scale"):
        load_pipeline(folder)
    write(" - {name: a, notebook: load.ipynb, for_each: {values: [EU, US], as: country}}\n")
    with pytest.raises(PipelineSpecError, match="must declare country"):
        load_pipeline(folder)
    write(
        " - {name: a, notebook: load.ipynb, for_each: {values: [EU, US], as: region}}\n"
        " - {name: b, notebook: sum.ipynb, depends_on: [a]}\n"
    )
    with pytest.raises(PipelineSpecError, match="must declare a_outputs"):
        load_pipeline(folder)


def test_audience_of_reports_is_part_of_the_spec() -> None:
    text = GOOD + "audience:\n  groups: [stakeholders]\n  users: [carol]\n"
    p = parse_pipeline(text, source=SRC, name="refresh")
    assert p.audience is not None
    assert (p.audience.groups, p.audience.users) == (["stakeholders"], ["carol"])
    assert parse_pipeline(GOOD, source=SRC, name="refresh").audience is None
    with pytest.raises(PipelineSpecError, match="audience"):
        parse_pipeline(GOOD + "audience:\n  teams: [x]\n", source=SRC, name="refresh")


def _pipeline_folder(root: Path, name: str, after: list[str]) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    tasks = "tasks: [{name: a, notebook: a.ipynb}]\n"
    (folder / "pipeline.yaml").write_text(f"after: {after}\n{tasks}")
    _notebook(folder / "a.ipynb")


def test_after_cycles_and_unknown_targets_are_rejected_at_load(tmp_path: Path) -> None:
    from workspace.jobs.spec.discovery import scan

    root = tmp_path / "scheduled"
    _pipeline_folder(root, "ping", ["pong"])
    _pipeline_folder(root, "pong", ["ping"])
    _pipeline_folder(root, "selfish", ["selfish"])
    _pipeline_folder(root, "orphan", ["nowhere"])
    _pipeline_folder(root, "fine", ["ping"])  # downstream of a cycle, not part of it
    _pipeline_folder(root, "up", [])
    _pipeline_folder(root, "down", ["up"])
    (root / "broken").mkdir()
    (root / "broken" / "pipeline.yaml").write_text("tasks: []\n")
    _pipeline_folder(root, "after_broken", ["broken"])  # an invalid folder is still known
    found = scan(root)
    errors = {n: str(e) for n, e in found.items() if isinstance(e, PipelineSpecError)}
    assert set(errors) == {"ping", "pong", "selfish", "orphan", "broken"}
    assert errors["ping"].startswith(f"{root}/ping/pipeline.yaml: after: ")
    assert "cycle, ping -> pong -> ping" in errors["ping"]
    assert "cycle, pong -> ping -> pong" in errors["pong"]
    assert errors["selfish"].startswith(f"{root}/selfish/pipeline.yaml: after[0]: ")
    assert "names the pipeline itself ('selfish')" in errors["selfish"]
    assert errors["orphan"].startswith(f"{root}/orphan/pipeline.yaml: after[0]: 'nowhere' is")
    assert "not a pipeline under" in errors["orphan"]
    with pytest.raises(PipelineSpecError, match="after"):
        discover(root)


def _settle(root: Path, age: float = 60.0) -> None:
    """Date every file under ``root`` back, as if written a while ago (not racy any more)."""
    import os
    import time

    when = time.time() - age
    for path in [root, *root.rglob("*")]:
        os.utime(path, (when, when))


def test_the_scanner_loads_a_folder_again_only_when_a_file_changed(tmp_path: Path) -> None:
    from workspace.jobs.spec.discovery import PipelineScanner, scan, scanner

    root = tmp_path / "scheduled"
    _pipeline_folder(root, "daily", [])
    scanner_ = PipelineScanner(root)
    version, specs = scanner_.snapshot()
    assert isinstance(specs["daily"], Pipeline)
    # files written within the last seconds may change without their stat changing: loaded again
    assert scanner_.snapshot()[0] == version + 1
    _settle(root)
    version = scanner_.snapshot()[0]
    assert scanner_.snapshot()[0] == version  # nothing changed since: the cached specs

    (root / "daily" / "pipeline.yaml").write_text("enabled: false\ntasks: [{name: a}]\n")
    _settle(root, age=30)
    version, specs = scanner_.snapshot()
    assert "notebook" in str(specs["daily"])  # the new file, invalid: a task needs a notebook
    (root / "daily" / "sub").mkdir()
    _notebook(root / "daily" / "sub" / "b.ipynb")
    (root / "daily" / "pipeline.yaml").write_text("tasks: [{name: a, notebook: sub/b.ipynb}]\n")
    _settle(root, age=20)
    assert scanner_.snapshot()[0] == version + 1
    assert isinstance(scanner_.scan()["daily"], Pipeline)  # valid again
    (root / "daily" / "sub" / "b.ipynb").unlink()  # a notebook in a sub-folder counts too
    _settle(root, age=10)
    assert "sub/b.ipynb does not exist" in str(scanner_.scan()["daily"])

    assert scanner(root) is scanner(root) and scanner(root) is not scanner(root.parent)
    assert scan(root).keys() == {"daily"} and scan(tmp_path / "none") == {}
