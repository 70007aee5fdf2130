"""The demo pipelines in scheduled/ run end to end on the workspace kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.jobs.execution.executors import SubprocessExecutor
from workspace.jobs.lineage import table_writers
from workspace.jobs.models import RunState
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake import connect
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow
SCHEDULED = Path(__file__).resolve().parents[2] / "scheduled"


def test_refresh_then_region_reports(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", user="pipelines")
    executor = SubprocessExecutor()
    executor.start()
    try:
        with RunStore.open(settings) as store:
            details = {}
            for name in ("demo_refresh", "region_reports"):
                pipeline = load_pipeline(SCHEDULED / name)
                store.upsert_pipeline(pipeline.name)
                run = store.create_manual_run(pipeline.name)
                driver = RunDriver(pipeline, store, executor, settings=settings, run_id=run.run_id)
                details[name] = driver.run(timeout=300)
    finally:
        executor.shutdown()
    refresh = details["demo_refresh"]
    assert refresh.run.state == RunState.SUCCEEDED, [
        (a.task_key, a.error) for a in refresh.attempts
    ]
    silver = next(t for t in refresh.tasks if t.task_key == "silver")
    assert silver.outputs["checks.passed"] is True  # gold's run_if
    assert silver.outputs["checks.failed"] == 0
    assert {str(t.state) for t in refresh.tasks} == {"succeeded"}
    for table, task in [
        ("bronze.orders", "bronze"),
        ("silver.orders", "silver"),
        ("gold.revenue_by_nation_month", "gold"),
    ]:  # the run store says which task writes each layer
        writers = table_writers(settings, table)
        assert [(w.pipeline, w.task, w.last_run_id) for w in writers] == [
            ("demo_refresh", task, refresh.run.run_id)
        ], table
    reports = details["region_reports"]
    assert reports.run.state == RunState.SUCCEEDED, [
        (a.task_key, a.error) for a in reports.attempts
    ]
    items = sorted(t.outputs["region"] for t in reports.tasks if t.name == "region_report")
    assert items == ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"]
    summary = next(t for t in reports.tasks if t.task_key == "summary")
    assert summary.outputs["regions"] == 5
    with connect(settings.home, user="pipelines") as ws:
        gold_total = ws.con.execute(
            "SELECT sum(revenue) FROM gold.revenue_by_nation_month "
            "WHERE month < DATE '1998-08-01'"  # the reports leave out the partial last month
        ).fetchone()[0]
    assert summary.outputs["total_revenue"] == pytest.approx(float(gold_total), rel=1e-6)
    report = Path(reports.run.report_path or "")
    assert report.is_file() and "<script" not in report.read_text().lower()
