"""Widget parameters (workspace.params): declaration errors, the static contract, the check
of injected values and the text fallback of the parameter bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.notebooks import make_notebook

from workspace import params
from workspace.jobs.errors import ParameterError
from workspace.jobs.execution.runner import validate_parameters
from workspace.params import ParamError, ParamSpec, declared_parameters

CELL = """\
from workspace import params
region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], default="ASIA", label="Region")
start = params.date("start", "2024-01-01")
min_orders = params.integer("min_orders", 5, min=0, max=100)
ratio = params.number("ratio", 0.5)
title = params.text("title", "Revenue")
full = params.checkbox("full")
segment = params.dropdown("segment", query="SELECT DISTINCT segment FROM gold.customer_segments")
n = 3
day = date(2024, 1, 1)  # datetime's date, not a declaration
"""


@pytest.fixture(autouse=True)
def _fresh_bar() -> Iterator[None]:
    params.reset()
    yield
    params.reset()


def test_declarations_return_defaults_and_refuse_bad_ones() -> None:
    assert params.dropdown("region", ["ASIA", "EUROPE"]) == "ASIA"  # the first choice
    assert params.date("start", "2024-01-31") == "2024-01-31"
    assert params.integer("k", 5, min=0, max=10) == 5
    assert params.checkbox("full", True) is True
    with pytest.raises(ParamError, match="'MARS' is not one of ASIA, EUROPE"):
        params.dropdown("other", ["ASIA", "EUROPE"], default="MARS")
    with pytest.raises(ParamError, match="declared twice"):
        params.text("region", "x")
    with pytest.raises(ParamError, match="min 10 is greater than max 1"):
        params.integer("bounds", 5, min=10, max=1)
    with pytest.raises(ParamError, match=r"outside 0 \.\. 10"):
        params.integer("big", 11, min=0, max=10)
    with pytest.raises(ParamError, match="is not a date"):
        params.date("when", "31/01/2024")
    with pytest.raises(ParamError, match="is not an integer"):
        params.integer("flag", True)


def test_query_backed_dropdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path / "home"))  # no ws: its own connection
    query = "SELECT * FROM (VALUES ('b'), ('a')) t(s) ORDER BY s"
    assert params.dropdown("seg", query=query) == "a"
    assert params._BAR is not None and params._BAR.specs["seg"].choices == ["a", "b"]
    with pytest.raises(ParamError, match="'z' is not one of a, b"):
        params.dropdown("other", default="z", query=query)


def test_failing_query_keeps_the_default_and_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path / "home"))
    value = params.dropdown("segment", default="BUILDING", query="SELECT * FROM no_such_table")
    assert value == "BUILDING"
    bar = params._BAR
    assert bar is not None and "no_such_table" in (bar.specs["segment"].error or "")
    assert bar.text() == "segment = 'BUILDING'"


def test_text_fallback_lists_the_values() -> None:
    params.dropdown("region", ["ASIA", "EUROPE"], label="Region <b>")
    params.integer("k", 3)
    bundle = params._BAR._repr_mimebundle_() if params._BAR else {}
    assert bundle["text/plain"] == "region = 'ASIA'\nk = 3"
    assert "Region &lt;b&gt;" in bundle["text/html"] and "<b>" not in bundle["text/html"]


def test_declared_parameters_are_read_statically(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "p.ipynb", CELL, "print(region)")
    found = {p.name: p for p in declared_parameters(nb)}
    assert list(found) == ["region", "start", "min_orders", "ratio", "title", "full", "segment"]
    assert found["region"] == ParamSpec(
        "region", "dropdown", ["ASIA", "EUROPE", "AMERICA"], "ASIA", label="Region"
    )
    assert (found["min_orders"].min, found["min_orders"].max) == (0, 100)
    assert found["full"].default is False and found["segment"].choices is None
    assert found["segment"].query == "SELECT DISTINCT segment FROM gold.customer_segments"


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ('a = params.text("a")\na = params.text("a")', "declared twice"),
        ('r = params.dropdown("r", ["A"], default="B")', "'B' is not one of A"),
        ('k = params.integer("k", 1, min=5, max=2)', "min 5 is greater than max 2"),
        ('k = params.integer("k", n)', "literal values only"),
        ('reg = params.dropdown("region", ["A"])', "assigned to 'reg'"),
    ],
)
def test_static_declaration_errors(tmp_path: Path, cell: str, message: str) -> None:
    nb = make_notebook(tmp_path / "bad.ipynb", cell)
    with pytest.raises(ParamError, match=message):
        declared_parameters(nb)


def test_injected_values_are_checked_before_the_run(tmp_path: Path) -> None:
    nb = make_notebook(tmp_path / "p.ipynb", CELL, "print(region)")
    validate_parameters(nb, {"region": "EUROPE", "start": "2024-02-01", "min_orders": 7, "n": 1})
    validate_parameters(nb, {"segment": "ANYTHING"})  # query-backed: checked in the kernel
    with pytest.raises(
        ParameterError, match="parameter region: 'MARS' is not one of ASIA, EUROPE, AMERICA"
    ):
        validate_parameters(nb, {"region": "MARS"})
    with pytest.raises(ParameterError, match=r"min_orders: 101 is outside 0 \.\. 100"):
        validate_parameters(nb, {"min_orders": 101})
    with pytest.raises(ParameterError, match="start: 'soon' is not a date"):
        validate_parameters(nb, {"start": "soon"})


def test_bar_controls_and_variables_follow_each_other() -> None:
    """In an (in-process) kernel: a control updates its variable, a cell's assignment the
    control and the text fallback."""
    from ipykernel.inprocess.manager import InProcessKernelManager

    km = InProcessKernelManager()
    km.start_kernel()
    shell = km.kernel.shell
    try:
        shell.run_cell(
            "from workspace import params\n"
            'region = params.dropdown("region", ["ASIA", "EUROPE"], default="ASIA")\n'
            'start = params.date("start", "2024-01-01")',
            store_history=True,
        )
        bar = params._BAR
        assert bar is not None and [type(w).__name__ for w in bar.widgets] == [
            "Dropdown",
            "DatePicker",
        ]
        bar.widgets[0].value = "EUROPE"
        assert shell.user_ns["region"] == "EUROPE" and "region = 'EUROPE'" in bar.text()
        shell.run_cell('start = "2024-03-01"\nregion = "MARS"', store_history=True)
        assert str(bar.widgets[1].value) == "2024-03-01"
        assert bar.values == {"region": "EUROPE", "start": "2024-03-01"}  # MARS is not shown
        bundle = bar._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        assert bundle["text/plain"] == "region = 'EUROPE'\nstart = '2024-03-01'"
    finally:
        km.shutdown_kernel()
        type(shell).clear_instance()  # later tests run without this shell


def test_run_on_change_asks_the_lab_after_the_variable_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A control declared ``run_on_change=True`` (or any control under
    ``params.run_on_change()``) sends the bar's re-run request once its variable is set;
    the others do not. (The Lab's side is in tests/browser/test_params_browser.py.)"""
    from ipykernel.inprocess.manager import InProcessKernelManager

    km = InProcessKernelManager()
    km.start_kernel()
    shell = km.kernel.shell
    sent: list[tuple[Any, Any]] = []
    try:
        shell.run_cell(
            "from workspace import params\n"
            'region = params.dropdown("region", ["ASIA", "EUROPE"], run_on_change=True)\n'
            'top = params.integer("top", 5, min=1, max=10)',
            store_history=True,
        )
        bar = params._BAR
        assert bar is not None and bar.box is not None
        # the transport only (an in-process kernel has no front end): record what the bar sends
        monkeypatch.setattr(bar.box.comm, "kernel", km.kernel, raising=False)
        monkeypatch.setattr(
            type(bar.box.comm),
            "publish_msg",
            lambda self, msg_type, data=None, **kw: sent.append((data, shell.user_ns["region"])),
        )
        bar.widgets[1].value = 7
        assert [d for d, _ in sent if d["method"] == "custom"] == []  # not declared so
        bar.widgets[0].value = "EUROPE"
        custom = [(d["content"], region) for d, region in sent if d["method"] == "custom"]
        assert custom == [({"event": params.RERUN_EVENT, "name": "region"}, "EUROPE")]
        params.run_on_change()
        try:
            bar.widgets[1].value = 8
        finally:
            params.run_on_change(False)
        assert sent[-1][0]["content"] == {"event": params.RERUN_EVENT, "name": "top"}
        asked = len([d for d, _ in sent if d["method"] == "custom"])
        shell.run_cell('region = "ASIA"', store_history=True)  # the bar follows a cell...
        assert bar.widgets[0].value == "ASIA"
        assert len([d for d, _ in sent if d["method"] == "custom"]) == asked  # ...not re-runs
        assert [s.name for s in declared_parameters("x", [_cell(RERUN_CELL)])] == ["day"]
    finally:
        km.shutdown_kernel()
        type(shell).clear_instance()


RERUN_CELL = 'day = params.date("day", "2024-01-01", run_on_change=True)'


def _cell(source: str) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {"tags": ["parameters"]}}
