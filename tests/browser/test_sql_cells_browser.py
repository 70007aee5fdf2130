"""``%%sql`` cells in a real Lab: SQL highlighting, Tab completion of table names from the
kernel, and "Format SQL" from the cell's context menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.browser import Lab, open_notebook

CELLS = [
    "import os",
    "%%sql\nselect nation, count(*) n from gold.customer_segments group by all",
    "%%sql\nSELECT * FROM ",
]
EDITOR_TEXT = "(cell) => cell.querySelector('.cm-content').innerText"


def _token_class(cell: Any, text: str) -> str:
    """The highlight class of the token ``text`` in a cell's editor ('' if not styled)."""
    span = cell.locator(".cm-content span", has_text=text).first
    span.wait_for()
    return str(span.get_attribute("class") or "")


def test_sql_cells_highlight_complete_and_format(page: Any, lab: Lab, artifacts: Path) -> None:
    lab.put_notebook("sql_cells.ipynb", CELLS)
    open_notebook(page, lab, "sql_cells.ipynb")
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell")
    python, sql, typed = cells.nth(0), cells.nth(1), cells.nth(2)

    # highlighting: SQL keywords get the style of keywords (as Python's `import` does)
    keyword = _token_class(python, "import")
    assert keyword, "the Python keyword is not highlighted"
    page.wait_for_function(
        "([cell, cls]) => [...cell.querySelectorAll('.cm-content span')].some("
        "s => s.textContent === 'select' && s.className === cls)",
        arg=[sql.element_handle(), keyword],
    )
    assert _token_class(sql, "group") == keyword
    styled = sql.evaluate(
        "(cell, cls) => [...cell.querySelectorAll('.cm-content span')]"
        ".filter(s => s.className === cls).map(s => s.textContent)",
        keyword,
    )
    assert "gold" not in styled and "nation" not in styled, styled  # names are not keywords

    # completion: type a layer, press Tab, the kernel offers that layer's tables
    typed.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("gold.")
    page.keyboard.press("Tab")
    items = page.locator(".jp-Completer .jp-Completer-item")
    items.first.wait_for(timeout=30_000)
    offered = [t.strip() for t in items.all_inner_texts()]
    assert any("gold.customer_segments" in t for t in offered), offered
    page.screenshot(path=str(artifacts / "sql-cell-completion.png"))
    page.locator(".jp-Completer .jp-Completer-item", has_text="gold.customer_segments").click()
    page.wait_for_function(
        f"(cell) => ({EDITOR_TEXT})(cell).includes('FROM gold.customer_segments')",
        arg=typed.element_handle(),
    )

    # "Format SQL" from the %%sql cell's context menu (the server formats with sqlglot)
    sql.locator(".jp-InputArea-editor").click(button="right")
    page.locator(".lm-Menu-item", has_text="Format SQL").click()
    page.wait_for_function(
        f"(cell) => ({EDITOR_TEXT})(cell).includes('count(*) AS n')", arg=sql.element_handle()
    )
    text = sql.evaluate(EDITOR_TEXT)
    assert text.startswith("%%sql\nSELECT\n  nation,"), text
    assert "FROM gold.customer_segments\nGROUP BY ALL" in text, text
