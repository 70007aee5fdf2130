"""Checks declared under a task in pipeline.yaml, end to end on the workspace kernel.

A task whose write breaks an ``error`` check fails naming the check, and the write is rolled
back (readers keep the previous rows); a task whose write breaks only a ``warn`` check
succeeds, and its ``checks.*`` outputs drive the ``run_if`` of the tasks after it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.notebooks import make_notebook

from workspace.jobs.execution.executors import SubprocessExecutor
from workspace.jobs.models import RunState
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake import connect
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow

PIPELINE = """
concurrency: 2
defaults: {retries: 0}
tasks:
  - {name: seed, notebook: write.ipynb, parameters: {table: silver.x, values: [1, 2, 3]}}
  - name: bad
    notebook: write.ipynb
    parameters: {table: silver.x, values: [4, null]}
    depends_on: [seed]
    checks:
      silver.x: [{check: not_null, column: a, severity: error}]
  - name: warned
    notebook: write.ipynb
    parameters: {table: silver.y, values: [5, 50]}
    depends_on: [seed]
    checks:
      silver.y:
        - {check: range, column: a, max: 10, severity: warn}
        - {check: row_count, min: 1}
  - name: publish
    notebook: write.ipynb
    parameters: {table: gold.y, values: [1]}
    depends_on: [warned]
    run_if: {output: warned.checks.passed, op: "==", value: true}
  - name: quarantine
    notebook: write.ipynb
    parameters: {table: silver.y_quarantine, values: [1]}
    depends_on: [warned]
    run_if: {output: warned.checks.silver.y.failed, op: "==", value: 1}
"""
WRITE = """
import pandas as pd
ws.write(table, pd.DataFrame({"a": pd.array(values, dtype="Int64")}), mode="overwrite")
"""


def test_declared_checks_block_a_write_or_gate_the_tasks_after_it(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", user="pipelines")
    folder = tmp_path / "scheduled" / "checked"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    make_notebook(folder / "write.ipynb", "table = ''\nvalues = []", WRITE, kernel="workspace")
    executor = SubprocessExecutor()
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

    states = {t.task_key: str(t.state) for t in detail.tasks}
    assert states == {
        "seed": "succeeded",
        "bad": "failed",
        "warned": "succeeded",
        "publish": "skipped",
        "quarantine": "succeeded",
    }, [(a.task_key, a.error) for a in detail.attempts]
    assert detail.run.state == RunState.FAILED
    [bad] = [a for a in detail.attempts if a.task_key == "bad"]
    assert "rolled back" in (bad.error or "") and "not_null(a)" in (bad.error or "")
    outputs = {t.task_key: t.outputs for t in detail.tasks}
    assert outputs["warned"] == {
        "checks.passed": False,
        "checks.failed": 1,
        "checks.silver.y.passed": False,
        "checks.silver.y.failed": 1,
    }
    assert outputs["seed"] == {}  # no checks declared: no check outputs
    reasons = {t.task_key: t.reason for t in detail.tasks}
    assert reasons["publish"] == (
        "run_if: warned.checks.passed == True is false (warned.checks.passed was False)"
    )
    with connect(settings.home, user="pipelines") as ws:
        kept = ws.con.execute("SELECT a FROM silver.x ORDER BY a").fetchall()
        warned = ws.con.execute("SELECT a FROM silver.y ORDER BY a").fetchall()
    assert kept == [(1,), (2,), (3,)]  # bad's write was rolled back
    assert warned == [(5,), (50,)]  # a warn check lets the write through
