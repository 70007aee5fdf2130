"""Executors run attempts out of process: subprocess and a small Dask LocalCluster."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from workspace.jobs.errors import ExecutorError
from workspace.jobs.execution.context import AttemptSpec, RunContext
from workspace.jobs.execution.executors import (
    DaskExecutor,
    Executor,
    SubprocessExecutor,
    executor_names,
    get_executor,
)
from workspace.jobs.paths import RUNNER_LOG


def make_spec(tmp_path: Path, source: str, name: str, **kw) -> AttemptSpec:
    nb = new_notebook(
        cells=[new_code_cell("n = 1", metadata={"tags": ["parameters"]}), new_code_cell(source)]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    ctx = RunContext("r1", "pipe", name, logical_date=datetime(2024, 1, 1, tzinfo=UTC))
    return AttemptSpec(path, kw.pop("parameters", {"n": 5}), ctx, tmp_path / name, "python3", **kw)


def wait(executor: Executor, handle, limit: float = 60):
    deadline = time.monotonic() + limit
    while (result := executor.poll(handle)) is None:
        assert time.monotonic() < deadline, "attempt did not finish"
        time.sleep(0.1)
    return result


OK = "from workspace.jobs import output\noutput('n', n)"


def test_registry_and_lifecycle():
    assert executor_names() == ["dask", "subprocess"]
    assert isinstance(
        get_executor("workspace.jobs.execution.executors:SubprocessExecutor"), SubprocessExecutor
    )
    with pytest.raises(ExecutorError, match=r"Unknown executor .nope.*dask, subprocess"):
        get_executor("nope")
    with pytest.raises(ExecutorError, match="Unknown executor"):
        get_executor("os.path")
    executor = get_executor("subprocess")
    with pytest.raises(ExecutorError, match="call start"):
        executor.poll(None)
    executor.start()
    executor.shutdown()
    with pytest.raises(ExecutorError, match="shut down"):
        executor.start()


def test_subprocess_executor(tmp_path):
    executor = SubprocessExecutor(grace=10)
    executor.start()
    try:
        ok = executor.submit(make_spec(tmp_path, OK, "ok"))
        bad = executor.submit(make_spec(tmp_path, OK, "bad", parameters={"nope": 1}))
        slow = executor.submit(make_spec(tmp_path, "import time\ntime.sleep(60)", "slow"))
        result = wait(executor, ok)
        assert result.status == "succeeded", result.error
        assert result.outputs == {"n": 5}
        assert result.report is not None and result.report.exists()
        failed = wait(executor, bad)
        assert failed.status == "failed" and "no parameter 'nope'" in failed.error
        time.sleep(1)
        if (early := executor.poll(slow)) is not None and early.infrastructure:
            # a kernel that could not start (a busy CI machine) is the scheduler's to retry
            slow = executor.submit(make_spec(tmp_path, "import time\ntime.sleep(60)", "slow2"))
            time.sleep(1)
        executor.cancel(slow)
        cancelled = wait(executor, slow)
        log = (slow.spec.attempt_dir / RUNNER_LOG).read_text(errors="replace")[-3000:]
        assert cancelled.status == "cancelled", f"{cancelled.error}\n{log}"
        assert cancelled.executed_notebook is not None and cancelled.executed_notebook.exists()
    finally:
        executor.shutdown()


def test_dask_executor(tmp_path):
    from workspace.scale.cluster import cluster, shutdown

    client = cluster(n_workers=1, memory_limit=None, quiet=True)
    try:
        executor = get_executor("dask", client=client)
        executor.start()
        handle = executor.submit(make_spec(tmp_path, OK, "ok"))
        result = wait(executor, handle, limit=90)
        assert result.status == "succeeded", result.error
        assert result.outputs == {"n": 5}
        log = (result.attempt_dir / "runner.log").read_text()  # the attempt's log_path
        assert "on Dask worker pid" in log
        slow = executor.submit(make_spec(tmp_path, "import time\ntime.sleep(60)", "slow"))
        time.sleep(2)
        executor.cancel(slow)
        assert wait(executor, slow).status == "cancelled"
        assert isinstance(executor, DaskExecutor)
        executor.shutdown()
    finally:
        shutdown()
