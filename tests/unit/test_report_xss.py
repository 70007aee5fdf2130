"""Hostile notebooks through the real report renderer: no script survives, whatever the cell.

Each case builds a notebook carrying one class of XSS payload (markdown, HTML, SVG and
JavaScript outputs, attachments, notebook/cell/output metadata), renders it with
:func:`workspace.jobs.execution.report.render_report` (what the runner calls after every attempt)
and parses the page with BeautifulSoup to check that nothing executable is left: no
``<script>``, no ``on*`` handler, no ``javascript:``/``vbscript:``/``data:text`` URL, no
element that loads or navigates a document (iframe, frame, object, embed, applet, base,
form, link, meta refresh), no inline ``<svg>``/``<math>``, no attacker CSS, and images only
as ``data:image/...`` (an SVG inside ``<img>`` never runs its scripts).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workspace.jobs.execution.report import REPORT_CSP, render_report

#: A marker in every payload: it must never reach a place where it could run.
X = "alert(1337)"
SVG_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1337)">'
    "<script>alert(1337)</script>"
    '<a href="javascript:alert(1337)"><text>x</text></a>'
    '<foreignObject><iframe srcdoc="&lt;script&gt;alert(1337)&lt;/script&gt;"></iframe>'
    "</foreignObject></svg>"
)
BREAKOUT = '"><script>alert(1337)</script><img src=x onerror="alert(1337)">'

_FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "base",
    "form",
    "input",
    "button",
    "link",
    "svg",
    "math",
    "noscript",
    "template",
    "portal",
}
_URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster"}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,", re.I)
_BAD_URL = re.compile(r"^(javascript|vbscript|data:text|data:application)", re.I)


def _html_cell(markup: str) -> Any:
    cell = new_code_cell("display(HTML(...))")
    cell.outputs = [new_output("display_data", data={"text/html": markup, "text/plain": "x"})]
    return cell


def _output_cell(data: dict[str, Any], metadata: dict[str, Any] | None = None) -> Any:
    cell = new_code_cell("out")
    cell.outputs = [
        new_output("execute_result", data=data, metadata=metadata or {}, execution_count=1)
    ]
    return cell


def _svg_attachment_cell() -> Any:
    encoded = base64.b64encode(SVG_SCRIPT.encode()).decode()
    cell = new_markdown_cell("![chart](attachment:evil.svg) and ![b](attachment:evil.html)")
    cell.attachments = {
        "evil.svg": {"image/svg+xml": encoded},
        "evil.html": {"text/html": base64.b64encode(b"<script>alert(1337)</script>").decode()},
    }
    return cell


CASES: dict[str, list[Any]] = {
    "markdown-script": [
        new_markdown_cell(f"# Title\n\n<script>{X}</script>\n\n<SCRIPT SRC=//e.test/x.js>")
    ],
    "markdown-img-onerror": [
        new_markdown_cell(
            f'<img src=x onerror="{X}"> <b onmouseover={X}>b</b> '
            f'<details open ontoggle="{X}"><summary>s</summary></details>'
        )
    ],
    "markdown-javascript-links": [
        new_markdown_cell(
            f"[a](javascript:{X}) [b](JaVaScRiPt:{X}) <a href='java&#x09;script:{X}'>c</a> "
            f'<a href="  javascript:{X}">d</a> [e](vbscript:msgbox(1)) '
            f'<a href="data:text/html,&lt;script&gt;{X}&lt;/script&gt;">f</a> '
            f"![g](javascript:{X})"
        )
    ],
    "svg-output": [_output_cell({"image/svg+xml": SVG_SCRIPT, "text/plain": "svg"})],
    "html-iframe-srcdoc": [
        _html_cell(f'<iframe srcdoc="<script>{X}</script>"></iframe><frame src="javascript:{X}">')
    ],
    "html-object-embed": [
        _html_cell(
            f'<object data="javascript:{X}"></object><embed src="data:text/html,<script>{X}'
            '</script>"><applet code="X"></applet>'
        )
    ],
    "html-meta-refresh-base": [
        _html_cell(
            f'<meta http-equiv="refresh" content="0;url=javascript:{X}">'
            f'<base href="javascript:{X}//"><link rel="stylesheet" href="https://e.test/x.css">'
        )
    ],
    "html-style-import": [
        _html_cell(
            "<style>@import url('https://e.test/x.css'); body{background:url(javascript:"
            f"{X})}}</style><p style=\"background-image:url('https://e.test/x.png');"
            f'width:expression({X})">p</p>'
        )
    ],
    "html-form-action": [
        _html_cell(
            f'<form action="javascript:{X}"><input name=a><button formaction="javascript:{X}">'
            "go</button></form>"
        )
    ],
    "html-mutation": [
        _html_cell(
            f'<math><mtext><table><mglyph><style><img src=x onerror="{X}"></style>'
            f'<noscript><p title="</noscript><img src=x onerror={X}>"></p></noscript>'
            f'<svg><a xlink:href="javascript:{X}"><text>t</text></a></svg>'
            f"<template><script>{X}</script></template><!--<script>{X}</script>-->"
        )
    ],
    "javascript-output": [
        _output_cell({"application/javascript": X, "text/plain": "js"}),
        _output_cell({"text/markdown": f"<script>{X}</script>*md*", "text/plain": "md"}),
        _output_cell({"text/latex": f"$x$</div><script>{X}</script>", "text/plain": "tex"}),
    ],
    "stream-and-error": [
        new_code_cell("print()"),
    ],
    "attachment-svg": [_svg_attachment_cell()],
    "image-output-metadata": [
        _output_cell(
            {"image/png": "iVBORw0KGgo=", "text/plain": "png"},
            metadata={"image/png": {"width": BREAKOUT, "height": BREAKOUT}},
        ),
        _output_cell({"image/png": f'iVBORw0KGgo="><script>{X}</script>', "text/plain": "p"}),
    ],
    "cell-metadata": [
        new_markdown_cell("text", metadata={"tags": [BREAKOUT], "name": BREAKOUT}),
        new_code_cell("1", metadata={"tags": [BREAKOUT], "jupyter": {"source_hidden": BREAKOUT}}),
    ],
}
CASES["stream-and-error"][0].outputs = [
    new_output("stream", text=f"</pre><script>{X}</script>"),
    new_output(
        "error",
        ename=BREAKOUT,
        evalue=BREAKOUT,
        traceback=[f"\x1b[31m{BREAKOUT}\x1b[0m", f"<script>{X}</script>"],
    ),
]


def _notebook(cells: list[Any], *, hostile_metadata: bool = False) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    if hostile_metadata:
        nb.metadata.update(
            title=BREAKOUT,
            authors=[{"name": BREAKOUT}],
            kernelspec={"name": "python3", "display_name": BREAKOUT, "language": BREAKOUT},
            language_info={"name": BREAKOUT},
            widgets={
                "application/vnd.jupyter.widget-state+json": {
                    "state": {"x": {"v": f"</script><style>*{{x:1}}</style><script>{X}"}},
                    "version_major": 2,
                    "version_minor": 0,
                }
            },
        )
    return nb


def _render(tmp_path: Path, nb: nbformat.NotebookNode, **kwargs: Any) -> str:
    path = tmp_path / "hostile.ipynb"
    nbformat.write(nb, path)
    out = render_report(path, tmp_path / "report.html", title=kwargs.pop("title", "t"), **kwargs)
    return out.read_text(encoding="utf-8")


def executable_findings(page: str) -> list[str]:
    """Everything in ``page`` that could run script or load/navigate a document."""
    soup = BeautifulSoup(page, "html.parser")
    found: list[str] = []
    styles = soup.find_all("style")
    if len(styles) != 1 or styles[0].find_parent("head") is None:
        found.append(f"{len(styles)} <style> elements (only the template's one in <head>)")
    for el in soup.find_all(True):
        assert isinstance(el, Tag)
        name = el.name.lower()
        if name in _FORBIDDEN_TAGS:
            found.append(f"<{name}> element: {str(el)[:120]}")
        if name == "meta" and not (
            el.get("charset") or el.get("http-equiv") == "Content-Security-Policy"
        ):
            found.append(f"<meta> other than charset/CSP: {el}")
        for attr, raw in el.attrs.items():
            value = " ".join(raw) if isinstance(raw, list) else str(raw)
            squeezed = re.sub(r"[\s\x00-\x1f]", "", value)
            if attr.lower().startswith("on"):
                found.append(f"event handler {attr}= on <{name}>")
            if attr.lower() in {"srcdoc", "formaction", "http-equiv"} and name != "meta":
                found.append(f"{attr}= on <{name}>")
            if attr.lower() in _URL_ATTRS and _BAD_URL.match(squeezed):
                found.append(f"{attr}={value[:60]!r} on <{name}>")
            data_url = squeezed.lower().startswith("data:")
            if name == "img" and attr == "src" and data_url and not _DATA_IMAGE.match(squeezed):
                found.append(f"<img src={value[:60]!r}> is a data: URL but not an image")
            if attr.lower() == "style" and re.search(r"url\(|@import", value, re.I):
                found.append(f"style={value[:80]!r} on <{name}>")
    if X in (styles[0].get_text() if styles else ""):
        found.append("notebook content inside the page's <style>")
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_notebook_renders_without_executable_content(tmp_path: Path, case: str) -> None:
    page = _render(tmp_path, _notebook(CASES[case]))
    assert executable_findings(page) == []
    assert "default-src 'none'" in page  # the in-page CSP stays as a second line of defence


def test_hostile_notebook_and_cell_metadata(tmp_path: Path) -> None:
    nb = _notebook(CASES["cell-metadata"], hostile_metadata=True)
    page = _render(tmp_path, nb, title=BREAKOUT, status=BREAKOUT)
    assert executable_findings(page) == []
    soup = BeautifulSoup(page, "html.parser")
    assert soup.title is not None and soup.title.get_text() == BREAKOUT  # shown, as text


@pytest.mark.filterwarnings("ignore:No lexer found for language")  # hostile language_info
def test_every_payload_class_at_once_with_code_shown(tmp_path: Path) -> None:
    """Code cells' source is rendered too when asked: still escaped, still no script."""
    cells = [c for cs in CASES.values() for c in cs]
    cells.append(new_code_cell(f"# </pre><script>{X}</script>\nx = '{BREAKOUT}'"))
    page = _render(tmp_path, _notebook(cells, hostile_metadata=True), show_code=True)
    assert executable_findings(page) == []
    assert "&lt;script&gt;" in page  # code text is there, escaped


def test_attachment_svg_is_only_ever_an_image(tmp_path: Path) -> None:
    page = _render(tmp_path, _notebook(CASES["attachment-svg"]))
    soup = BeautifulSoup(page, "html.parser")
    images = soup.find_all("img")
    assert images, "the attachment is dropped or shown as an image, never inline"
    for img in images:
        assert str(img.get("src", "data:image/")).startswith("data:image/"), img


def test_checker_catches_what_it_must() -> None:
    """The checker itself can fail: raw payloads are reported."""
    page = (
        '<html><head><meta charset="utf-8"><style>p{}</style></head><body>'
        f'<script>{X}</script><img src=x onerror="{X}"><a href=" java\tscript:{X}">a</a>'
        f'<iframe srcdoc="x"></iframe><meta http-equiv="refresh" content="0">'
        f'<style>@import "x"</style><form action="https://e.test"></form></body></html>'
    )
    found = " | ".join(executable_findings(page))
    for expected in ["<script>", "onerror", "href=", "<iframe>", "<meta>", "<style>", "<form>"]:
        assert expected in found, (expected, found)


def test_remote_images_survive_sanitizing_but_the_page_csp_blocks_them(tmp_path: Path) -> None:
    """Not script, but a beacon: ``<img src=https://...>`` is kept by the sanitizer, so the
    in-page CSP (and REPORT_CSP on the HTTP response) must limit images to ``data:``."""
    page = _render(tmp_path, _notebook([_html_cell('<img src="https://e.test/b.png">')]))
    meta = BeautifulSoup(page, "html.parser").find("meta", attrs={"http-equiv": True})
    assert isinstance(meta, Tag) and "img-src data:" in str(meta.get("content"))
    assert "img-src data:" in REPORT_CSP


def test_style_values_carry_no_css_expressions(tmp_path: Path) -> None:
    page = _render(tmp_path, _notebook([_html_cell(f'<p style="width:expression({X})">p</p>')]))
    assert "expression(" not in page
    kept = _render(tmp_path, _notebook([_html_cell('<p style="color: red">p</p>')]))
    assert 'style="color: red"' in kept or "color:red" in kept.replace(" ", "")


def test_report_csp_forbids_scripts_and_sandboxes() -> None:
    directives = {d.split()[0]: d.split()[1:] for d in REPORT_CSP.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"] and "script-src" not in directives
    assert "sandbox" in directives and directives["sandbox"] == []
    assert directives["base-uri"] == ["'none'"] and directives["form-action"] == ["'none'"]
