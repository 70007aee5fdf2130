"""The chart builder: pick x, y, colour and mark; see the chart; put its code in a new cell.

``result.chart_builder()`` shows dropdowns (an anywidget, ``grid_frontend/chart_builder.js``)
above a preview (an ``ipywidgets.Output`` that shows the Altair chart). Every change
re-plans the chart with :func:`workspace.sql.charts.plan` and rewrites :attr:`code`, the
Altair code that draws the same chart. "Insert code cell" asks JupyterLab (the workspace
extension's ``workspace:insert-cell`` event) to add that code as a new cell below, so the
chart is part of the notebook and is drawn again in scheduled runs. Without the extension
the code is copied to the clipboard instead.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import anywidget
import duckdb
import ipywidgets
import traitlets

from workspace.lake.errors import WorkspaceError
from workspace.sql.charts import MARKS, build_chart, chart_code, infer_spec, plan, role
from workspace.sql.display import in_kernel
from workspace.sql.grid import FRONTEND

if TYPE_CHECKING:
    from workspace.sql.result import SqlResult


class ChartControls(anywidget.AnyWidget):
    """The builder's dropdowns, code preview and insert button (synced with Python)."""

    _esm = traitlets.Unicode((FRONTEND / "chart_builder.js").read_text(encoding="utf-8")).tag(
        sync=True
    )
    _css = traitlets.Unicode((FRONTEND / "grid.css").read_text(encoding="utf-8")).tag(sync=True)

    columns: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    marks: traitlets.List[str] = traitlets.List(["auto", *MARKS]).tag(sync=True)
    x = traitlets.Unicode("").tag(sync=True)
    y = traitlets.Unicode("").tag(sync=True)
    color = traitlets.Unicode("").tag(sync=True)
    mark = traitlets.Unicode("auto").tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)


class ChartBuilder(ipywidgets.VBox):
    """Dropdowns for a chart of ``result``, its preview, and its code.

    Parameters
    ----------
    result:
        The SQL result to chart.
    variable:
        The notebook variable holding the result, used in the code; found in the
        notebook's namespace when not given (without one, the code runs the SQL again).
    workspace:
        The notebook variable of the workspace (``ws``).

    Examples
    --------
    >>> import duckdb
    >>> from workspace.sql.runner import run_sql
    >>> r = run_sql(duckdb.connect(), "SELECT 'a' AS k, 2.5 AS v")
    >>> print(ChartBuilder(r, variable="r").code)
    import altair as alt
    <BLANKLINE>
    alt.Chart(r).mark_bar().encode(
        x=alt.X("k:N").sort("-y"),
        y="sum(v):Q",
    )
    """

    def __init__(
        self, result: SqlResult, *, variable: str | None = None, workspace: str = "ws"
    ) -> None:
        self.result = result
        self.variable = variable if variable is not None else _variable_of(result)
        self.workspace = workspace
        source = result.grid_source()
        columns = [{"name": f.name, "role": role(f)} for f in source.formats]
        self.controls = ChartControls(columns=columns)
        self.preview = ipywidgets.Output()
        super().__init__([self.controls, self.preview])
        try:
            spec = infer_spec(source.formats)
            self.controls.x, self.controls.y = spec.x, spec.y or ""
        except WorkspaceError as exc:
            self.controls.error = str(exc)
        self.controls.observe(self._update, names=["x", "y", "color", "mark"])
        self._update()

    @property
    def code(self) -> str:
        """The Altair code of the chart shown."""
        return str(self.controls.code)

    def _update(self, _change: object = None) -> None:
        c = self.controls
        choice = {
            "x": c.x or None,
            "y": c.y or None,
            "color": c.color or None,
            "mark": None if c.mark in {"", "auto"} else c.mark,
        }
        try:
            spec, data = plan(self.result, **choice)
            statement = self.result.statement
            params = _parameters(statement)
            c.code = chart_code(
                spec,
                variable=self.variable,
                statement=statement,
                parameters=params,
                rows=self.result.row_count,
                workspace=self.workspace,
            )
            chart = build_chart(spec, data)
            c.error = ""
        except WorkspaceError as exc:
            c.error, c.code = str(exc), ""
            chart = None
        if not in_kernel():
            return  # no front end: the preview would print to stdout
        self.preview.clear_output(wait=True)
        if chart is not None:
            with self.preview:
                from IPython.display import display

                display(chart)


def _parameters(statement: str) -> list[str]:
    """Names of the ``$name`` parameters of a statement (bound again by the chart's code)."""
    if not statement:
        return []
    try:
        parsed = duckdb.extract_statements(statement)
    except duckdb.Error:
        return []
    return sorted(parsed[-1].named_parameters) if parsed else []


def _variable_of(result: object) -> str | None:
    """The notebook variable that holds ``result`` (not ``_``, ``_12`` or ``Out``)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    namespace: dict[str, Any] = getattr(shell, "user_ns", {}) or {}
    for name, value in namespace.items():
        if value is result and not name.startswith("_") and name not in {"Out", "In"}:
            return name
    return None


__all__ = ["ChartBuilder", "ChartControls"]
