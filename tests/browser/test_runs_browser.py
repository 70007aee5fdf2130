"""The pipelines panel and "Schedule this notebook" in a real Lab, with the real scheduler."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.browser import Lab, open_sidebar, start_lab
from support.notebooks import make_notebook


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A Lab of its own: in the session's Lab, the kernels that earlier tests leave open
    (a `%%sql` grid over bronze.lineitem) have been seen to stall the demo pipeline's
    runs. Known problem, under investigation; see the closing note of this stop."""
    with start_lab(tmp_path_factory.mktemp("browser-runs")) as running:
        yield running


def test_trigger_demo_pipeline_and_open_its_report(page: Any, lab: Lab, artifacts: Path) -> None:
    # 5. the runs panel lists the demo pipelines with their next run time
    open_sidebar(page, "workspace-runs")
    row = page.locator('[data-testid="pipeline-row"][data-name="demo_refresh"]')
    row.wait_for()
    assert page.locator('[data-testid="pipeline-row"][data-name="region_reports"]').count() == 1

    # trigger a run from the panel; the scheduler beside the Lab runs it, and the
    # panel follows its state live until it succeeded
    row.click()
    page.locator('[data-testid="pipeline-trigger"]').first.click()
    run = page.locator('[data-testid="run-row"]').first
    run.wait_for()
    run_id = run.get_attribute("data-run-id")
    assert run_id
    page.locator(
        f'[data-testid="run-row"][data-run-id="{run_id}"][data-state="succeeded"]'
    ).wait_for(timeout=280_000)
    assert row.get_attribute("data-state") == "succeeded"
    page.screenshot(path=str(artifacts / "runs-panel.png"))

    # the run detail: every task succeeded, and the report link opens the rendered report
    page.locator(f'[data-testid="run-row"][data-run-id="{run_id}"]').click()
    detail = page.locator(f'[data-testid="run-detail"][data-run-id="{run_id}"]')
    detail.wait_for()
    spec = lab.api("GET", "jobs/pipelines/demo_refresh")
    for task in spec["tasks"]:
        detail.locator(f'[data-testid="task-row"][data-task="{task["name"]}"]').first.wait_for()
    assert (
        detail.locator('svg[data-testid="task-graph"]').count()
        + detail.locator('[data-testid="task-row"]').count()
        > 0
    )
    link = detail.locator('a[data-testid="report-link"]')
    href = link.get_attribute("href")
    assert href and run_id in href
    page.screenshot(path=str(artifacts / "run-detail.png"))
    url = href if href.startswith("http") else lab.base.rstrip("/") + href
    sep = "&" if "?" in url else "?"
    with urllib.request.urlopen(f"{url}{sep}token={lab.token}", timeout=30) as resp:
        html = resp.read().decode()
        assert resp.headers["Content-Type"].startswith("text/html")
        assert "script-src" not in resp.headers.get("Content-Security-Policy", "script-src")
    assert "demo_refresh" in html and "<script" not in html.lower()

    # the catalog now knows, from the run records, which task writes silver.orders
    writers = lab.api("GET", "catalog/tables/silver.orders")["writers"]
    assert [(w["pipeline"], w["task"], w["last_run_id"]) for w in writers] == [
        ("demo_refresh", "silver", run_id)
    ]
    open_sidebar(page, "workspace-catalog")
    page.fill('[data-testid="catalog-search"]', "silver orders")
    page.locator('[data-testid="catalog-table"][data-name="silver.orders"]').first.click()
    table = page.locator('[data-testid="table-detail"][data-name="silver.orders"]')
    table.and_(page.locator('[data-loaded="true"]')).wait_for()
    table.locator('[data-testid="tab-pipelines"]').click()
    table.locator("text=demo_refresh >> visible=true").first.wait_for()


def test_schedule_this_notebook(page: Any, lab: Lab, artifacts: Path) -> None:
    notebook = lab.home / "notebooks" / "daily_orders.ipynb"
    make_notebook(
        notebook,
        params="min_orders = 1\nregion = 'EUROPE'",
        body=(
            "n = ws.sql('SELECT count(*) AS n FROM silver.orders').to_pandas()['n'][0]\n"
            "assert n >= min_orders, n\nprint(region, n)"
        ),
        kernel="workspace",
    )
    page.goto(lab.url("lab/tree/daily_orders.ipynb?reset"))
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook")
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) [data-testid="schedule-notebook"]').click()
    form = page.locator('[data-testid="schedule-form"]')
    form.wait_for()
    assert form.locator('[data-testid="schedule-name"]').input_value() == "daily_orders"
    form.locator('[data-testid="param-min_orders"]').wait_for()
    form.locator('[data-testid="param-region"]').wait_for()

    # a wrong cron says what is wrong; a right one is described and previewed
    form.locator('[data-testid="schedule-cron"]').fill("61 6 * * *")
    form.locator("text=/minute|range|invalid/i").first.wait_for()
    form.locator('[data-testid="schedule-cron"]').fill("30 6 * * 1-5")
    description = form.locator('[data-testid="cron-description"]')
    page.wait_for_function(
        "(el) => /monday through friday/i.test(el.innerText)", arg=description.element_handle()
    )
    assert form.locator('[data-testid="cron-next"] li').count() == 3
    form.locator('[data-testid="param-region"]').fill("ASIA")
    page.screenshot(path=str(artifacts / "schedule-form.png"))

    form.locator('[data-testid="schedule-submit"]').click()
    result = page.locator('[data-testid="schedule-result"]')
    result.wait_for(timeout=240_000)
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    page.screenshot(path=str(artifacts / "schedule-result.png"))
    spec = yaml.safe_load((lab.scheduled / "daily_orders" / "pipeline.yaml").read_text())
    assert spec["schedule"]["cron"] == "30 6 * * 1-5"
    assert spec["tasks"][0]["parameters"]["region"] == "ASIA"
    names = [p["name"] for p in lab.api("GET", "jobs/pipelines")["pipelines"]]
    assert "daily_orders" in names
