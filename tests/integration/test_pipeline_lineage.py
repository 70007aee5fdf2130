"""Which pipelines write a table, end to end: a real pipeline run on the workspace kernel
writes a lake table, the run store records the writer, and the DuckLake snapshot names the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.notebooks import make_notebook

from workspace.governance.audit import AuditQuery, trail
from workspace.jobs.execution.executors import SubprocessExecutor
from workspace.jobs.lineage import table_writers
from workspace.jobs.models import RunState
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake import connect
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow

PIPELINE = """
tasks:
  - {name: load, notebook: load.ipynb, parameters: {n: 3}}
  - {name: check, notebook: check.ipynb, depends_on: [load]}
"""
LOAD = """
import pandas as pd
ws.write("silver.x", pd.DataFrame({"a": list(range(n))}), mode="overwrite")
ws.write("silver.x", pd.DataFrame({"a": [99]}))
"""


def test_a_pipeline_run_records_who_writes_the_table(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", user="pipelines")
    folder = tmp_path / "scheduled" / "lineage_demo"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(PIPELINE)
    make_notebook(folder / "load.ipynb", "n = 1", LOAD, kernel="workspace")
    make_notebook(folder / "check.ipynb", "", "ws.table('silver.x').count().execute()", "workspace")
    executor = SubprocessExecutor()
    executor.start()
    try:
        with RunStore.open(settings) as store:
            pipeline = load_pipeline(folder)
            store.upsert_pipeline(pipeline.name)
            runs = []
            for _ in range(2):
                run = store.create_manual_run(pipeline.name)
                driver = RunDriver(pipeline, store, executor, settings=settings, run_id=run.run_id)
                detail = driver.run(timeout=240)
                assert detail.run.state == RunState.SUCCEEDED, [
                    (a.task_key, a.error) for a in detail.attempts
                ]
                runs.append(run.run_id)
    finally:
        executor.shutdown()

    [writer] = table_writers(settings, "silver.x")  # "check" only reads
    assert (writer.pipeline, writer.task) == ("lineage_demo", "load")
    assert (writer.last_run_id, writer.runs) == (runs[-1], 2)

    load = next(a for a in detail.attempts if a.task_key == "load")
    attempt_dir = Path(load.notebook_path or "").parent
    lines = [json.loads(x) for x in (attempt_dir / "writes.jsonl").read_text().splitlines()]
    assert [(w["table"], w["rows"], w["mode"]) for w in lines] == [
        ("silver.x", 3, "overwrite"),
        ("silver.x", 1, "append"),
    ]
    with connect(settings.home, user="pipelines") as ws:
        history = {s.snapshot_id: s for s in ws.history("silver.x")}
        info = dict(
            ws.con.execute(
                "SELECT snapshot_id, commit_extra_info FROM lake.snapshots() "
                "WHERE commit_extra_info IS NOT NULL"
            ).fetchall()
        )
    for line in lines:  # the logged snapshot is the one that made the write visible
        assert line["snapshot_id"] in history
        assert json.loads(info[line["snapshot_id"]]) == {
            "run_id": runs[-1],
            "pipeline": "lineage_demo",
            "task": "load",
        }
    # a pipeline commits as its own sandbox identity
    assert history[lines[0]["snapshot_id"]].author == "pipeline_lineage_demo"
    # and each commit to the shared layer is in the audit trail with its run
    commits = trail(settings).query(AuditQuery(action="commit", target="table:silver.x"))
    assert [(c.actor, c.details["run_id"], c.details["rows"]) for c in commits[:2]] == [
        ("pipeline:lineage_demo", runs[-1], 1),
        ("pipeline:lineage_demo", runs[-1], 3),
    ]
    assert len(commits) == 4 and trail(settings).verify().ok
