"""The report layout: title from the heading, run facts in a footer, results without noise."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workspace.jobs.execution.context import RunContext
from workspace.jobs.execution.report import render_report
from workspace.jobs.execution.report_layout import FIRST_ROWS, FULL_ROWS

CTX = RunContext(
    "run-42", "sales", "daily", attempt=2, logical_date=datetime(2026, 12, 3, 6, tzinfo=UTC)
)
MODEL = "c68a9701c79e4a2b9988f75a2747514c"
PANDAS = (
    '<div><table border="1" class="dataframe"><thead><tr style="text-align: right;"><th></th>'
    "<th>revenue</th><th>o_orderkey</th></tr></thead><tbody>"
    "<tr><th>0</th><td>6.404151e+08</td><td>123456</td></tr>"
    "<tr><th>1</th><td>1.5</td><td>7</td></tr></tbody></table></div>"
)


def _result(data: dict[str, object]) -> nbformat.NotebookNode:
    return new_output("execute_result", data=data, execution_count=1)


def _grid_state(rows: int) -> dict[str, object]:
    """A result grid's saved widget state, shaped as the workspace kernel saves it."""
    columns = [
        {"name": "n", "type": "BIGINT", "kind": "integer", "decimals": None, "grouping": True},
        {"name": "amount", "type": "DOUBLE", "kind": "float", "decimals": 2, "grouping": True},
    ]
    first = {"offset": 0, "rows": [[i, i * 1000.5] for i in range(min(rows, 100))]}
    state = {"_anywidget_id": "workspace.sql.grid.ResultGrid", "columns": columns}
    state |= {"first_page": first, "row_count": rows, "summary": f"{rows} rows · 14.2 ms"}
    return {
        "application/vnd.jupyter.widget-state+json": {
            "state": {MODEL: {"model_name": "AnyModel", "state": state}},
            "version_major": 2,
            "version_minor": 0,
        }
    }


def _notebook(tmp_path: Path, rows: int = 20) -> Path:
    summary = f"{rows} rows (showing the first 10) · 2 columns · 29.3 ms"
    cells = [
        new_code_cell("region = 'ASIA'", metadata={"tags": ["parameters"]}),
        new_markdown_cell("# Daily *revenue*\n\nRevenue by day, for the sales team."),
        new_code_cell(
            "%%sql\nSELECT ...",
            outputs=[
                _result(
                    {
                        "text/plain": summary,
                        "text/html": f"<div class='ws-sql-result'><p class='ws-sql-summary'>"
                        f"{summary}</p></div>",
                        "application/vnd.jupyter.widget-view+json": {"model_id": MODEL},
                    }
                )
            ],
        ),
        new_code_cell(
            "ws.write(...)",
            outputs=[
                new_output("stream", name="stdout", text="loading 3 files\n"),
                new_output("stream", name="stderr", text="UserWarning: deprecated\n"),
                _result({"text/plain": "WriteResult(table='gold.x', rows=20, version=3)"}),
                _result({"text/plain": "<pandas.io.Foo object at 0x7f3a2c1d9e50>"}),
                _result({"text/plain": "[<matplotlib.lines.Line2D at 0x7f3a2c1d9e50>]"}),
            ],
        ),
        new_code_cell(
            "df.revenue.sum()", outputs=[_result({"text/plain": "np.float64(53540803.8)"})]
        ),
        new_code_cell("df", outputs=[_result({"text/plain": "df", "text/html": PANDAS})]),
        new_code_cell(
            "print(total)",
            metadata={"tags": ["report-keep"]},
            outputs=[new_output("stream", name="stdout", text="kept total 1234\n")],
        ),
        new_code_cell(
            "debug",
            metadata={"tags": ["report-hide"]},
            outputs=[_result({"text/plain": "42", "text/html": "<b>hidden-by-tag</b>"})],
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["widgets"] = _grid_state(rows)
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    return path


def test_report_reads_like_a_report(tmp_path: Path) -> None:
    out = render_report(
        _notebook(tmp_path), tmp_path / "r.html", title="sales / daily", context=CTX,
        status="succeeded",
    )  # fmt: skip
    page = out.read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.title is not None and soup.title.get_text() == "Daily revenue"
    header = soup.select_one("header.ws-report-header")
    assert header is not None and header.h1 is not None and header.h1.get_text() == "Daily revenue"
    assert page.count("Daily") == 2  # <title> and <h1>: the heading is not repeated
    assert "Revenue by day, for the sales team." in page  # the intro stays
    facts = soup.select_one("footer.ws-report-footer details")
    assert facts is not None and facts.summary is not None
    text = facts.get_text(" ")
    assert "run-42" in text and "3 Dec 2026, 06:00 UTC" in text and "dev" in text
    assert "2" in text and not soup.select("header table")  # no run facts in a header
    noise = ["region =", "SELECT", "ws.write", "loading 3 files", "UserWarning", "WriteResult"]
    noise += ["object at 0x", "29.3 ms", "14.2 ms", "hidden-by-tag"]
    assert [n for n in noise if n in page] == []
    assert "kept total 1234" in page  # report-keep keeps even printed output
    grid = soup.select_one(".ws-table table")
    assert grid is not None and len(grid.select("tbody tr")) == 20  # complete, not 10 of 20
    assert "19,009.50" in page and "20 rows" in page
    assert "640,415,100.00" in page and "6.404151e+08" not in page  # pandas table formatted
    assert ">123456<" in page  # an identifier column gets no separators
    assert "53,540,803.8" in page and "np.float64" not in page and "Line2D" not in page


def test_long_tables_show_the_first_rows_and_the_rest_behind_a_toggle(tmp_path: Path) -> None:
    page = render_report(_notebook(tmp_path, rows=500), tmp_path / "r.html", title="t")
    soup = BeautifulSoup(page.read_text(), "html.parser")
    table = soup.select_one(".ws-table")
    assert table is not None and FIRST_ROWS < FULL_ROWS
    assert len(table.select(":scope > table tbody tr")) == FIRST_ROWS
    more = table.select_one("details")
    assert more is not None and more.summary is not None
    assert more.summary.get_text() == f"{100 - FIRST_ROWS} more rows"
    assert "500 rows; the report holds the first 100" in table.get_text()


def test_code_view_shows_code_and_every_output(tmp_path: Path) -> None:
    page = render_report(_notebook(tmp_path), tmp_path / "r.html", title="t", show_code=True)
    text = page.read_text()
    assert "SELECT" in text and "WriteResult" in text and "loading 3 files" in text
