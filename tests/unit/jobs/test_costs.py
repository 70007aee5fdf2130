"""The cost model: prices from costs.yaml, the roll-up arithmetic by pipeline, user, table
and layer, ``workspace costs --json``'s shape, and a malformed price file's error."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.jobs.costs import (
    CostConfigError,
    CostPrices,
    cost_report,
    load_prices,
    rollup,
)
from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import AttemptResources
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.usage import AttemptUsage, Usage
from workspace.lake.settings import Settings

PRICES = "currency: EUR\ncpu_hour: 2\nmemory_gb_hour: 0.5\nstorage_gb_month: 3\n"
HOUR = AttemptResources(cpu_seconds=1800, peak_rss_bytes=4 * 10**9, wall_seconds=3600)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home with prices and two finished attempts of ``sales`` (owner ada), no lake."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "costs.yaml").write_text(PRICES)
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    with RunStore.open(Settings.resolve(home)) as store:
        store.upsert_pipeline("sales", owner="ada")
        run = store.create_manual_run("sales", tasks=["load"], owner="ada")
        store.start_run(run.run_id)
        store.set_task_state(run.run_id, "load", "queued")
        for _ in range(2):  # a failed attempt and its retry
            attempt = store.claim_task(run.run_id, "load")
            assert attempt is not None
            write = TableWrite("gold.kpi", 1, 10, "append", datetime.now(UTC))
            store.finish_attempt(attempt.attempt_id, "failed", retry=True, writes=[write],
                                 resources=HOUR.model_dump(exclude_none=True))  # fmt: skip
    return home


def test_prices_default_to_zero_and_load_from_the_file(home: Path, tmp_path: Path) -> None:
    assert load_prices(path=tmp_path / "none.yaml") == CostPrices()
    assert load_prices(Settings.resolve(home)) == CostPrices(
        currency="EUR", cpu_hour=2, memory_gb_hour=0.5, storage_gb_month=3
    )


def test_report_by_pipeline_and_user_adds_the_attempts(home: Path) -> None:
    report = cost_report(Settings.resolve(home), by="pipeline")
    [row] = report.rows
    # two attempts: 2 x 0.5 CPU-h x 2 EUR + 2 x 4 GB x 1 h x 0.5 EUR = 2 + 4
    assert (row.key, row.cpu_seconds, row.gb_hours, row.cost) == ("sales", 3600, 8.0, 6.0)
    assert report.currency == "EUR"
    [user] = cost_report(Settings.resolve(home), by="user").rows
    assert (user.key, user.cost) == ("ada", 6.0)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert cost_report(Settings.resolve(home), since=later, now=later).rows == []


def test_rollup_storage_by_table_layer_and_user() -> None:
    usage = Usage(
        [AttemptUsage(1, "r1", "sales", "ada", HOUR), AttemptUsage(2, "r2", "hr", None, HOUR)],
        {"sales": "ada", "hr": None},
        {"gold.kpi": "sales", "silver.staff": "hr"},
    )
    tables = {"gold.kpi": 2 * 10**9, "silver.staff": 10**9, "bronze.raw": 10**9}
    prices = CostPrices(cpu_hour=2, memory_gb_hour=0.5, storage_gb_month=3)
    by_table = {r.key: r for r in rollup(usage, tables, {}, prices, "table", days=15)}
    assert by_table["gold.kpi"].storage_gb == 2.0 and by_table["gold.kpi"].cost == 3.0 + 3.0
    assert by_table["bronze.raw"].cost == 1.5  # storage only: 1 GB x 3 EUR x half a month
    by_layer = {r.key: r.cost for r in rollup(usage, tables, {}, prices, "layer", days=30)}
    assert by_layer == {"gold": 6 + 3.0, "silver": 3 + 3.0, "bronze": 3.0}
    sandboxes = {"ada": 10**9, "bob": 10**9}
    by_user = {r.key: r.cost for r in rollup(usage, tables, sandboxes, prices, "user", days=30)}
    assert by_user == {"ada": 3 + 6 + 3, "(no owner)": 3 + 3, "bob": 3}


def test_costs_json_shape(home: Path) -> None:
    result = CliRunner().invoke(cli, ["costs", "--by", "user", "--since", "7d", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"by", "since", "until", "currency", "rows"} and data["by"] == "user"
    assert [set(r) for r in data["rows"]] == [
        {"key", "cpu_seconds", "gb_hours", "storage_gb", "cost"}
    ]
    text = CliRunner().invoke(cli, ["costs"])
    assert text.exit_code == 0 and "sales" in text.stdout and "6.0000" in text.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("cpu_hour: -1\n", "'cpu_hour': Input should be greater than or equal to 0"),
        ("cpu_hours: 1\n", "'cpu_hours': Extra inputs are not permitted"),
        ("cpu_hour: [1\n", "is not valid YAML"),
        ("- 1\n", "must be a mapping"),
    ],
)
def test_a_malformed_cost_file_is_a_clear_error(home: Path, content: str, expected: str) -> None:
    (home / "costs.yaml").write_text(content)
    with pytest.raises(CostConfigError, match=r"costs\.yaml"):
        load_prices(Settings.resolve(home))
    result = CliRunner().invoke(cli, ["costs"])
    assert result.exit_code == 2 and expected in result.stderr, result.stderr


def test_the_run_detail_shows_each_attempts_resources_and_cost(home: Path) -> None:
    from workspace.api.service import JobsService

    service = JobsService(Settings.resolve(home), home / "scheduled")
    try:
        [run] = service.store.list_runs()
        detail = service.run(run.run_id).model_dump(mode="json")
    finally:
        service.store.close()
    assert (detail["cost"], detail["currency"]) == (6.0, "EUR")
    for attempt in detail["attempts"]:
        assert attempt["resources"]["cpu_seconds"] == 1800
        assert attempt["resources"]["rows_written"] == 10
        assert attempt["cost"] == {"cpu_seconds": 1800, "gb_hours": 4.0, "cost": 3.0}
