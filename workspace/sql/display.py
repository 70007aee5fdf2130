"""How results look in a notebook: the grid widget next to the static table.

``SqlResult._repr_mimebundle_`` and the ibis table hook (:func:`register_display`, bound by
``%load_ext workspace.sql``) put the static HTML table (``text/html``, what nbconvert,
reports and GitHub show) and, inside a Jupyter kernel, the interactive grid
(:class:`workspace.sql.grid.ResultGrid`) in the same output. Widgets are imported only when
a grid is shown, so loading the extension stays cheap.
"""

from __future__ import annotations

import html
import sys
import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from workspace.lake.engine import first_row
from workspace.sql.formatting import NUMERIC_KINDS, ColumnFormat, format_value, table_formats
from workspace.sql.gridquery import GridSource

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Rows of an ibis table fetched to draw its static table and the grid's first page.
HEAD_ROWS = 100


def in_kernel() -> bool:
    """Whether a Jupyter kernel (and so possibly a widget front end) shows the output."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _cells(head: pa.Table) -> tuple[list[ColumnFormat], list[list[str]]]:
    formats = table_formats(head)
    cols = [
        [format_value(v, fmt) for v in col.to_pylist()]
        for col, fmt in zip(head.columns, formats, strict=True)
    ]
    return formats, ([list(row) for row in zip(*cols, strict=True)] if cols else [])


def static_text(head: pa.Table, summary: str) -> str:
    """The rows of ``head`` as an aligned plain-text table, then ``summary``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> print(static_text(pa.table({"n": [1234567], "s": ["x"]}), "1 row"))
    n         | s
    ----------+--
    1,234,567 | x
    1 row
    """
    formats, rows = _cells(head)
    names = head.column_names
    right = [f.kind in NUMERIC_KINDS for f in formats]
    widths = [len(c) for c in names]
    for row in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]

    def line(cells: list[str]) -> str:
        parts = zip(cells, widths, right, strict=True)
        return " | ".join(c.rjust(w) if r else c.ljust(w) for c, w, r in parts).rstrip()

    lines = [" | ".join(c.ljust(w) for c, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [line(r) for r in rows]
    lines.append(summary)
    return "\n".join(lines)


def static_html(head: pa.Table, summary: str) -> str:
    """The rows of ``head`` as the static HTML table (numbers formatted, right-aligned).

    Examples
    --------
    >>> import pyarrow as pa
    >>> static_html(pa.table({"x": [6.404151e08]}), "1 row")  # doctest: +ELLIPSIS
    "<div class='ws-sql-result'>...<td style='text-align: right'>640,415,100</td>..."
    """
    esc = html.escape
    formats, rows = _cells(head)
    align = [" style='text-align: right'" if f.kind in NUMERIC_KINDS else "" for f in formats]
    names = head.column_names
    th = "".join(f"<th{a}>{esc(c)}</th>" for c, a in zip(names, align, strict=True))
    body = "".join(
        "<tr>" + "".join(f"<td{a}>{esc(v)}</td>" for v, a in zip(row, align, strict=True)) + "</tr>"
        for row in rows
    )
    return (
        "<div class='ws-sql-result'><table class='dataframe'>"
        f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"
        f"<p class='ws-sql-summary'>{esc(summary)}</p></div>"
    )


def widget_bundle(widget: Any) -> dict[str, Any]:
    """The widget-view entry of a widget's mimebundle (to sit next to a static table)."""
    bundle = widget._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    return {WIDGET_VIEW: data[WIDGET_VIEW]} if data and WIDGET_VIEW in data else {}


def register_display(ipython: InteractiveShell) -> None:
    """Show ibis tables (``ws.table(...)``) as a grid in the notebook, with a static table.

    Registered for ``ibis.expr.types.relations.Table`` by name, so ibis is not imported.
    Tables on another backend keep ibis' own display.
    """
    if ipython.display_formatter is None:
        return
    formatter = ipython.display_formatter.mimebundle_formatter
    formatter.for_type_by_name("ibis.expr.types.relations", "Table", ibis_bundle)


def ibis_bundle(table: Any, include: object = None, exclude: object = None) -> Any:
    """The grid and static table of an ibis table on a DuckDB backend (``None``: not one)."""
    if not in_kernel():
        return None  # a terminal: ibis' own repr
    from workspace.sql.grid import ResultGrid

    started = time.perf_counter()
    try:
        backend = table._find_backend()
        con = getattr(backend, "con", None)
        if con is None or backend.name != "duckdb":
            return None
        backend._run_pre_execute_hooks(table)  # registers in-memory tables (memtables)
        relation = f"({backend.compile(table)})"
        head = con.execute(f"SELECT * FROM {relation} LIMIT {HEAD_ROWS}").fetch_arrow_table()
        count = first_row(con.execute(f"SELECT count(*) FROM {relation}"))
    except Exception:  # any failure: ibis shows the table its own way
        return None
    rows = int(count[0]) if count else 0
    ms = (time.perf_counter() - started) * 1000
    summary = f"{rows:,} row{'' if rows == 1 else 's'} · {head.num_columns} columns · {ms:.1f} ms"
    shown = head.slice(0, 10)
    more = f" (showing the first {shown.num_rows})" if shown.num_rows < rows else ""
    static = summary.replace(" · ", f"{more} · ", 1)
    data: dict[str, Any] = {
        "text/plain": static_text(shown, static),
        "text/html": static_html(shown, static),
    }
    source = GridSource(con, relation, table_formats(head), rows, has_rowid=False)
    data.update(widget_bundle(ResultGrid(source, summary=summary)))
    return data


__all__ = [
    "WIDGET_VIEW",
    "ibis_bundle",
    "in_kernel",
    "register_display",
    "static_html",
    "static_text",
    "widget_bundle",
]
