"""The catalog shows data quality: a health badge per table in the tree (one batched
request), and a table's Quality tab with its checks, findings, Vega-Lite charts (rows per
commit with the volume drop marked, null rates) and a PII suggestion that its owner dismisses
or confirms."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import Lab, open_sidebar, start_lab

TABLE = "silver.quality_people"

PREPARE = f"""
import pandas as pd, workspace
ws = workspace.connect()
frame = pd.DataFrame({{
    "id": range(60),
    "email": [f"user{{i}}@example.org" for i in range(60)],
    "contact": [None if i % 7 == 3 else f"person{{i}}@mail.example.com" for i in range(60)],
}})
ws.write("{TABLE}", frame.head(30), mode="overwrite")
for start in range(30, 55, 5):  # five small batches, then one of a single row: a volume drop
    ws.write("{TABLE}", frame.iloc[start : start + 5])
ws.write("{TABLE}", frame.iloc[55:56])
ws.quality.contract("{TABLE}", key="id", checks=[
    {{"type": "unique", "columns": "id"}}, {{"type": "not_null", "column": "email"}}])
ws.quality.check("{TABLE}")
"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A Lab of its own. In the session's Lab, a kernel left open by the catalog test keeps
    a read lock on the SQLite catalog, so this test's writes time out (seen in CI, and found
    with /proc/locks). Known problem, under investigation; see the closing note."""
    with start_lab(tmp_path_factory.mktemp("browser-quality")) as running:
        yield running


def _prepare(lab: Lab) -> None:
    """Write a shared table with e-mail columns and declared checks, as the Lab's user."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(lab.home), "WORKSPACE_USER": "analyst"}
    env["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run([sys.executable, "-c", PREPARE], env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"preparing {TABLE} failed:\n{done.stderr[-3000:]}"


def test_health_badge_quality_tab_and_pii_review(page: Any, lab: Lab, artifacts: Path) -> None:
    _prepare(lab)
    api = lab.api("GET", f"quality/tables/{TABLE}")  # samples the new columns for PII
    assert {p["column"] for p in api["pii"]} == {"email", "contact"}, api["pii"]

    # the tree: one health badge per table, from one request
    requests: list[str] = []
    page.on(
        "request", lambda r: requests.append(r.url) if "/workspace/api/quality/" in r.url else None
    )
    open_sidebar(page, "workspace-catalog")
    page.click('[data-testid="catalog-refresh"]')  # the panel loaded before the table existed
    page.locator('[data-testid="catalog-layer"][data-layer="silver"]').click()
    row = page.locator(f'[data-testid="catalog-table"][data-name="{TABLE}"]')
    badge = row.locator('[data-testid="health-badge"][data-level="warn"]')
    badge.wait_for()
    title = badge.get_attribute("title") or ""
    assert "added 1 rows" in title and "3 findings" in title, title  # the drop and 2 PII
    assert page.locator('[data-testid="health-badge"]').count() > 1
    assert not [u for u in requests if "/quality/tables/" in u], requests  # no per-table call

    # the detail's Quality tab: health, checks, findings, charts, PII suggestions
    row.click()
    detail = page.locator(f'[data-testid="table-detail"][data-name="{TABLE}"]')
    detail.locator('[data-testid="tab-quality"]').click()
    tab = detail.locator('[data-testid="quality-tab"]')
    tab.wait_for()
    assert tab.get_attribute("data-health") == "warning"
    checks = tab.locator('[data-testid="quality-check"]')
    assert checks.count() == 2
    assert {checks.nth(i).get_attribute("data-status") for i in range(2)} == {"pass"}
    rows = tab.locator('[data-testid="quality-chart"][data-chart="rows"]')
    rows.locator("svg, canvas").first.wait_for()  # drawn by the Lab's Vega-Lite renderer
    assert "1 anomaly" in rows.locator("figcaption").inner_text()
    assert tab.locator('[data-testid="quality-chart"][data-chart="nulls"]').count() == 1
    kinds = tab.locator('[data-testid="quality-finding"]').evaluate_all(
        "els => els.map(e => e.dataset.kind)"
    )
    assert kinds.count("pii") == 2 and "volume" in kinds, kinds
    assert "user1@example.org" not in tab.inner_text()  # masked examples only
    page.screenshot(path=str(artifacts / "catalog-quality.png"))

    # the owner dismisses one suggestion and confirms the other
    email = tab.locator('[data-testid="pii-suggestion"][data-column="email"]')
    email.locator('[data-testid="pii-dismiss"]').click()
    tab.locator(
        '[data-testid="pii-suggestion"][data-column="email"][data-status="dismissed"]'
    ).wait_for()
    contact = tab.locator('[data-testid="pii-suggestion"][data-column="contact"]')
    contact.locator('[data-testid="pii-confirm"]').click()
    tab.locator(
        '[data-testid="pii-suggestion"][data-column="contact"][data-status="confirmed"]'
    ).wait_for()
    assert tab.locator('[data-testid="quality-finding"][data-kind="pii"]').count() == 0

    # the server agrees, and the catalog now flags the confirmed column
    after = {p["column"]: p["status"] for p in lab.api("GET", f"quality/tables/{TABLE}")["pii"]}
    assert after == {"email": "dismissed", "contact": "confirmed"}
    columns = {c["name"]: c for c in lab.api("GET", f"catalog/tables/{TABLE}")["columns"]}
    assert columns["contact"]["pii"] and not columns["email"]["pii"]
