"""The result grid in a real Lab: a 2M-row ``%%sql`` result scrolls, sorts and filters in the
kernel's DuckDB; the chart builder inserts its Altair code as a new cell below."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from support.browser import Lab, open_notebook, run_cell

ROWS = 2_000_000
QUERY = (
    "SELECT range AS id, (range * 7919) % 1000 / 4.0 AS amount, 'item ' || (range % 50) AS label "
    f"FROM range({ROWS})"
)
GRID = '[data-testid="ws-grid"]'


def _first_row(page: Any) -> list[str]:
    row = page.locator(f'{GRID} [data-testid="grid-row"]').first
    return [td.inner_text() for td in row.locator("td").all()]


def _wait_loaded(page: Any) -> None:
    """Wait until every visible row has arrived from the kernel."""
    try:
        _wait_rows(page)
    except Exception as exc:
        state = page.locator(GRID).evaluate("g => JSON.stringify(g.dataset)")
        raise AssertionError(f"the grid's rows did not arrive: {state}") from exc


def _wait_rows(page: Any) -> None:
    page.wait_for_function(
        """(sel) => {
            const g = document.querySelector(sel);
            if (!g) return false;
            const cells = [...g.querySelectorAll('[data-testid="grid-row"] td')];
            return !g.dataset.loading && !cells.some(td => td.textContent === '…');
        }""",
        arg=GRID,
        timeout=60_000,
    )


def test_grid_scrolls_sorts_filters_and_charts(page: Any, lab: Lab, artifacts: Path) -> None:
    con = duckdb.connect()
    lab.put_notebook("grid.ipynb", [f"%%sql\n{QUERY}", "_.chart_builder()"])
    open_notebook(page, lab, "grid.ipynb")
    first_cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").first
    run_cell(page, first_cell)
    grid = page.locator(GRID)
    grid.wait_for(timeout=90_000)
    assert "2,000,000 rows" in grid.locator('[data-testid="grid-summary"]').inner_text()
    # header: the type and, once on screen, a histogram from one aggregate in the kernel
    header = grid.locator('[data-testid="grid-header"][data-column="amount"]')
    assert "DOUBLE" in header.inner_text()
    header.locator('[data-testid="grid-histogram"]').wait_for(timeout=60_000)
    assert _first_row(page)[1:4] == ["0", "0.00", "item 0"]
    page.screenshot(path=str(artifacts / "result-grid.png"))

    # scroll to the middle: the rows there come from the kernel, page by page
    scroller = grid.locator('[data-testid="grid-scroll"]')
    scroller.evaluate("el => { el.scrollTop = (el.scrollHeight - el.clientHeight) / 2; }")
    page.wait_for_function("(sel) => +document.querySelector(sel).dataset.first > 900000", arg=GRID)
    _wait_loaded(page)
    first = int(grid.get_attribute("data-first") or 0)
    row = _first_row(page)
    assert row[0] == f"{first + 1:,}" and row[1] == f"{first:,}".replace(",", "")

    # sort by amount, descending (two clicks): back to the top, largest first
    header.click()
    header.click()
    page.wait_for_function(
        "(sel) => document.querySelector(sel).dataset.generation === '2'", arg=GRID
    )
    _wait_loaded(page)
    top = con.execute(
        f"SELECT id, amount FROM ({QUERY}) ORDER BY amount DESC, id LIMIT 1"
    ).fetchone()
    assert top is not None
    assert _first_row(page)[1:3] == [str(top[0]), f"{top[1]:,.2f}"]

    # filter: label contains "item 7" and amount >= 200
    grid.locator('[data-testid="grid-filter"][data-column="label"]').fill("item 7")
    amount_filter = grid.locator('[data-testid="grid-filter"][data-column="amount"]')
    amount_filter.fill(">= 200")
    amount_filter.press("Enter")
    where = "label ILIKE '%item 7%' AND amount >= 200"
    count = con.execute(f"SELECT count(*) FROM ({QUERY}) WHERE {where}").fetchone()
    assert count is not None
    status = grid.locator('[data-testid="grid-status"]')
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel).innerText === text",
        arg=[f'{GRID} [data-testid="grid-status"]', f"{count[0]:,} rows match"],
        timeout=60_000,
    )
    _wait_loaded(page)
    assert "rows match" in status.inner_text()
    assert _first_row(page)[3].startswith("item 7")
    page.screenshot(path=str(artifacts / "result-grid-filtered.png"))

    # the chart builder writes its Altair code into a new cell below its own
    second_cell = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").nth(1)
    second_cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    builder = page.locator('[data-testid="chart-builder"]')
    builder.wait_for(timeout=90_000)
    page.wait_for_function(
        "(sel) => document.querySelector(sel)?.textContent.includes('alt.Chart')",
        arg='[data-testid="chart-code"]',
    )
    builder.locator('[data-testid="chart-insert"]').click()
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
    page.wait_for_function(
        "(sel) => document.querySelectorAll(sel).length >= 3",
        arg=".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell",
    )
    assert "import altair as alt" in cells.nth(2).locator(".jp-InputArea-editor").inner_text()
    page.screenshot(path=str(artifacts / "chart-builder.png"))
