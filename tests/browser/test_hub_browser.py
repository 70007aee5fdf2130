"""The analyst's day on the team deployment, in Chromium, as non-root OS accounts.

One real ``workspace hub`` (PAM logins, per-user servers as OS accounts, the scheduler and
reports services, pipeline code as ``ws-runner``) on a demo lake, for the whole module. The
steps (each test's docstring) build on each other, in order.

Screenshots: build/browser-artifacts/hub-login.png, hub-lab.png, hub-schedule-review.png,
hub-approve.png, hub-run-detail.png, hub-share.png, hub-reports.png, hub-report.png,
hub-rerun.png. Needs root (``useradd``, and the hub runs each server as its user).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from hub_helpers import HUB_MARKS, hub_with_users, lab_page, log_in, new_page, open_lab
from support.browser import open_sidebar
from support.notebooks import make_notebook

from tests.support.hub import new_user_name
from tests.support.hub_demo import Deployment

pytestmark = HUB_MARKS

ANALYST = new_user_name("wsb_")
ENGINEER = new_user_name("wsb_")
STAKEHOLDER = new_user_name("wsb_")
PIPELINE = "weekly_kpis"
TABLE = "bronze.nation"
MARKER = "Weekly KPIs are ready"
ACTIVE_NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
PANEL_CLIP = {"x": 0, "y": 0, "width": 560, "height": 220}  # the left sidebar's top


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    """The hub on a demo lake with an analyst (and a notebook in their home), an engineer
    and a stakeholder."""
    users = {ANALYST: "analysts", ENGINEER: "engineers", STAKEHOLDER: "stakeholders"}
    with hub_with_users("scheduler,reports", users) as d:
        notebook = make_notebook(
            Path(f"/home/{ANALYST}/{PIPELINE}.ipynb"),
            params="region = 'EUROPE'",
            body=(
                "n = ws.sql('SELECT count(*) AS n FROM bronze.nation').to_pandas()['n'][0]\n"
                f"{MARKER!r} + ' ' + region + ' ' + str(n)  # a result: reports show it"
            ),
            kernel="workspace",
        )
        shutil.chown(notebook, ANALYST, ANALYST)
        yield d


@pytest.fixture(scope="module")
def analyst(browser: Any, dep: Deployment, artifacts: Path) -> Iterator[Any]:
    """The analyst's Lab, one page for the whole day."""
    with lab_page(browser, dep, ANALYST, artifacts / "hub-login.png") as page:
        yield page


def _failed(page: Any, dep: Deployment, shot: Path) -> None:
    """Keep a screenshot of a page about to be closed, and say where it was."""
    page.screenshot(path=str(shot))
    print(f"page at {page.url}\n--- hub log ---\n{dep.hub.log()[-6000:]}")


def _row(page: Any) -> Any:
    return page.locator(f'[data-testid="pipeline-row"][data-name="{PIPELINE}"]')


def _refresh_pipelines(page: Any) -> None:
    page.locator("#workspace-runs .awr-PanelHeader .awr-IconButton").click()


def test_1_analyst_opens_a_table_and_runs_an_inserted_sql_cell(
    analyst: Any, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The analyst logs in on the hub's login form and lands in their Lab; in the catalog they
    open a table: preview rows and profile cards appear, and "Insert SQL cell" puts a
    ``%%sql`` cell into a new notebook whose run shows the rows (this failed for hub users
    with "Internal error" while the detail opened the root-owned run store)."""
    page = analyst
    shot_on_failure.append(page)
    open_sidebar(page, "workspace-catalog")
    page.locator('[data-testid="catalog-layer"][data-layer="bronze"]').click()
    page.locator(f'[data-testid="catalog-table"][data-name="{TABLE}"]').first.click()
    detail = page.locator(f'[data-testid="table-detail"][data-name="{TABLE}"]')
    detail.and_(page.locator('[data-loaded="true"]')).wait_for()
    assert "Internal error" not in detail.inner_text()
    assert detail.locator('[data-testid="schema-row"]').count() == 4  # n_nationkey ...

    detail.locator('[data-testid="tab-preview"]').click()
    rows = detail.locator('[data-testid="preview-table"] tbody tr')
    rows.first.wait_for()
    assert rows.count() == 25  # TPC-H has 25 nations
    page.screenshot(path=str(artifacts / "hub-lab.png"))

    detail.locator('[data-testid="tab-profile"]').click()
    cards = detail.locator('[data-testid="profile-column"]')
    cards.first.wait_for(timeout=60_000)
    assert cards.count() == 4

    detail.locator('[data-testid="insert-sql"]').click()
    cell = page.locator(f"{ACTIVE_NOTEBOOK} .jp-CodeCell", has_text="%%sql").last
    cell.wait_for()
    assert TABLE in cell.inner_text()
    page.wait_for_function(
        "() => /Python \\(workspace\\) \\| Idle/.test("
        "document.querySelector('#jp-main-statusbar')?.innerText || '')",
        timeout=90_000,
    )
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output").first
    output.wait_for(timeout=90_000)
    page.wait_for_function("(el) => el.innerText.includes('n_name')", arg=output.element_handle())
    assert "Error" not in output.inner_text(), output.inner_text()


def test_2_schedule_this_notebook_is_pending_review(
    analyst: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The analyst uses "Schedule this notebook" on a notebook in their home: the scheduler
    service test-runs it and makes it their pipeline, pending review."""
    page = analyst
    shot_on_failure.append(page)
    open_sidebar(page, "filebrowser")
    page.locator(".jp-DirListing-itemName", has_text=f"{PIPELINE}.ipynb").dblclick()
    page.locator(f"{ACTIVE_NOTEBOOK} .jp-CodeCell", has_text=MARKER).wait_for()
    page.locator(f'{ACTIVE_NOTEBOOK} [data-testid="schedule-notebook"]').click()
    form = page.locator('[data-testid="schedule-form"]')
    form.locator('[data-testid="param-region"]').wait_for()
    assert form.locator('[data-testid="schedule-name"]').input_value() == PIPELINE
    form.locator('[data-testid="param-region"]').fill("ASIA")
    form.locator('[data-testid="schedule-submit"]').click()

    result = page.locator('[data-testid="schedule-result"]')
    result.wait_for(timeout=240_000)
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    assert result.get_attribute("data-approval") == "pending", result.inner_text()
    assert "pending review" in result.inner_text()
    page.screenshot(path=str(artifacts / "hub-schedule-review.png"))
    form.locator('[data-testid="schedule-close"]').click()

    listed = dep.scheduler(ANALYST, "GET", f"pipelines/{PIPELINE}").json()
    assert (listed["owner"], listed["approval"]) == (ANALYST, "pending")

    # the analyst's panel: pending, no Run now, no Approve; Share is theirs
    open_sidebar(page, "workspace-runs")
    row = _row(page)
    row.wait_for()
    assert row.get_attribute("data-approval") == "pending"
    assert row.locator('[data-testid="pipeline-pending"]').is_visible()
    assert row.locator('[data-testid="pipeline-trigger"]').count() == 0
    assert row.locator('[data-testid="pipeline-approve"]').count() == 0
    assert row.locator('[data-testid="pipeline-audience"]').inner_text() == "Private"


def test_3_an_engineer_approves_it_in_the_pipelines_panel(
    browser: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """An engineer logs in and approves it from the Pipelines panel."""
    context, page = new_page(browser)
    try:
        open_lab(page, dep, ENGINEER)
        open_sidebar(page, "workspace-runs")
        row = _row(page)
        row.locator('[data-testid="pipeline-approve"]').wait_for()
        assert row.get_attribute("data-approval") == "pending"
        page.screenshot(path=str(artifacts / "hub-approve.png"), clip=PANEL_CLIP)
        row.locator('[data-testid="pipeline-approve"]').click()
        page.wait_for_selector(
            f'[data-testid="pipeline-row"][data-name="{PIPELINE}"][data-approval="approved"]'
        )
        assert row.locator('[data-testid="pipeline-approve"]').count() == 0
    except Exception:
        _failed(page, dep, artifacts / "FAILED-hub-engineer.png")
        raise
    finally:
        context.close()
    after = dep.scheduler(ANALYST, "GET", f"pipelines/{PIPELINE}").json()
    assert (after["approval"], after["approved_by"]) == ("approved", ENGINEER)


def test_4_analyst_runs_it_now_and_opens_the_report(
    analyst: Any, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The analyst clicks Run now; the run succeeds, its detail says who asked for it and its
    effective parameters, and its report opens."""
    page = analyst
    shot_on_failure.append(page)
    _refresh_pipelines(page)
    row = _row(page)
    page.wait_for_selector(
        f'[data-testid="pipeline-row"][data-name="{PIPELINE}"][data-approval="approved"]'
    )
    row.locator('[data-testid="pipeline-trigger"]').click()
    page.locator('[data-testid="run-row"]').first.click()  # the panel selected the pipeline
    detail = page.locator('[data-testid="run-detail"][data-state="succeeded"]')
    failed = page.locator('[data-testid="run-detail"][data-state="failed"]')
    detail.or_(failed).wait_for(timeout=240_000)
    assert detail.count() == 1, page.locator('[data-testid="run-detail"]').inner_text()
    assert detail.locator('[data-testid="run-requested-by"]').inner_text() == ANALYST
    region = detail.locator('[data-testid="run-param"][data-name="region"]')
    assert region.inner_text() == 'region = "ASIA"'  # the Schedule form's value, not "none"
    page.screenshot(path=str(artifacts / "hub-run-detail.png"))

    link = detail.locator('[data-testid="report-link"]')
    assert re.search(r"/services/scheduler/api/jobs/runs/[^/]+/report$", link.get_attribute("href"))
    with page.context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state()
    report.get_by_text(MARKER).first.wait_for()
    assert "ASIA" in report.inner_text("body")
    report.close()


def test_5_analyst_shares_it_and_a_stakeholder_opens_the_report(
    analyst: Any, browser: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The analyst shares it with stakeholders from the Share dialog; a stakeholder logs in,
    lands on the reports gallery, opens that pipeline's report, and gets no server."""
    page = analyst
    shot_on_failure.append(page)
    row = _row(page)
    row.locator('[data-testid="pipeline-share"]').click()
    dialog = page.locator('[data-testid="share-dialog"]')
    dialog.wait_for()
    dialog.locator('[data-testid="share-group"][data-group="stakeholders"]').check()
    page.screenshot(path=str(artifacts / "hub-share.png"))
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_function(
        "(el) => el.innerText === 'Shared: stakeholders'",
        arg=row.locator('[data-testid="pipeline-audience"]').element_handle(),
    )
    audience = dep.scheduler(ANALYST, "GET", f"pipelines/{PIPELINE}").json()["audience"]
    assert audience == {"groups": ["stakeholders"], "users": []}

    context, stake = new_page(browser)
    base = dep.hub.url
    try:
        log_in(stake, dep, STAKEHOLDER)
        # stakeholders land on the reports gallery (through the service's OAuth)
        stake.wait_for_url(f"{base}/services/reports/", timeout=60_000)
        stake.wait_for_selector(f"section.card#p-{PIPELINE}")
        stake.screenshot(path=str(artifacts / "hub-reports.png"), full_page=True)

        stake.goto(f"{base}/services/reports/pipelines/{PIPELINE}/latest")
        # the page is the report (sandboxed by its CSP, no script): it scrolls once
        stake.locator("body").get_by_text(MARKER).first.wait_for()
        assert stake.locator("iframe").count() == 0
        stake.screenshot(path=str(artifacts / "hub-report.png"), full_page=True)

        # no server for stakeholders: the spawn page and the Lab are refused
        spawn = stake.goto(f"{base}/hub/spawn")
        assert spawn is not None and spawn.status == 403, spawn and spawn.status
        lab = stake.goto(f"{base}/user/{STAKEHOLDER}/lab")
        assert lab is not None and lab.status in (403, 404, 424), (lab and lab.status, stake.url)
        assert stake.locator("#jp-main-dock-panel").count() == 0
    except Exception:
        _failed(stake, dep, artifacts / "FAILED-hub-stakeholder.png")
        raise
    finally:
        context.close()


def _allow_reruns(dep: Deployment) -> None:
    """What the owner changes (and an engineer reviews) to let the audience re-run the
    report: ``audience_reruns: true``, the region as a widget parameter of the notebook, and
    its value at the pipeline level (a task's ``parameters:`` would fix it for every run)."""
    folder = dep.scheduled / PIPELINE
    spec_file = folder / "pipeline.yaml"
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    task = spec["tasks"][0]
    spec["parameters"] = {**spec.get("parameters", {}), **task.pop("parameters", {})}
    spec["audience_reruns"] = True
    spec_file.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    notebook = folder / task["notebook"]
    nb = nbformat.read(notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = 'region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], "ASIA")'
    nbformat.write(nb, notebook)


def _rerun_to(stake: Any, base: str, region: str) -> str:
    """On the pipeline's latest report, choose ``region`` and submit; the run id of the page
    the service sends the stakeholder to."""
    stake.goto(f"{base}/services/reports/pipelines/{PIPELINE}/latest")
    select = stake.locator('[data-testid="rerun-region"]')
    assert select.input_value() == "ASIA"  # the latest report's own value
    select.select_option(region)
    stake.locator('[data-testid="rerun-submit"]').click()
    stake.wait_for_url(re.compile(r"/services/reports/runs/[^/?]+$"))
    return str(stake.url.rstrip("/").rsplit("/", 1)[1])


def test_6_a_stakeholder_reruns_the_report_with_another_region(
    browser: Any, dep: Deployment, artifacts: Path
) -> None:
    """The owner lets the audience re-run it (``audience_reruns: true``, a region dropdown in
    the parameters cell); the stakeholder picks another region on the report page and
    submits: a new run under their name starts in the scheduler service, and its report
    appears on the page they were sent to; the same values again give the same run (cached)."""
    _allow_reruns(dep)
    context, stake = new_page(browser)
    base = dep.hub.url
    try:
        log_in(stake, dep, STAKEHOLDER)
        stake.wait_for_url(f"{base}/services/reports/", timeout=60_000)
        run_id = _rerun_to(stake, base, "EUROPE")
        # the run page reloads itself (no script) until the report is written
        stake.locator("body").get_by_text(f"{MARKER} EUROPE").first.wait_for(timeout=240_000)
        stake.screenshot(path=str(artifacts / "hub-rerun.png"), full_page=True)
        detail = dep.run_detail(ANALYST, run_id)["run"]
        assert (detail["state"], detail["requested_by"], detail["trigger"]) == (
            "succeeded", STAKEHOLDER, "manual",
        )  # fmt: skip
        assert detail["parameters"] == {"region": "EUROPE"}

        # the same values again: the cached run, not a new one
        assert _rerun_to(stake, base, "EUROPE") == run_id
        stake.locator("body").get_by_text(f"{MARKER} EUROPE").first.wait_for()
        runs = dep.scheduler(ANALYST, "GET", f"runs?pipeline={PIPELINE}").json()["runs"]
        assert [r["requested_by"] for r in runs].count(STAKEHOLDER) == 1
    except Exception:
        _failed(stake, dep, artifacts / "FAILED-hub-rerun.png")
        raise
    finally:
        context.close()
