"""The pipeline detail's trend (duration, CPU, peak memory and cost of the last finished runs,
from a real run store) and its tasks' declared checks; ``workspace quality contract`` lists
the checks pipelines declare for a table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from workspace.api.pipeline_trend import pipeline_trend
from workspace.api.service import JobsService
from workspace.jobs.costs import CostPrices
from workspace.jobs.models import AttemptResources
from workspace.jobs.spec.table_checks import checks_for_table
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

SPEC = """\
description: trend test
tasks:
  - name: load
    notebook: load.ipynb
    checks:
      silver.orders:
        - {check: row_count, min: 1}
        - {check: not_null, column: id, severity: warn}
  - name: publish
    notebook: load.ipynb
    depends_on: [load]
"""
NOTEBOOK = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
GB = 10**9


class Clock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 6, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _run(store: RunStore, clock: Clock, seconds: float, used: list[AttemptResources]) -> str:
    """A finished manual run of ``nightly`` taking ``seconds``, one attempt per ``used``."""
    run = store.create_manual_run("nightly", tasks=["load"])
    store.start_run(run.run_id)
    store.set_task_state(run.run_id, "load", "queued")
    for i, resources in enumerate(used):
        attempt = store.claim_task(run.run_id, "load")
        assert attempt is not None
        last = i == len(used) - 1
        state = "succeeded" if last else "failed"
        used_json = resources.model_dump(exclude_none=True)
        store.finish_attempt(attempt.attempt_id, state, retry=not last, resources=used_json)
    clock.now += timedelta(seconds=seconds)
    store.finish_run(run.run_id, "succeeded")
    clock.now += timedelta(minutes=1)
    return run.run_id


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    folder = home / "scheduled" / "nightly"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(SPEC)
    (folder / "load.ipynb").write_text(json.dumps(NOTEBOOK))
    (home / "costs.yaml").write_text("currency: EUR\ncpu_hour: 2\nmemory_gb_hour: 0.5\n")
    return home


def test_the_detail_has_the_trend_of_finished_runs_and_the_tasks_checks(home: Path) -> None:
    clock = Clock()
    settings = Settings.resolve(home)
    service = JobsService(settings, home / "scheduled", clock=clock,
                          store=RunStore.open(settings, clock=clock))  # fmt: skip
    try:
        service.pipeline("nightly")  # registers it
        hour = AttemptResources(cpu_seconds=1800, peak_rss_bytes=4 * GB, wall_seconds=3600)
        small = AttemptResources(cpu_seconds=60, peak_rss_bytes=GB, wall_seconds=60)
        first = _run(service.store, clock, 120, [small])
        second = _run(service.store, clock, 300, [hour, small])  # a retry: two attempts
        service.store.create_manual_run("nightly", tasks=["load"])  # queued: not in the trend
        detail = service.pipeline("nightly")
    finally:
        service.store.close()
    assert detail.trend is not None and detail.trend.currency == "EUR"
    points = detail.trend.runs
    assert [p.run_id for p in points] == [first, second]  # oldest first
    assert [p.duration_seconds for p in points] == [120, 300]
    assert [p.cpu_seconds for p in points] == [60, 1860]
    assert [p.peak_rss_bytes for p in points] == [GB, 4 * GB]
    # small: 60 s x 2 EUR/h + 1 GB x 60 s x 0.5 EUR/h; hour: 0.5 h x 2 + 4 GB x 1 h x 0.5 = 3
    cheap = 60 / 3600 * 2 + 1 * 60 / 3600 * 0.5
    assert points[0].cost == pytest.approx(cheap)
    assert points[1].cost == pytest.approx(3 + cheap)
    load, publish = detail.tasks
    assert [(c.table, c.name, c.type, c.severity) for c in load.checks] == [
        ("silver.orders", "row_count", "row_count", "error"),
        ("silver.orders", "not_null(id)", "not_null", "warn"),
    ]
    assert publish.checks == []
    payload = detail.model_dump(mode="json")
    assert set(payload["trend"]["runs"][0]) == {
        "run_id", "state", "finished_at", "duration_seconds", "cpu_seconds", "peak_rss_bytes",
        "cost",
    }  # fmt: skip


def test_the_trend_keeps_the_last_runs_and_has_no_cost_without_prices(tmp_path: Path) -> None:
    clock = Clock()
    with RunStore.open(Settings.resolve(tmp_path), clock=clock) as store:
        store.upsert_pipeline("nightly")
        used = AttemptResources(cpu_seconds=10, peak_rss_bytes=GB, wall_seconds=10)
        ids = [_run(store, clock, 10 * (i + 1), [used]) for i in range(4)]
        trend = pipeline_trend(store, "nightly", None, limit=3)
        priced = pipeline_trend(store, "nightly", CostPrices(cpu_hour=3600), limit=1)
        assert pipeline_trend(store, "other", CostPrices()).runs == []
    assert [p.run_id for p in trend.runs] == ids[1:]
    assert [p.duration_seconds for p in trend.runs] == [20, 30, 40]
    assert trend.currency is None and {p.cost for p in trend.runs} == {0.0}
    assert [(p.run_id, p.cost) for p in priced.runs] == [(ids[-1], 10.0)]


def test_quality_contract_lists_the_checks_pipelines_declare(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = checks_for_table(home / "scheduled", "silver.orders")
    assert [(d.pipeline, d.task, d.check.name) for d in declared] == [
        ("nightly", "load", "row_count"),
        ("nightly", "load", "not_null(id)"),
    ]
    assert checks_for_table(home / "scheduled", "silver.customers") == []

    import workspace
    from workspace.cli.main import cli

    workspace.connect(home).close()  # a tiny, empty lake
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    args = ["quality", "contract", "silver.orders", "--scheduled", str(home / "scheduled")]
    result = CliRunner().invoke(cli, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["contract"] is None
    assert data["pipelines"] == [
        {"pipeline": "nightly", "task": "load", "name": "row_count", "type": "row_count",
         "severity": "error"},
        {"pipeline": "nightly", "task": "load", "name": "not_null(id)", "type": "not_null",
         "severity": "warn"},
    ]  # fmt: skip
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 0, text.output
    assert "nightly/load: not_null(id) (not_null, warn)" in text.stdout
