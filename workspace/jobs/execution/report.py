"""Render an executed notebook as a static, sanitized HTML report that works offline.

Vega-Lite/Vega charts (Altair) are drawn to SVG with vl-convert and embedded as
``<img src="data:image/svg+xml;base64,...">``; the body is cleaned with nh3 (no scripts,
iframes, event handlers or ``javascript:`` URLs; ``data:`` URLs only for images); the
page carries a Content-Security-Policy that forbids scripts as a second line of defence.
Values of known secrets are replaced by ``[secret NAME]`` (:mod:`workspace.governance.secrets`).
Only the CSS of nbconvert's own template is kept from the template's ``<head>``.
"""

from __future__ import annotations

import base64
import copy
import html
import json
import re
from pathlib import Path
from typing import Any

import nbformat
import nh3
from nbconvert import HTMLExporter

from workspace.governance.secrets import redactor
from workspace.jobs.execution import report_layout
from workspace.jobs.execution.context import RunContext

__all__ = ["render_report", "sanitize_html"]

_VEGA = {
    "application/vnd.vegalite.v6+json": "vegalite",
    "application/vnd.vegalite.v5+json": "vegalite",
    "application/vnd.vegalite.v4+json": "vegalite",
    "application/vnd.vega.v5+json": "vega",
}
_DROP = ("application/javascript", "application/vnd.jupyter.widget-view+json")
_EXTRA_TAGS = {
    "div",
    "span",
    "pre",
    "code",
    "img",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "tr",
    "th",
    "td",
    "caption",
    "colgroup",
    "col",
    "section",
    "header",
    "main",
    "figure",
    "figcaption",
    "details",
    "summary",
    "dl",
    "dt",
    "dd",
    "sub",
    "sup",
    "hr",
    "br",
}
_ATTRIBUTES = {
    "*": {"class", "id", "title", "style", "dir", "lang"},
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "name"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "table": {"border"},
    "ol": {"start"},
}
_STYLES = {
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "text-align",
    "text-decoration",
    "width",
    "height",
    "max-width",
    "white-space",
    "vertical-align",
}
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*\Z")
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
#: The HTTP policy under which every server (Lab extension, scheduler API) serves a report:
#: no scripts, no network, only inline styles and images, and a sandboxed document.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'; sandbox"
)


#: Style values that load or run something: nh3 filters style property names, not values.
_ACTIVE_STYLE = re.compile(r"expression\s*\(|url\s*\(|javascript:|behavior\s*:|-moz-binding", re.I)


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "style" and _ACTIVE_STYLE.search(value):
        return None  # the whole attribute: a half-kept declaration could still mislead
    if value.strip().lower().startswith("data:"):
        return value if tag == "img" and attr == "src" and _DATA_IMAGE.match(value) else None
    return value


def sanitize_html(fragment: str) -> str:
    """Remove scripts, event handlers and dangerous URLs from an HTML fragment.

    Examples
    --------
    >>> sanitize_html('<b onclick="x()">hi</b><script>alert(1)</script>')
    '<b>hi</b>'
    """
    return nh3.clean(
        fragment,
        tags=set(nh3.ALLOWED_TAGS) | _EXTRA_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_keep_attribute,
        filter_style_properties=_STYLES,
        strip_comments=True,
    )


def _static_charts(nb: nbformat.NotebookNode) -> None:
    """Replace Vega outputs by SVG images and drop outputs that need JavaScript."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data")
            if not data:
                continue
            for mime, kind in _VEGA.items():
                if mime in data:
                    data["text/html"] = _chart_img(data[mime], kind)
                    break
            for mime in (*_VEGA, *_DROP):
                data.pop(mime, None)
            if not data:
                data["text/plain"] = "[interactive output left out of the static report]"


def _chart_img(spec: Any, kind: str) -> str:
    import vl_convert

    spec = json.loads(spec) if isinstance(spec, str) else spec
    try:
        if kind == "vegalite":
            svg = _vegalite_svg(vl_convert, spec)
        else:
            svg = vl_convert.vega_to_svg(spec)
    except Exception as exc:  # a broken spec must not break the whole report
        reason = html.escape(str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__)
        return f"<pre>Chart could not be rendered: {reason}</pre>"
    encoded = base64.b64encode(svg.encode()).decode()
    return f'<img class="ws-chart" alt="chart" src="data:image/svg+xml;base64,{encoded}">'


def _vegalite_svg(vl_convert: Any, spec: dict[str, Any]) -> str:
    found = re.search(r"vega-lite/v(\d+)\.(\d+)", str(spec.get("$schema", "")))
    if found:
        try:
            return str(vl_convert.vegalite_to_svg(spec, vl_version=f"v{found[1]}_{found[2]}"))
        except ValueError:
            pass  # a version vl-convert does not bundle: use its default
    return str(vl_convert.vegalite_to_svg(spec))


def render_report(
    executed_notebook: Path,
    out: Path,
    *,
    title: str,
    context: RunContext | None = None,
    status: str | None = None,
    show_code: bool = False,
    description: str | None = None,
) -> Path:
    """Write a self-contained, script-free HTML report of ``executed_notebook`` to ``out``.

    Reports are for people who read results (:mod:`.report_layout`): the notebook's title
    and description on top, markdown and result outputs (no code, no printed output, object
    reprs or timings, unless a cell is tagged ``report-keep``; ``report-hide`` hides a cell),
    tables with formatted numbers, and the run's facts in a collapsible footer. The
    executed notebook next to the report keeps everything.

    Parameters
    ----------
    executed_notebook:
        An executed ``.ipynb`` (the runner's ``executed.ipynb``).
    out:
        Where to write the HTML file.
    title:
        The title when the notebook has none (metadata ``title``, else its first markdown
        heading), e.g. ``"sales / daily"``.
    context, status:
        Shown in the footer: pipeline, task, run id, attempt, logical date, environment.
    show_code:
        Include code cells' source and every output (off by default).
    description:
        The description when the notebook's metadata has none (e.g. the pipeline's).

    Examples
    --------
    >>> render_report(Path("runs/r1/executed.ipynb"), Path("runs/r1/report.html"),
    ...               title="sales / daily", status="succeeded")  # doctest: +SKIP
    PosixPath('runs/r1/report.html')
    """
    nb = copy.deepcopy(nbformat.read(executed_notebook, as_version=4))
    redactor().notebook(nb)  # the runner redacted it already; a report never shows a secret
    layout = report_layout.prepare(nb, fallback_title=title, show_code=show_code)
    _static_charts(nb)
    exporter = HTMLExporter(template_name="lab", exclude_input_prompt=True)
    exporter.exclude_output_prompt = True
    exporter.exclude_input = not show_code
    body, _ = exporter.from_notebook_node(nb)
    head = body.split("<body", 1)[0]
    styles = "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", head, flags=re.S))
    inner = re.search(r"<body[^>]*>(.*)</body>", body, flags=re.S)
    styles = styles.replace("</", "<\\/")  # template CSS only; never closes the tag early
    content = sanitize_html(inner.group(1) if inner else body)
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{html.escape(layout.title)}</title>"
        f"<style>{styles}{report_layout.CSS}</style></head>"
        f'<body class="jp-Notebook ws-report">'
        f"{report_layout.header(layout, status, description)}<main>{content}</main>"
        f"{report_layout.footer(context, status)}</body></html>\n"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out
