"""The report layout for people who do not read code (used by :mod:`.report`).

:func:`prepare` turns an executed notebook into what a reader sees: the title and description
(notebook metadata ``title``/``description``, else its first markdown heading), no code, and
only the outputs that are results. Stream output (``print``, logs, warnings), object reprs
(``WriteResult(...)``, ``<Foo object at 0x...>``) and query timings (``· 29.3 ms``) are left
out; a cell tagged ``report-keep`` keeps every output, one tagged ``report-hide`` is left out.
Result grids become static tables built from the grid's saved first page, numbers formatted
by :mod:`workspace.sql.formatting`: up to :data:`FULL_ROWS` rows are shown complete, longer
tables show :data:`FIRST_ROWS` rows and the rest (as far as the notebook holds them) under a
``<details>`` "N more rows" toggle. :func:`footer` is the collapsible "About this run" block.
"""

from __future__ import annotations

import decimal
import html
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import nbformat
import pyarrow as pa

from workspace.jobs.execution.context import RunContext
from workspace.sql.formatting import NUMERIC_KINDS, ColumnFormat, column_format, format_value

__all__ = [
    "DESCRIPTION_SLOT",
    "FIRST_ROWS",
    "FULL_ROWS",
    "HIDE_TAG",
    "KEEP_TAG",
    "KEY_NUMBERS_SLOT",
    "Layout",
    "footer",
    "grid_table",
    "header",
    "human_date",
    "prepare",
]

KEEP_TAG = "report-keep"
HIDE_TAG = "report-hide"
#: Tables of at most this many rows are shown complete.
FULL_ROWS = 50
#: Rows shown before the "N more rows" toggle of a longer table.
FIRST_ROWS = 20
#: Where the reports service puts the pipeline's description when the notebook has none.
DESCRIPTION_SLOT = "<!--ws:description-->"
#: Where the reports service puts the run-to-run comparison of key numbers.
KEY_NUMBERS_SLOT = "<!--ws:key-numbers-->"
_WIDGET = "application/vnd.jupyter.widget-view+json"
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
_HEADING = re.compile(r"^\s{0,3}#{1,2}\s+(.+?)\s*#*\s*$")
_REPR = re.compile(
    r"\A\s*(?:[A-Za-z_][\w.]*\(.*\)|<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>)\s*\Z", re.S
)
_ADDRESS = re.compile(r"<[\w.]+(?: object)? at 0x[0-9a-fA-F]+>")
_WRAPPED = re.compile(r"\A(?:np|numpy)\.\w+\((.+)\)\Z|\ADecimal\((.+)\)\Z")
_TIMING = re.compile(r"\s*·\s*\d[\d,]*(?:\.\d+)?\s*(?:ms|s|min)\b")
_EMPTY_SQL = re.compile(r"\A<div class='ws-sql-result'>OK(?: · [^<]*)?</div>\Z")


@dataclass
class Layout:
    """What :func:`prepare` found: the page's title and description."""

    title: str
    description: str | None
    has_intro: bool


def human_date(at: datetime) -> str:
    """A date as people read it: ``3 Dec 2026, 06:00 UTC``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> human_date(datetime(2026, 12, 3, 6, 0, tzinfo=UTC))
    '3 Dec 2026, 06:00 UTC'
    """
    zone = at.tzname() or ""
    return f"{at.day} {at:%b %Y, %H:%M}" + (f" {zone}" if zone else "")


def _plain(markdown: str) -> str:
    text = re.sub(r"<[^>]*>", "", markdown)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\s+", " ", re.sub(r"[*_`]", "", text)).strip()


def _tags(cell: Any) -> set[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return {t for t in tags if isinstance(t, str)} if isinstance(tags, list) else set()


def _title_from_heading(nb: nbformat.NotebookNode) -> tuple[str | None, bool]:
    """The first markdown cell's leading heading (removed from the cell) and whether the
    cell has text left (the notebook's own introduction)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown" or not cell.source.strip():
            continue
        lines = cell.source.splitlines()
        first = next(i for i, line in enumerate(lines) if line.strip())
        found = _HEADING.match(lines[first])
        if not found:
            return None, True
        cell.source = "\n".join(lines[first + 1 :])
        return _plain(found[1]) or None, bool(cell.source.strip())
    return None, False


def _meta_text(nb: nbformat.NotebookNode, key: str) -> str | None:
    value = nb.metadata.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _grid_states(nb: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    widgets = nb.metadata.get("widgets", {})
    state = widgets.get(_WIDGET_STATE, {}).get("state", {}) if isinstance(widgets, dict) else {}
    return {
        k: v["state"]
        for k, v in state.items()
        if isinstance(v, dict)
        and isinstance(v.get("state"), dict)
        and str(v["state"].get("_anywidget_id", "")).endswith("ResultGrid")
    }


def _value(raw: object, fmt: ColumnFormat) -> str:
    if fmt.kind == "decimal" and isinstance(raw, str):
        try:
            return format_value(decimal.Decimal(raw), fmt)
        except decimal.InvalidOperation:
            return raw
    return format_value(raw, fmt)


def _rows_html(rows: list[list[str]], right: list[bool]) -> str:
    return "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if r else "txt"}">{html.escape(v)}</td>'
            for v, r in zip(row, right, strict=False)
        )
        + "</tr>"
        for row in rows
    )


def grid_table(state: dict[str, Any]) -> str | None:
    """A static table of a result grid's saved state (``None``: not enough to draw one).

    Examples
    --------
    >>> cols = [{"name": "n", "type": "BIGINT", "kind": "integer"}]
    >>> grid_table({"columns": cols, "first_page": {"rows": [[1234]]}, "row_count": 1})
    '<div class="ws-table"><table><thead><tr><th class="num">n</th></tr></thead><tbody><tr><td class="num">1,234</td></tr></tbody></table><p class="ws-table-note">1 row</p></div>'
    """  # noqa: E501
    try:
        fields = {"name", "type", "kind", "decimals", "grouping", "dates_only"}
        formats = [
            ColumnFormat(**{k: v for k, v in c.items() if k in fields}) for c in state["columns"]
        ]
        raw_rows = state["first_page"]["rows"]
        total = int(state.get("row_count", len(raw_rows)))
    except (KeyError, TypeError, ValueError):
        return None
    rows = [[_value(v, f) for v, f in zip(row, formats, strict=False)] for row in raw_rows]
    right = [f.kind in NUMERIC_KINDS for f in formats]
    head = "".join(
        f'<th class="{"num" if r else "txt"}">{html.escape(f.name)}</th>'
        for f, r in zip(formats, right, strict=True)
    )
    shown = rows if len(rows) <= FULL_ROWS else rows[:FIRST_ROWS]
    body = _rows_html(shown, right)
    parts = [f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"]
    rest = rows[len(shown) :]
    if rest:
        parts.append(
            f"<details><summary>{len(rest):,} more row{'s' * (len(rest) != 1)}</summary>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{_rows_html(rest, right)}</tbody>"
            "</table></details>"
        )
    note = f"{total:,} row{'s' * (total != 1)}"
    if total > len(rows):
        note += f"; the report holds the first {len(rows):,}"
    parts.append(f'<p class="ws-table-note">{note}</p>')
    return '<div class="ws-table">' + "".join(parts) + "</div>"


_FRAME = re.compile(r'<table border="1" class="dataframe[^"]*">.*?</table>', re.S)
_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.S)
_TD = re.compile(r"(<td[^>]*>)(.*?)(</td>)", re.S)
_TH = re.compile(r"<th[^>]*>(.*?)</th>", re.S)


def _number(text: str) -> float | int | None:
    try:
        return int(text) if re.fullmatch(r"-?\d+", text) else float(text)
    except ValueError:
        return None


def _frame_numbers(table: str) -> str:
    """A pandas ``DataFrame`` HTML table with its number cells formatted per column."""
    head, _, body = table.partition("<tbody>")
    rows = _ROW.findall(body)
    cells = [[m[2].strip() for m in _TD.finditer(r)] for r in rows]
    width = max((len(r) for r in cells), default=0)
    header_rows = _ROW.findall(head)
    names = [_plain(t) for t in _TH.findall(header_rows[-1])] if header_rows else []
    names = ([""] * width + names)[-width:] if width else []
    texts: list[list[str]] = [[r[i] if i < len(r) else "" for r in cells] for i in range(width)]
    formats: list[ColumnFormat | None] = []
    for name, column in zip(names, texts, strict=True):
        values = [_number(v) for v in column if v not in ("", "NaN", "nan", "None")]
        if values and all(v is not None for v in values):
            ints = all(isinstance(v, int) for v in values)
            dtype = pa.int64() if ints else pa.float64()
            formats.append(column_format(name, dtype, [v for v in values if v is not None]))
        else:
            formats.append(None)

    def row(match: re.Match[str]) -> str:
        index = iter(range(width))

        def cell(m: re.Match[str]) -> str:
            fmt = formats[next(index)]
            value = _number(m[2].strip()) if fmt else None
            if fmt is None or value is None:
                return m[0]
            opening = m[1].replace("<td", '<td class="num"', 1) if "class=" not in m[1] else m[1]
            return f"{opening}{html.escape(format_value(value, fmt))}{m[3]}"

        return _TD.sub(cell, match[0])

    return head + "<tbody>" + _ROW.sub(row, body) if rows else table


def _is_noise(out: Any) -> bool:
    if out.get("output_type") == "stream":
        return True
    data = out.get("data")
    if not isinstance(data, dict):
        return False
    rich = [m for m in data if m != "text/plain"]
    if not rich:
        text = str(data.get("text/plain", ""))
        if _scalar(text) is not None:
            return False
        return bool(_REPR.match(text) or _ADDRESS.search(text))
    return bool(_EMPTY_SQL.match(str(data.get("text/html", "")).strip()))


def _scalar(text: str) -> float | int | decimal.Decimal | None:
    """The number a plain-text result shows: ``640415100.0``, ``np.float64(1.5)``,
    ``Decimal('2.50')`` (``None``: not a number)."""
    found = _WRAPPED.match(text.strip())
    inner = (found[1] or found[2]) if found else text.strip()
    if found and found[2] is not None:
        try:
            return decimal.Decimal(inner.strip("'\""))
        except decimal.InvalidOperation:
            return None
    return _number(inner) if re.fullmatch(r"-?[\d.]+(?:e[+-]?\d+)?", inner) else None


def _clean_output(out: Any, grids: dict[str, dict[str, Any]]) -> None:
    data = out.get("data")
    if not isinstance(data, dict):
        return
    view = data.get(_WIDGET)
    model = view.get("model_id") if isinstance(view, dict) else None
    table = grid_table(grids[model]) if isinstance(model, str) and model in grids else None
    if table is not None:
        data["text/html"] = table
    elif isinstance(data.get("text/html"), str) and 'class="dataframe' in data["text/html"]:
        data["text/html"] = _FRAME.sub(lambda m: _frame_numbers(m[0]), data["text/html"])
    plain = data.get("text/plain")
    value = _scalar(plain) if isinstance(plain, str) and len(data) == 1 else None
    if value is not None:
        data["text/plain"] = format_value(value)
    for mime in ("text/html", "text/plain"):
        if isinstance(data.get(mime), str):
            data[mime] = _TIMING.sub("", data[mime])
        elif isinstance(data.get(mime), list):  # nbformat may keep multi-line strings split
            data[mime] = _TIMING.sub("", "".join(data[mime]))


def prepare(nb: nbformat.NotebookNode, *, fallback_title: str, show_code: bool) -> Layout:
    """Shape ``nb`` (in place) for a report and find its title and description.

    Examples
    --------
    >>> from nbformat.v4 import new_markdown_cell, new_notebook
    >>> nb = new_notebook(cells=[new_markdown_cell("# Daily *sales*")])
    >>> prepare(nb, fallback_title="sales / main", show_code=False).title
    'Daily sales'
    """
    heading, has_intro = _title_from_heading(nb)
    title = _meta_text(nb, "title") or heading or fallback_title
    grids = _grid_states(nb)
    cells = []
    for cell in nb.cells:
        tags = _tags(cell)
        if HIDE_TAG in tags and not show_code:
            continue
        if cell.cell_type == "code":
            outputs = cell.get("outputs", [])
            if not show_code and KEEP_TAG not in tags:
                outputs = [o for o in outputs if not _is_noise(o)]
            for out in outputs:
                _clean_output(out, grids)
            cell.outputs = outputs
            if not outputs and not show_code:
                continue
        cells.append(cell)
    nb.cells = cells
    return Layout(title, _meta_text(nb, "description"), has_intro)


def footer(context: RunContext | None, status: str | None) -> str:
    """The collapsible "About this run" footer (``<details>``), every value escaped.

    Examples
    --------
    >>> "<details" in footer(None, "succeeded")
    True
    """
    rows = [("Status", status.replace("_", " "))] if status else []
    if context is not None:
        rows += [
            ("Pipeline", context.pipeline),
            ("Task", context.task),
            ("Run", context.run_id),
            ("Attempt", str(context.attempt)),
            ("Logical date", human_date(context.logical_date)),
            ("Environment", context.environment),
        ]
    items = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    return (
        '<footer class="ws-report-footer"><details><summary>About this run</summary>'
        f"<dl>{items}</dl></details></footer>"
    )


def header(layout: Layout, status: str | None, description: str | None) -> str:
    """The page's title, description (or the service's slot for one) and a failure notice."""
    text = layout.description or description
    if text:
        lede = f'<p class="ws-description">{html.escape(text)}</p>'
    else:
        lede = "" if layout.has_intro else DESCRIPTION_SLOT
    notice = ""
    if status and status != "succeeded":
        words = status.replace("_", " ")
        notice = f'<p class="ws-notice">This run {html.escape(words)}: results may be missing.</p>'
    css = html.escape(status or "unknown")
    return (
        f'<header class="ws-report-header ws-status-{css}"><h1>{html.escape(layout.title)}</h1>'
        f"{lede}{notice}</header>{KEY_NUMBERS_SLOT}"
    )


CSS = """
body.ws-report{font-family:system-ui,sans-serif;max-width:60em;margin:0 auto;padding:0 1.5em;
color:#1f2328;line-height:1.5}
.ws-report-header{padding:1.5em 0 .5em;border-bottom:1px solid #d0d7de;margin-bottom:1em}
.ws-report-header h1{margin:0 0 .3em;font-size:1.8em}
.ws-description{color:#57606a;margin:0;font-size:1.1em}
.ws-notice{color:#cf222e;font-weight:600}
.ws-table table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
.ws-table th,.ws-table td{padding:.25em .8em;border-bottom:1px solid #eaeef2}
.ws-table th{border-bottom:2px solid #d0d7de}.ws-table .num{text-align:right}
.ws-table .txt{text-align:left}.dataframe td{text-align:right}
.ws-table-note,.ws-sql-summary{color:#57606a;font-size:.85em}
.ws-report-footer{margin:2em 0 1em;padding-top:.5em;border-top:1px solid #d0d7de;
color:#57606a;font-size:.85em}
.ws-report-footer dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}
.ws-report-footer dd{margin:0}
.ws-chart{max-width:100%}
"""
