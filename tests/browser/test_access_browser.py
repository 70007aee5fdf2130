"""Requesting and approving access to a confidential table in the Lab, as real OS accounts.

One ``workspace hub`` with its scheduler service on a demo lake, for the module, where root
classifies ``bronze.region`` as confidential (its data moves to a root-only DuckLake). The
steps build on each other: an analyst requests access, a ``legal`` member approves it, the
analyst reads the table.

Screenshots: build/browser-artifacts/access-request.png, access-panel.png (copied to
docs/images/access-panel.png for the README), access-granted.png. Needs root.
"""

from __future__ import annotations

import json
import pwd
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hub_helpers import HUB_MARKS, hub_with_users, lab_page
from support.browser import open_sidebar

from tests.support.hub import new_user_name, run_cli
from tests.support.hub_demo import Deployment

pytestmark = HUB_MARKS

ANALYST = new_user_name("wsa_")
APPROVER = new_user_name("wsa_")
TABLE = "bronze.region"
REASON = "Regional revenue study"
PANEL_CLIP = {"x": 0, "y": 0, "width": 640, "height": 340}  # the Access panel's top


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    """The hub with an analyst and a legal member (who classifies ``bronze.region``)."""
    with hub_with_users("scheduler", {ANALYST: "analysts", APPROVER: "legal"}) as d:
        yield d


@pytest.fixture(scope="module")
def analyst(browser: Any, dep: Deployment) -> Iterator[Any]:
    with lab_page(browser, dep, ANALYST) as page:
        yield page


@pytest.fixture(scope="module")
def approver(browser: Any, dep: Deployment) -> Iterator[Any]:
    with lab_page(browser, dep, APPROVER) as page:
        yield page


def _count_as(dep: Deployment, user: str) -> subprocess.CompletedProcess[str]:
    """``ws.table(TABLE).count()`` in a fresh process of the user's OS account."""
    code = f"import workspace; print(workspace.connect().table({TABLE!r}).count().execute())"
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONWARNINGS": "ignore",
           "WORKSPACE_HOME": str(dep.hub.home)}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code], user=user, group=pwd.getpwnam(user).pw_gid,
        extra_groups=[], env=env, cwd="/", capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _detail(page: Any) -> Any:
    return page.locator(f'[data-testid="table-detail"][data-name="{TABLE}"]')


def _open_in_catalog(page: Any) -> Any:
    """Open ``TABLE`` from the catalog's tree; its detail."""
    open_sidebar(page, "workspace-catalog")
    page.locator('[data-testid="catalog-layer"][data-layer="bronze"]').click()
    page.locator(f'[data-testid="catalog-table"][data-name="{TABLE}"]').first.click()
    return _detail(page)


def _refresh_access(page: Any) -> Any:
    if not page.locator("#workspace-access").is_visible():  # a click on its tab closes it
        open_sidebar(page, "workspace-access")
    panel = page.locator('[data-testid="access-panel"]')
    panel.locator('[data-testid="access-refresh"]').click()
    page.locator('[data-testid="access-panel"][data-loading="false"]').wait_for()
    return panel


def test_0_legal_classifies_the_table_in_the_catalog(
    approver: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """A ``legal`` member opens ``bronze.region`` in the catalog, picks "confidential" and a
    mask for ``r_comment`` in the Classify dialog; the scheduler service moves the table into
    its own lake, and the member's own detail now refuses it (legal has no grant either)."""
    page = approver
    shot_on_failure.append(page)
    detail = _open_in_catalog(page)
    detail.and_(page.locator('[data-loaded="true"]')).wait_for(timeout=60_000)
    detail.locator('[data-testid="classify"]').click()
    form = page.locator('[data-testid="classify-form"]')
    form.wait_for()
    form.locator('[data-testid="classify-tier"]').select_option("confidential")
    form.locator('[data-pii="r_comment"]').check()
    form.locator('[data-mask="r_comment"]').select_option("redact")
    page.screenshot(path=str(artifacts / "classify-dialog.png"))
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    result = page.locator('[data-testid="classify-result"]')
    result.wait_for(timeout=120_000)
    assert "internal → confidential, and moved into its own protected lake" in (result.inner_text())
    assert f"{TABLE}_masked" in result.inner_text()
    page.locator(".jp-Dialog-button.jp-mod-accept").click()
    detail.locator('[data-testid="request-access"]').wait_for(timeout=60_000)
    audit = run_cli(dep.hub.home, "audit", "--action", "tier_change", "--json")
    entries = json.loads(audit.stdout)
    assert [(e["actor"], e["target"]) for e in entries] == [(APPROVER, f"table:{TABLE}")]


def test_1_analyst_requests_access_from_the_catalog(
    analyst: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The server refuses the table ("... is confidential: request access") and the detail
    offers "Request access"; the dialog (reason, days) creates a pending request and says its
    id and who approves it."""
    page = analyst
    shot_on_failure.append(page)
    detail = _open_in_catalog(page)
    button = detail.locator('[data-testid="request-access"]')
    button.wait_for(timeout=60_000)
    assert f"{TABLE} is confidential" in detail.inner_text()
    refused = _count_as(dep, ANALYST)
    assert refused.returncode != 0 and f"{TABLE} is confidential" in refused.stderr, refused

    button.click()
    form = page.locator('[data-testid="access-request-form"]')
    form.locator('[data-testid="access-reason"]').fill(REASON)
    form.locator('[data-testid="access-days"]').fill("7")
    page.locator(".jp-Dialog-button.jp-mod-accept").click()

    result = page.locator('[data-testid="access-request-result"]')
    result.wait_for()
    assert result.get_attribute("data-ok") == "true", result.inner_text()
    assert "legal group" in result.inner_text()
    page.screenshot(path=str(artifacts / "access-request.png"))
    request_id = int(result.get_attribute("data-request-id") or 0)
    page.locator(".jp-Dialog-button.jp-mod-accept").click()

    pending = dep.scheduler(APPROVER, "GET", "access/requests").json()["requests"]
    assert [(r["id"], r["user"], r["target"], r["days"]) for r in pending] == [
        (request_id, ANALYST, f"table:{TABLE}", 7)
    ]

    mine = _refresh_access(page).locator('[data-testid="access-my-request"]')
    assert mine.count() == 1
    assert mine.get_attribute("data-status") == "pending"
    # the analyst may not decide their own request
    assert page.locator('[data-testid="access-request"]').count() == 0


def test_2_legal_approves_it_in_the_access_panel(
    approver: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """A member of ``legal`` sees the request with the analyst's reason and approves it."""
    page = approver
    shot_on_failure.append(page)
    panel = _refresh_access(page)
    item = panel.locator(f'[data-testid="access-request"][data-user="{ANALYST}"]')
    item.wait_for()
    assert item.get_attribute("data-target") == TABLE
    assert REASON in item.inner_text()
    item.locator('[data-testid="access-note"]').fill("For the study only")
    page.screenshot(path=str(artifacts / "access-panel.png"), clip=PANEL_CLIP)

    item.locator('[data-testid="access-approve"]').click()
    item.wait_for(state="detached")
    assert panel.locator('[data-testid="access-error"]').count() == 0
    grants = dep.scheduler(APPROVER, "GET", "access/grants").json()["grants"]
    assert [(g["user"], g["target"], g["granted_by"]) for g in grants] == [
        (ANALYST, f"table:{TABLE}", APPROVER)
    ]


def test_3_the_analyst_can_read_the_table(
    analyst: Any, dep: Deployment, artifacts: Path, shot_on_failure: list[Any]
) -> None:
    """The analyst's Access panel shows the request approved and the grant with its expiry;
    "Retry" on the table's detail now opens it (the Lab server's kept connection reopens when
    the tables the account may read change), and the account reads its rows."""
    page = analyst
    shot_on_failure.append(page)
    panel = _refresh_access(page)
    assert panel.locator('[data-testid="access-my-request"]').get_attribute("data-status") == (
        "approved"
    )
    grant = panel.locator(f'[data-testid="access-grant"][data-target="{TABLE}"]')
    assert "expires in 6 days" in grant.inner_text() or "expires in 7 days" in grant.inner_text()

    detail = _detail(page)
    detail.get_by_role("button", name=re.compile("Retry|Try again")).first.click()
    detail.and_(page.locator('[data-loaded="true"]')).wait_for(timeout=60_000)
    assert detail.locator('[data-testid="schema-row"]').count() == 3  # r_regionkey, r_name ...
    read = _count_as(dep, ANALYST)
    assert (read.returncode, read.stdout.strip()) == (0, "5"), read  # TPC-H has 5 regions
    page.screenshot(path=str(artifacts / "access-granted.png"))
