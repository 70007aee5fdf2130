"""The catalog browser in a real Lab: find a TPC-H table, open it, insert and run a SQL cell."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from support.browser import Lab, open_sidebar

TABLE = "bronze.lineitem"


def _names(page: Any, selector: str, attr: str) -> list[str]:
    return list(page.locator(selector).evaluate_all(f"els => els.map(e => e.dataset.{attr})"))


def test_tree_search_detail_and_insert_sql(page: Any, lab: Lab, artifacts: Path) -> None:
    # 1-2. open Lab, open the catalog: the layers are listed with their tables
    open_sidebar(page, "workspace-catalog")
    page.wait_for_selector('[data-testid="catalog-layer"][data-layer="bronze"]')
    layers = _names(page, '[data-testid="catalog-layer"]', "layer")
    assert layers[:3] == ["bronze", "silver", "gold"], layers
    page.locator('[data-testid="catalog-layer"][data-layer="gold"]').click()
    page.wait_for_selector('[data-testid="catalog-table"][data-name="gold.customer_segments"]')
    page.screenshot(path=str(artifacts / "catalog-tree.png"))

    # search as you type: the list shows what the server finds for the text, nothing else
    page.fill('[data-testid="catalog-search"]', "lineitem")
    page.wait_for_selector(f'[data-testid="catalog-table"][data-name="{TABLE}"]')
    expected = {t["name"] for t in lab.api("GET", "catalog/tables?q=lineitem")["tables"]}
    page.wait_for_function(
        """(n) => document.querySelectorAll('[data-testid="catalog-table"]').length === n""",
        arg=len(expected),
    )
    assert set(_names(page, '[data-testid="catalog-table"]', "name")) == expected

    # 3. open the table: its schema and preview match the lake
    started = time.perf_counter()
    page.locator(f'[data-testid="catalog-table"][data-name="{TABLE}"]').first.click()
    detail = page.locator(f'[data-testid="table-detail"][data-name="{TABLE}"]')
    detail.and_(page.locator('[data-loaded="true"]')).wait_for()
    click_to_detail_ms = 1000 * (time.perf_counter() - started)
    (artifacts / "timings.json").write_text(
        json.dumps({"click_to_table_detail_ms": round(click_to_detail_ms, 1)})
    )
    print(f"click to table detail: {click_to_detail_ms:.0f} ms")
    described = lab.api("GET", f"catalog/tables/{TABLE}")
    shown = _names(detail, '[data-testid="schema-row"]', "column")
    assert shown == [c["name"] for c in described["columns"]]
    page.screenshot(path=str(artifacts / "catalog-detail.png"))

    detail.locator('[data-testid="tab-preview"]').click()
    preview = detail.locator('[data-testid="preview-table"]')
    preview.locator("tbody tr").first.wait_for()
    rows = lab.api("GET", f"catalog/tables/{TABLE}/preview?limit=50")
    assert preview.locator("tbody tr").count() == len(rows["rows"]) == min(50, rows["total"])
    first_key = str(rows["rows"][0][0])
    assert first_key in preview.locator("tbody tr").first.inner_text()
    detail.locator('[data-testid="preview-next"]').click()
    page.wait_for_function(
        """([sel, key]) => {
            const c = document.querySelector(sel + ' tbody tr td');
            return c && !c.closest('tr').innerText.startsWith(key + '\\t');
        }""",
        arg=[
            f'[data-testid="table-detail"][data-name="{TABLE}"] [data-testid="preview-table"]',
            first_key,
        ],
    )
    assert "51" in detail.locator('[data-testid="preview-range"]').inner_text()
    page.screenshot(path=str(artifacts / "catalog-preview.png"))

    # the profile: one card per column, with an inline distribution
    detail.locator('[data-testid="tab-profile"]').click()
    cards = detail.locator('[data-testid="profile-column"]')
    cards.first.wait_for(timeout=60_000)
    assert cards.count() == len(described["columns"])
    assert detail.locator('[data-testid="profile-column"] svg').count() > 0
    page.screenshot(path=str(artifacts / "catalog-profile.png"))

    # 4. insert a SQL cell into a notebook, run it, and see the result
    detail.locator('[data-testid="insert-sql"]').click()
    cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell", has_text="%%sql").last
    cell.wait_for()
    assert TABLE in cell.inner_text()
    # the new notebook's "Python (workspace)" kernel has started
    page.wait_for_function(
        "() => /Python \\(workspace\\) \\| Idle/.test("
        "document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')?.innerText || '')",
        timeout=90_000,
    )
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output")
    output.first.wait_for(timeout=90_000)
    page.wait_for_function(
        "(el) => el.innerText.includes('l_orderkey')", arg=output.first.element_handle()
    )
    text = output.first.inner_text()
    assert "Error" not in text, text
    page.screenshot(path=str(artifacts / "catalog-sql-cell.png"))
