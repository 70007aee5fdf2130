"""The team deployment in Chromium: a real ``workspace hub`` (PAM logins, per-user servers as
OS accounts, the scheduler and reports services) on a demo lake.

An analyst logs in on the hub's login page, the hub spawns their server, and they land in the
Lab with the catalog panel. A stakeholder logs in, lands on the reports gallery, and opens
the latest report of a pipeline run through the scheduler service: the report is framed in a
sandboxed iframe. The stakeholder gets no server.

Screenshots: build/browser-artifacts/hub-login.png, hub-lab.png, hub-reports.png,
hub-report.png. Needs root (``useradd``, and the hub runs each server as its user).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import open_sidebar

from tests.support.hub import new_user_name
from tests.support.hub_demo import Deployment, deployment, write_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

ANALYST = new_user_name("wsb_")
STAKEHOLDER = new_user_name("wsb_")
PIPELINE = "kpis_" + ANALYST
MARKER = "Quarterly revenue grew 42 percent"


def _setup(scheduled: Path) -> None:
    write_pipeline(
        scheduled,
        PIPELINE,
        ANALYST,
        [f"print({MARKER!r})"],
        audience="{groups: [stakeholders]}",
    )


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    """The hub on a demo lake, an analyst and a stakeholder, and one finished run."""
    with deployment(services="scheduler,reports", demo=True, setup=_setup) as d:
        d.add(ANALYST, "analysts")
        d.add(STAKEHOLDER, "stakeholders")
        resp = d.scheduler(ANALYST, "POST", f"pipelines/{PIPELINE}/trigger", {})
        assert resp.status_code == 201, resp.text
        detail = d.wait_finished(ANALYST, resp.json()["run_id"])
        assert detail["run"]["state"] == "succeeded", detail
        yield d


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    yield ctx
    ctx.close()


def _log_in(page: Any, dep: Deployment, name: str, shot: Path | None = None) -> None:
    page.goto(dep.hub.url + "/hub/login")
    page.wait_for_selector("#username_input")
    if shot is not None:
        page.screenshot(path=str(shot))
    page.fill("#username_input", name)
    page.fill("#password_input", dep.passwords[name])
    page.press("#password_input", "Enter")


def test_analyst_logs_in_and_lands_in_the_lab_with_the_catalog(
    dep: Deployment, context: Any, artifacts: Path
) -> None:
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        _log_in(page, dep, ANALYST, artifacts / "hub-login.png")
        # the hub spawns the server (as the analyst's OS account), then sends them to the Lab
        page.wait_for_url(re.compile(rf"/user/{ANALYST}/lab"), timeout=150_000)
        page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        open_sidebar(page, "workspace-catalog")
        page.wait_for_selector('[data-testid="catalog-layer"][data-layer="bronze"]')
        layers = page.locator('[data-testid="catalog-layer"]').evaluate_all(
            "els => els.map(e => e.dataset.layer)"
        )
        assert layers[:3] == ["bronze", "silver", "gold"], layers
        page.locator('[data-testid="catalog-layer"][data-layer="bronze"]').click()
        page.wait_for_selector('[data-testid="catalog-table"][data-name="bronze.nation"]')
        page.screenshot(path=str(artifacts / "hub-lab.png"))
    except Exception:
        page.screenshot(path=str(artifacts / "FAILED-hub-lab.png"))
        raise


def test_stakeholder_opens_the_latest_report_and_gets_no_server(
    dep: Deployment, context: Any, artifacts: Path
) -> None:
    page = context.new_page()
    page.set_default_timeout(30_000)
    base = dep.hub.url
    try:
        _log_in(page, dep, STAKEHOLDER)
        # stakeholders land on the reports gallery (through the service's OAuth)
        page.wait_for_url(f"{base}/services/reports/", timeout=60_000)
        page.wait_for_selector(f"section.card#p-{PIPELINE}")
        assert PIPELINE in page.inner_text("body")
        page.screenshot(path=str(artifacts / "hub-reports.png"), full_page=True)

        page.goto(f"{base}/services/reports/pipelines/{PIPELINE}/latest")
        frame = page.locator("iframe.report")
        frame.wait_for()
        assert frame.get_attribute("sandbox") == ""  # sandboxed: no script, unique origin
        assert re.fullmatch(r"/services/reports/runs/[^/]+/report", frame.get_attribute("src"))
        body = page.frame_locator("iframe.report").locator("body")
        body.get_by_text(MARKER).first.wait_for()
        assert MARKER in body.inner_text()
        page.screenshot(path=str(artifacts / "hub-report.png"), full_page=True)

        # no server for stakeholders: the spawn page and the Lab are refused
        spawn = page.goto(f"{base}/hub/spawn")
        assert spawn is not None and spawn.status == 403, spawn and spawn.status
        lab = page.goto(f"{base}/user/{STAKEHOLDER}/lab")
        # the hub answers for a server the stakeholder may not have (404: not revealed)
        assert lab is not None and lab.status in (403, 404, 424), (lab and lab.status, page.url)
        assert "/hub/" in page.url
        assert page.locator("#jp-main-dock-panel").count() == 0
    except Exception:
        page.screenshot(path=str(artifacts / "FAILED-hub-stakeholder.png"))
        raise
