"""What a real attempt used: a pipeline task on the workspace kernel burns some CPU, holds
some memory, reads a file and writes a lake table; its attempt records CPU seconds, peak RSS,
bytes read, wall time, rows and bytes written, its queue wait and (in a Dask worker) the
cluster's worker count."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.notebooks import make_notebook

from workspace.jobs.execution.executors import DaskExecutor, SubprocessExecutor
from workspace.jobs.models import RunState
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow

LOAD = """
import pandas as pd
blob = bytearray(64 * 2**20)  # 64 MiB held while the cell runs
with open(__import__("sys").executable, "rb") as f:  # reads a few MB
    read = len(f.read())
total = sum(i * i for i in range(3_000_000))
ws.write("silver.used", pd.DataFrame({"a": list(range(n))}), mode="overwrite")
"""


@pytest.mark.parametrize("where", ["subprocess", "dask"])
def test_a_real_attempt_records_its_resources(tmp_path: Path, where: str) -> None:
    cluster = None
    if where == "dask":  # the runner runs inside the worker process; the kernel is its child
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        client = Client(cluster)
    settings = Settings.resolve(tmp_path / "home", user="pipelines")
    folder = tmp_path / "scheduled" / "resources_demo"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(
        "tasks:\n  - {name: load, notebook: load.ipynb, parameters: {n: 5}}\n"
    )
    make_notebook(folder / "load.ipynb", "n = 1", LOAD, kernel="workspace")
    executor = SubprocessExecutor() if cluster is None else DaskExecutor(client=client)
    executor.start()
    try:
        with RunStore.open(settings) as store:
            pipeline = load_pipeline(folder)
            store.upsert_pipeline(pipeline.name)
            run = store.create_manual_run(pipeline.name)
            driver = RunDriver(pipeline, store, executor, settings=settings, run_id=run.run_id)
            detail = driver.run(timeout=240)
    finally:
        executor.shutdown()
        if cluster is not None:
            client.close()
            cluster.close()
    assert detail.run.state == RunState.SUCCEEDED, [a.error for a in detail.attempts]
    [attempt] = detail.attempts
    used = attempt.resources
    assert used.measured == "kernel" and used.samples >= 1
    assert used.cpu_seconds is not None and used.cpu_seconds > 0.2
    assert used.peak_rss_bytes is not None and used.peak_rss_bytes > 64 * 2**20
    assert used.wall_seconds is not None and used.wall_seconds >= used.cpu_seconds / 4
    assert used.rows_written == 5
    assert used.bytes_written is not None and used.bytes_written > 0  # the Parquet file
    assert used.queue_wait_seconds is not None and used.queue_wait_seconds >= 0
    # The kernel read at least the interpreter it opened (and its own modules).
    assert used.bytes_read is not None and used.bytes_read > 2**20
    if where == "dask":  # the one worker of the cluster the runner ran in
        assert (used.dask_workers_min, used.dask_workers_max) == (1, 1)
    else:
        assert used.dask_workers_min is None
    assert used.lateness_seconds is None  # a manual run has no schedule
