"""Notebook parameters declared as widgets: a parameter bar in the Lab, the contract of a run.

In a notebook's ``parameters`` cell (the workspace kernel preloads ``params``)::

    region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], default="ASIA")
    start = params.date("start", "2024-01-01")

Each call checks its declaration (a default outside its choices or bounds, ``min > max`` and
a name declared twice are errors) and returns the value. In a kernel the cell shows one
parameter bar (ipywidgets) whose controls update the variable (and, declared with
``run_on_change=True``, ask the Lab to re-run the cells below), with a ``name = value`` text
fallback for reports. In a run papermill assigns the injected values after this cell; the
runner checks them first against :func:`declared_parameters` (read with ``ast``, nothing runs),
and the bar follows the variables after each cell, so the executed notebook shows what ran.
"""

from __future__ import annotations

import html
import logging
from datetime import date as _date
from typing import Any, cast

from workspace.params.contract import (
    PARAMETERS_ENV,
    check_injected,
    declared_or_none,
    declared_parameters,
    injected,
    with_declared,
)
from workspace.params.spec import Kind, ParamError, ParamSpec, describe

# fmt: off
__all__ = [
    "PARAMETERS_ENV", "Kind", "ParamError", "ParamSpec", "ParameterBar", "check_injected",
    "checkbox", "date", "declared_or_none", "declared_parameters", "describe", "dropdown",
    "injected", "integer", "number", "reset", "run_on_change", "text", "with_declared",
]
# fmt: on
log = logging.getLogger(__name__)


# -- the declaration functions ----------------------------------------------------------------
def dropdown(
    name: str,
    choices: list[Any] | None = None,
    default: Any = None,
    label: str | None = None,
    query: str | None = None,
    run_on_change: bool = False,
) -> Any:
    """A choice among ``choices`` (or the first column of ``query``); returns the value.

    Examples
    --------
    >>> dropdown("doc_region", ["ASIA", "EUROPE"], default="ASIA")
    'ASIA'
    """
    error, rerun = None, bool(run_on_change)
    if query is not None and choices is None:
        choices, error = _query_choices(query)
        if error is not None:
            return _declare(
                ParamSpec(name, "dropdown", None, default, None, None, label, query, error, rerun)
            )
    if default is None and choices:
        default = choices[0]
    spec = ParamSpec(name, "dropdown", choices, default, None, None, label, query, None, rerun)
    return _declare(spec)


def date(name: str, default: Any, label: str | None = None, run_on_change: bool = False) -> str:
    """A date, as an ISO string (``"2024-01-01"``); a date picker in the bar.

    Examples
    --------
    >>> date("doc_start", "2024-01-01")
    '2024-01-01'
    """
    spec = ParamSpec(name, "date", default=default, label=label, run_on_change=run_on_change)
    return str(_declare(spec))


def integer(
    name: str,
    default: int,
    min: int | None = None,
    max: int | None = None,
    label: str | None = None,
    run_on_change: bool = False,
) -> int:
    """An integer within ``min`` .. ``max`` (either may be ``None``).

    Examples
    --------
    >>> integer("doc_min_orders", 5, min=0, max=100)
    5
    """
    spec = ParamSpec(name, "integer", None, default, min, max, label, run_on_change=run_on_change)
    return int(_declare(spec))


def number(
    name: str,
    default: float,
    min: float | None = None,
    max: float | None = None,
    label: str | None = None,
    run_on_change: bool = False,
) -> float:
    """A number within ``min`` .. ``max``.

    Examples
    --------
    >>> number("doc_ratio", 0.5, min=0, max=1)
    0.5
    """
    spec = ParamSpec(name, "number", None, default, min, max, label, run_on_change=run_on_change)
    return cast(float, _declare(spec))


def text(
    name: str, default: str = "", label: str | None = None, run_on_change: bool = False
) -> str:
    """Free text.

    Examples
    --------
    >>> text("doc_title", "Revenue")
    'Revenue'
    """
    spec = ParamSpec(name, "text", default=default, label=label, run_on_change=run_on_change)
    return str(_declare(spec))


def checkbox(
    name: str, default: bool = False, label: str | None = None, run_on_change: bool = False
) -> bool:
    """True or false.

    Examples
    --------
    >>> checkbox("doc_full", True)
    True
    """
    spec = ParamSpec(name, "checkbox", default=default, label=label, run_on_change=run_on_change)
    return bool(_declare(spec))


def run_on_change(enabled: bool = True) -> None:
    """Re-run the cells below the parameters cell when any control of the bar changes.

    The same as ``run_on_change=True`` on every declaration. The kernel cannot run cells:
    the bar asks the Lab (a custom widget message that the workspace extension acts on), so
    in a run (papermill, no front end) it does nothing.

    Examples
    --------
    >>> run_on_change(False)
    """
    global RUN_ON_CHANGE
    RUN_ON_CHANGE = bool(enabled)


RUN_ON_CHANGE = False
#: The custom message of the bar's widget that asks the Lab to re-run the cells below it.
RERUN_EVENT = "workspace.params.run_on_change"


def _query_choices(query: str) -> tuple[list[Any] | None, str | None]:
    """The first column of ``query`` on the notebook's ``ws`` (or a new connection)."""
    try:
        from workspace.lake import Workspace, connect

        shell = _shell()
        ws = shell.user_ns.get("ws") if shell is not None else None
        if isinstance(ws, Workspace):
            return [row[0] for row in ws.con.execute(query).fetchall()], None
        with connect() as own:  # no ``ws`` in the notebook: a connection of its own
            return [row[0] for row in own.con.execute(query).fetchall()], None
    except Exception as exc:  # the widget shows it; the notebook goes on with the default
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


# -- the bar --------------------------------------------------------------------------------
def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the workspace
        return None
    return get_ipython()


class ParameterBar:
    """The controls declared by one run of a parameters cell, shown as one output.

    Its mimebundle holds the ipywidgets ``HBox`` and a ``text/plain`` / ``text/html``
    ``name = value`` list, so a report (no widget state) still shows the values.
    """

    def __init__(self, shell: Any) -> None:
        self.shell, self.specs, self.values, self.widgets = shell, {}, {}, []  # type: ignore[var-annotated]
        self.controls: dict[str, Any] = {}  # name -> its control (inside any error box)
        self.execution = getattr(shell, "execution_count", None)
        self.handle: Any = None
        self.box: Any = None
        self.syncing = False  # the controls follow the variables: no run on change

    def add(self, spec: ParamSpec, value: Any) -> None:
        if spec.name in self.specs:
            raise ParamError(
                f"parameter {spec.name} is declared twice; give each parameter its own name."
            )
        self.specs[spec.name], self.values[spec.name] = spec, value
        if self.shell is None or getattr(self.shell, "kernel", None) is None:
            return  # no front end: nothing to show
        try:
            self.widgets.append(self._control(spec, value))
        except ImportError:
            log.debug("ipywidgets is not installed: no parameter bar")
        if self.handle is None:
            from IPython.display import display

            self.handle = display(self, display_id=True)
        else:
            self.handle.update(self)

    def _control(self, spec: ParamSpec, value: Any) -> Any:
        import ipywidgets as w

        label = spec.label or spec.name
        if spec.kind == "dropdown":
            options = spec.choices or ([value] if value is not None else [])
            control = w.Dropdown(options=options, value=value, description=label)
            if spec.error is not None:
                control.disabled = True
                err = html.escape(spec.error)
                self.controls[spec.name] = control
                return w.VBox([control, w.HTML(f"<span style='color:#b00'>{err}</span>")])
        elif spec.kind == "date":
            control = w.DatePicker(value=_date.fromisoformat(value), description=label)
        elif spec.kind in ("integer", "number"):
            bounded = spec.min is not None and spec.max is not None
            cls = {True: (w.BoundedIntText, w.BoundedFloatText), False: (w.IntText, w.FloatText)}
            kwargs = {"min": spec.min, "max": spec.max} if bounded else {}
            control = cls[bounded][spec.kind == "number"](value=value, description=label, **kwargs)
        elif spec.kind == "text":
            control = w.Text(value=value, description=label)
        else:
            control = w.Checkbox(value=value, description=label, indent=False)
        control.observe(lambda change: self._changed(spec, change["new"]), names="value")
        self.controls[spec.name] = control
        return control

    def _changed(self, spec: ParamSpec, new: Any) -> None:
        """A control changed: check it, update the variable and the text fallback."""
        try:
            value = spec.check(new.isoformat() if isinstance(new, _date) else new)
        except ParamError as exc:
            log.warning("%s", exc)
            return
        self.values[spec.name] = value
        self.shell.user_ns[spec.name] = value
        if self.handle is not None:
            self.handle.update(self)
        if (spec.run_on_change or RUN_ON_CHANGE) and self.box is not None and not self.syncing:
            # after the variable is set: the Lab runs the cells below the bar's cell
            self.box.send({"event": RERUN_EVENT, "name": spec.name})

    def sync(self) -> None:
        """After a cell: take the variables' values (papermill's injected cell) if they fit."""
        changed = False
        for name, spec in self.specs.items():
            try:
                value = spec.check(self.shell.user_ns.get(name, self.values[name]))
            except ParamError:
                continue  # a value the bar cannot show: it keeps the last good one
            if value == self.values[name]:
                continue
            self.values[name], changed = value, True
            try:  # the control follows (a date picker takes a date)
                control = self.controls.get(name)
                if control is not None:
                    self.syncing = True
                    control.value = _date.fromisoformat(value) if spec.kind == "date" else value
            except Exception as exc:  # e.g. a query-backed dropdown without that option
                log.debug("parameter %s: the control keeps its value: %s", name, exc)
            finally:
                self.syncing = False
        if changed and self.handle is not None:
            self.handle.update(self)

    def text(self) -> str:
        return "\n".join(f"{n} = {v!r}" for n, v in self.values.items())

    def _repr_mimebundle_(self, **_: Any) -> dict[str, Any]:
        rows = "".join(
            f"<tr><th>{html.escape(self.specs[n].label or n)}</th>"
            f"<td><code>{html.escape(repr(v))}</code></td></tr>"
            for n, v in self.values.items()
        )
        bundle: dict[str, Any] = {
            "text/plain": self.text(),
            "text/html": f"<table class='workspace-parameters'>{rows}</table>",
        }
        if self.widgets:
            import ipywidgets as w

            self.box = self.box if self.box is not None else w.HBox()
            self.box.children = tuple(self.widgets)
            box = self.box
            bundle["application/vnd.jupyter.widget-view+json"] = {
                "version_major": 2, "version_minor": 0, "model_id": box.model_id,
            }  # fmt: skip
        return bundle


_BAR: ParameterBar | None = None


def reset() -> None:
    """Forget the declarations so far (the next declaration starts a new bar).

    Examples
    --------
    >>> reset()
    """
    global _BAR
    _BAR = None


def _sync_bar(*_: object) -> None:
    if _BAR is not None and _BAR.shell is not None:
        _BAR.sync()


def _declare(spec: ParamSpec) -> Any:
    """Add ``spec`` to the bar of the running cell (a new bar for a new cell execution)."""
    global _BAR
    shell = _shell()
    if _BAR is None or _BAR.execution != getattr(shell, "execution_count", None):
        _BAR = ParameterBar(shell)
        if shell is not None and not getattr(shell, "_workspace_params_hook", False):
            shell.events.register("post_run_cell", _sync_bar)
            shell._workspace_params_hook = True
    run = injected()  # in a run, the injected value (papermill assigns it after this cell)
    value = spec.check(run[spec.name]) if spec.name in run else spec.default
    _BAR.add(spec, value)
    return value
