"""Reports are static and sanitized: charts become images, scripts and handlers disappear."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workspace.jobs.execution.report import render_report, sanitize_html
from workspace.jobs.execution.runner import RunContext, run_notebook

CTX = RunContext("run-9", "sales", "chart", logical_date=datetime(2024, 5, 1, tzinfo=UTC))
CHART = """import altair as alt, pandas as pd
alt.renderers.enable('mimetype')
alt.Chart(pd.DataFrame({'a': [1, 2], 'b': [3, 4]})).mark_bar().encode(x='a', y='b')"""
EVIL = """from IPython.display import HTML, display
display(HTML('<script>alert(1)</script><img src=x onerror=alert(1)>'
             '<a href="javascript:alert(2)">x</a><iframe src="https://e.test"></iframe>'))"""


def _tags(html: str, name: str) -> list[str]:
    return re.findall(rf"<{name}\b[^>]*>", html, flags=re.I)


def test_report_of_a_real_run_has_static_chart_and_no_script(tmp_path):
    nb = new_notebook(
        cells=[
            new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
            new_markdown_cell("# Sales <b onmouseover='alert(3)'>today</b>"),
            new_code_cell(CHART),
            new_code_cell(EVIL),
            new_code_cell("import pandas as pd\npd.DataFrame({'region': ['north']})"),
        ]
    )
    path = tmp_path / "chart.ipynb"
    nbformat.write(nb, path)
    result = run_notebook(
        path, parameters={}, context=CTX, attempt_dir=tmp_path / "a", kernel_name="python3"
    )
    assert result.status == "succeeded", result.error
    html = result.report.read_text()
    images = _tags(html, "img")
    assert any('class="ws-chart"' in t and "data:image/svg+xml;base64," in t for t in images)
    assert not _tags(html, "script") and not _tags(html, "iframe")
    all_tags = " ".join(re.findall(r"<[a-z][^>]*>", html, flags=re.I))
    assert not re.search(r"\son\w+\s*=", all_tags), "event handler attribute survived"
    assert "javascript:" not in all_tags
    assert "Content-Security-Policy" in html
    assert ">run-9<" in html and ">sales<" in html and ">succeeded<" in html  # the footer
    assert "<title>Sales today</title>" in html  # the title from the first heading
    assert "<table" in html and "north" in html


def test_render_report_offline_without_kernel(tmp_path):
    nb = new_notebook(
        cells=[
            new_code_cell(
                "chart",
                outputs=[
                    new_output(
                        "display_data",
                        data={
                            "application/vnd.vegalite.v5+json": {
                                "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
                                "data": {"values": [{"a": 1}]},
                                "mark": "point",
                                "encoding": {"x": {"field": "a", "type": "quantitative"}},
                            },
                            "text/plain": "<Chart>",
                        },
                    ),
                    new_output("display_data", data={"application/javascript": "alert(1)"}),
                ],
            )
        ]
    )
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)
    out = render_report(path, tmp_path / "r.html", title="t <x>", context=None, status="failed")
    html = out.read_text()
    assert "data:image/svg+xml;base64," in html
    assert "alert(1)" not in html and not _tags(html, "script")
    assert "<title>t &lt;x&gt;</title>" in html


def test_sanitize_html_rules():
    assert sanitize_html('<img src="data:image/png;base64,iVBO">') == (
        '<img src="data:image/png;base64,iVBO">'
    )
    assert "data:" not in sanitize_html('<a href="data:text/html,<script>">x</a>')
    assert "data:" not in sanitize_html('<img src="data:text/html;base64,PHNjcmlwdD4=">')
    cleaned = sanitize_html('<span class="nb" style="color: red; position: fixed">x</span>')
    assert 'class="nb"' in cleaned and "color" in cleaned and "position" not in cleaned
    assert sanitize_html("<svg onload=alert(1)><script>x</script></svg>") == ""


def test_reports_hide_code_unless_asked(tmp_path: Path) -> None:
    import nbformat

    from workspace.jobs.execution.report import render_report

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Weekly numbers"),
            nbformat.v4.new_code_cell(
                "secret_formula = 6 * 7\nprint(secret_formula)",
                outputs=[
                    nbformat.v4.new_output(
                        "execute_result", data={"text/plain": "42"}, execution_count=1
                    )
                ],
            ),
        ]
    )
    executed = tmp_path / "executed.ipynb"
    nbformat.write(nb, executed)
    for_people = render_report(executed, tmp_path / "people.html", title="t").read_text()
    assert "Weekly numbers" in for_people and "42" in for_people
    assert "secret_formula" not in for_people
    with_code = render_report(executed, tmp_path / "code.html", title="t", show_code=True)
    assert "secret_formula" in with_code.read_text()
