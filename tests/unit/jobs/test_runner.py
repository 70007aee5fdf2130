"""run_notebook on real kernels: every failure mode ends in a terminal state, never success."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from workspace.jobs.errors import InvalidNotebookError, JobError, ParameterError
from workspace.jobs.execution.runner import RunContext, run_notebook

CTX = RunContext(
    "run-1", "sales", "daily", attempt=2, logical_date=datetime(2024, 5, 1, tzinfo=UTC)
)
PARAMS = "n = 1\nname = 'a'\nratio = 0.5\nflag = False\nitems = [1]\nopts = {}\nanything = None"


def make_nb(tmp_path: Path, *cells: str, params: str | None = PARAMS, name: str = "nb") -> Path:
    first = [new_code_cell(params, metadata={"tags": ["parameters"]})] if params else []
    nb = new_notebook(cells=[*first, *(new_code_cell(c) for c in cells)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def run(path: Path, tmp_path: Path, **kw):
    kw.setdefault("parameters", {})
    kw.setdefault("kernel_name", "python3")
    kw.setdefault("report", False)
    return run_notebook(path, context=CTX, attempt_dir=tmp_path / "attempt", **kw)


def test_success_outputs_context_and_immutable_notebook(tmp_path):
    nb = make_nb(
        tmp_path,
        "import os\nfrom workspace.jobs import output\n"
        "output('double', n * 2)\noutput('env', os.environ['WORKSPACE_RUN_ID'])\n"
        "output('date', workspace_logical_date)\noutput('where', os.environ['WORKSPACE_ENV'])",
    )
    result = run(nb, tmp_path, parameters={"n": 21, "ratio": 2})
    assert result.status == "succeeded", result.error
    assert result.outputs == {
        "double": 42,
        "env": "run-1",
        "date": "2024-05-01T00:00:00+00:00",
        "where": CTX.environment,
    }
    executed = result.executed_notebook
    assert executed == tmp_path / "attempt" / "executed.ipynb"
    assert not os.stat(executed).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    tags = [c.metadata.get("tags", []) for c in nbformat.read(executed, as_version=4).cells]
    assert ["injected-parameters"] in tags
    assert result.started <= result.finished
    with pytest.raises(JobError, match="already used"):
        run(nb, tmp_path)


@pytest.mark.parametrize(
    ("source", "ename", "message"),
    [
        ("x = 1\n1 / 0", "ZeroDivisionError", "division by zero"),
        ("raise SystemExit(0)", "SystemExit", "SystemExit"),
        ("import sys\nsys.exit()", "SystemExit", "SystemExit"),
        ("raise KeyboardInterrupt", "KeyboardInterrupt", "KeyboardInterrupt"),
    ],
)
def test_errors_in_cells_fail_with_the_cell(tmp_path, source, ename, message):
    nb = make_nb(tmp_path, "a = 1", source, "never = True")
    result = run(nb, tmp_path)
    assert result.status == "failed"
    assert result.ename == ename
    assert message in result.error
    assert result.cell_index == 3  # 1-based in the source notebook, injected cell not counted
    assert result.cell_source == source


def test_kernel_death_fails(tmp_path):
    result = run(
        make_nb(tmp_path, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"), tmp_path
    )
    assert result.status == "failed"
    assert "kernel died" in result.error and "SIGKILL" in result.error
    assert "memory" in result.error
    assert result.cell_index == 2
    assert result.executed_notebook.exists()


def test_memory_error_under_a_limit_fails(tmp_path):
    source = (
        "import resource\nresource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))\n"
        "big = bytearray(4 * 1024**3)"
    )
    result = run(make_nb(tmp_path, source), tmp_path)
    assert result.status == "failed"
    assert result.ename == "MemoryError"


def test_cell_timeout(tmp_path):
    started = time.monotonic()
    result = run(make_nb(tmp_path, "import time\ntime.sleep(60)"), tmp_path, cell_timeout=1)
    assert result.status == "timed_out"
    assert "cell timeout of 1s" in result.error
    assert result.cell_index == 2
    assert time.monotonic() - started < 20


def test_notebook_timeout(tmp_path):
    nb = make_nb(tmp_path, "import time", "time.sleep(1)", "time.sleep(60)")
    result = run(nb, tmp_path, timeout=4)
    assert result.status == "timed_out"
    assert "timeout of 4s" in result.error
    assert result.cell_index == 4


def test_cancel_event_and_cancel_file(tmp_path):
    nb = make_nb(tmp_path, "import time\ntime.sleep(60)")
    event = threading.Event()
    threading.Timer(2, event.set).start()
    result = run(nb, tmp_path, cancel_event=event)
    assert result.status == "cancelled"
    assert result.error == "The attempt was cancelled."

    attempt = tmp_path / "by-file"
    threading.Timer(2, lambda: (attempt / "CANCEL").touch()).start()
    result = run_notebook(
        nb, parameters={}, context=CTX, attempt_dir=attempt, kernel_name="python3"
    )
    assert result.status == "cancelled"
    assert result.report is not None and "cancelled" in result.report.read_text()


def test_huge_output_is_capped_with_a_marker(tmp_path):
    nb = make_nb(tmp_path, "print('x' * 50_000_000)", "print('small')")
    result = run(nb, tmp_path, max_output_bytes=1024 * 1024)
    assert result.status == "succeeded"
    assert result.executed_notebook.stat().st_size < 1_200_000
    cells = nbformat.read(result.executed_notebook, as_version=4).cells
    big, small = cells[-2].outputs, cells[-1].outputs
    assert big[-1].text.strip() == "[output truncated by workspace: 50.0 MB > 1.0 MB]"
    assert len(big[0].text) == 1024 * 1024
    assert small[0].text == "small\n"


def test_invalid_notebooks(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    with pytest.raises(InvalidNotebookError, match="not a valid Jupyter notebook"):
        run(bad, tmp_path)
    bad.write_text(json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5}))
    with pytest.raises(InvalidNotebookError, match=r"bad\.ipynb"):
        run(bad, tmp_path)
    with pytest.raises(InvalidNotebookError, match="does not exist"):
        run(tmp_path / "missing.ipynb", tmp_path)


def test_parameter_errors(tmp_path):
    nb = make_nb(tmp_path, "pass")
    with pytest.raises(ParameterError, match=r"no parameter 'colour'.*defines: anything, flag"):
        run(nb, tmp_path, parameters={"colour": 1})
    with pytest.raises(ParameterError) as info:
        run(nb, tmp_path, parameters={"n": "3", "flag": 1, "items": {}, "ratio": True})
    text = str(info.value)
    assert "'n' should be int but got str '3'" in text
    assert "'flag' should be bool" in text and "'items' should be list" in text
    assert "'ratio' should be float but got bool" in text
    run(nb, tmp_path, parameters={"anything": object.__name__, "ratio": 1, "items": [2]})
    with pytest.raises(ParameterError, match="no cell tagged 'parameters'"):
        run(make_nb(tmp_path, "pass", params=None, name="noparams"), tmp_path)
    assert not (tmp_path / "attempt" / "report.html").exists()


def test_workspace_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("WORKSPACE_CATALOG", raising=False)
    monkeypatch.delenv("WORKSPACE_DATA_PATH", raising=False)
    nb = make_nb(
        tmp_path,
        "from workspace.jobs import output\noutput('home', str(ws.settings.home))",
    )
    result = run(nb, tmp_path, kernel_name="workspace", report=True)
    assert result.status == "succeeded", result.error
    assert result.outputs["home"] == str(tmp_path / "home")
    assert result.report is not None and "sales / daily" in result.report.read_text()
