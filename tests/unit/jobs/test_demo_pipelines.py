"""The demo pipelines in scheduled/ are valid, and their notebooks declare the parameters
their pipeline.yaml passes."""

from __future__ import annotations

from pathlib import Path

import papermill

from workspace.jobs.spec.discovery import discover

SCHEDULED = Path(__file__).resolve().parents[3] / "scheduled"


def test_demo_pipelines_load() -> None:
    pipelines = discover(SCHEDULED)
    assert set(pipelines) == {"demo_refresh", "region_reports"}
    refresh = pipelines["demo_refresh"]
    assert [t.name for t in refresh.tasks] == ["bronze", "silver", "gold"]
    checked = refresh.task("silver").checks  # the demo's quality gate is declared checks
    assert sorted(checked) == ["silver.customers", "silver.line_items", "silver.orders"]
    assert refresh.task("gold").run_if.output == "silver.checks.passed"  # type: ignore[union-attr]
    assert refresh.schedule is not None and refresh.schedule.timezone == "Europe/Amsterdam"
    reports = pipelines["region_reports"]
    assert reports.after == ["demo_refresh"]
    assert reports.tasks[0].for_each is not None


def test_task_parameters_exist_in_the_notebooks() -> None:
    for pipeline in discover(SCHEDULED).values():
        for task in pipeline.tasks:
            declared = papermill.inspect_notebook(str(pipeline.notebook_path(task)))
            assert declared, f"{task.notebook} has no parameters cell"
            passed = set(task.parameters) | ({task.for_each.as_} if task.for_each else set())
            assert passed <= set(declared), (task.notebook, passed - set(declared))


def test_demo_pools_file() -> None:
    from workspace.jobs.scheduler.load import load_pools

    pools = load_pools(SCHEDULED / "pools.yaml")
    assert pools == {"warehouse": 2}
    used = {t.pool for p in discover(SCHEDULED).values() for t in p.tasks if t.pool}
    assert used <= set(pools)
