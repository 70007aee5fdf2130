"""Which pipeline tasks write a lake table: the write log, the run store, table_writers()."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from workspace.jobs.execution.context import AttemptResult, TableWrite
from workspace.jobs.execution.runner import read_writes
from workspace.jobs.lineage import TableWriter, table_writers
from workspace.jobs.models import NewTask
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.schema import SCHEMA_VERSION, store_path
from workspace.lake.settings import Settings
from workspace.lake.writes import WriteResult, commit_extra_info, log_write

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(home=tmp_path / "ws")


@pytest.fixture
def store(settings: Settings) -> Iterator[RunStore]:
    s = RunStore.open(settings)
    s.upsert_pipeline("sales")
    s.upsert_pipeline("stock")
    yield s
    s.close()


def write(table: str, snapshot: int, minutes: int = 0, rows: int = 10) -> TableWrite:
    return TableWrite(table, snapshot, rows, "append", T0 + timedelta(minutes=minutes))


def run_with_writes(
    store: RunStore,
    pipeline: str,
    task: str | NewTask,
    writes: list[TableWrite],
    state: str = "succeeded",
) -> str:
    run = store.create_manual_run(pipeline, tasks=[task])
    assert store.start_run(run.run_id)
    key = task if isinstance(task, str) else task.key
    store.set_task_state(run.run_id, key, "queued")
    attempt = store.claim_task(run.run_id, key, executor="fake")
    assert attempt is not None
    store.finish_attempt(attempt.attempt_id, state, writes=writes)
    return run.run_id


# -- lake side: the hook the runner uses ------------------------------------------------------


def test_log_write_appends_one_json_line_per_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "writes.jsonl"
    monkeypatch.setenv("WORKSPACE_WRITE_LOG", str(log))
    log_write(WriteResult("silver.x", 7, 3, "append"))
    log_write(WriteResult("gold.y", 8, 1, "overwrite", attempts=2))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(d["table"], d["snapshot_id"], d["rows"], d["mode"]) for d in lines] == [
        ("silver.x", 7, 3, "append"),
        ("gold.y", 8, 1, "overwrite"),
    ]
    assert datetime.fromisoformat(lines[0]["at"]).tzinfo is not None


def test_log_write_without_the_variable_does_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKSPACE_WRITE_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    log_write(WriteResult("silver.x", 7, 3, "append"))
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_log_is_a_warning_not_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("WORKSPACE_WRITE_LOG", str(tmp_path / "missing-dir" / "w.jsonl"))
    log_write(WriteResult("silver.x", 7, 3, "append"))
    assert "silver.x was committed (snapshot 7) but could not be recorded" in caplog.text


def test_commit_extra_info_names_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("WORKSPACE_RUN_ID", "WORKSPACE_PIPELINE", "WORKSPACE_TASK"):
        monkeypatch.delenv(var, raising=False)
    assert commit_extra_info() is None
    monkeypatch.setenv("WORKSPACE_RUN_ID", "r1")
    monkeypatch.setenv("WORKSPACE_PIPELINE", "sales")
    monkeypatch.setenv("WORKSPACE_TASK", "load")
    assert json.loads(commit_extra_info() or "") == {
        "run_id": "r1",
        "pipeline": "sales",
        "task": "load",
    }


# -- runner side: reading the log back, results through Dask ----------------------------------


def test_read_writes_skips_a_torn_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "writes.jsonl"
    assert read_writes(path) == []
    path.write_text(
        json.dumps(write("silver.x", 5).to_dict()) + "\n\n" + '{"table": "gold.y", "snap'
    )
    assert read_writes(path) == [write("silver.x", 5)]
    assert "skipped line 3" in caplog.text


def test_attempt_result_round_trips_its_writes(tmp_path: Path) -> None:
    result = AttemptResult(
        "succeeded", T0, T0, tmp_path, writes=[write("silver.x", 5), write("gold.y", 6, 1)]
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert AttemptResult.from_dict(data) == result
    old = {k: v for k, v in data.items() if k != "writes"}  # a result from before writes
    assert AttemptResult.from_dict(old).writes == []


# -- store side ---------------------------------------------------------------------------


def test_no_run_store_means_no_writers(settings: Settings) -> None:
    assert table_writers(settings, "silver.x") == []
    assert not store_path(settings).exists()  # reading does not create one


def test_writers_grouped_by_pipeline_and_task_newest_first(
    settings: Settings, store: RunStore
) -> None:
    first = run_with_writes(store, "sales", "load", [write("silver.x", 5, 0)])
    other = run_with_writes(store, "stock", "refresh", [write("silver.x", 6, 5)])
    last = run_with_writes(
        store, "sales", "load", [write("silver.x", 7, 10), write("gold.y", 8, 11)]
    )
    writers = table_writers(settings, "silver.x")
    assert writers == [
        TableWriter(
            pipeline="sales",
            task="load",
            last_run_id=last,
            last_written=T0 + timedelta(minutes=10),
            runs=2,
        ),
        TableWriter(
            pipeline="stock",
            task="refresh",
            last_run_id=other,
            last_written=T0 + timedelta(minutes=5),
            runs=1,
        ),
    ]
    assert first != last
    assert [(w.pipeline, w.task) for w in table_writers(settings, "gold.y")] == [("sales", "load")]
    assert table_writers(settings, "gold.never") == []


def test_fan_out_items_count_as_their_task_and_one_run_counts_once(
    settings: Settings, store: RunStore
) -> None:
    run = store.create_manual_run(
        "sales",
        tasks=[NewTask(key=f"part[{i}]", name="part", item_index=i) for i in range(2)],
    )
    assert store.start_run(run.run_id)
    for i in range(2):
        store.set_task_state(run.run_id, f"part[{i}]", "queued")
        attempt = store.claim_task(run.run_id, f"part[{i}]", executor="fake")
        assert attempt is not None
        store.finish_attempt(attempt.attempt_id, "succeeded", writes=[write("silver.x", 5 + i, i)])
    [writer] = table_writers(settings, "silver.x")
    assert (writer.task, writer.runs, writer.last_run_id) == ("part", 1, run.run_id)


def test_writes_of_a_failed_attempt_are_recorded(settings: Settings, store: RunStore) -> None:
    run_id = run_with_writes(store, "sales", "load", [write("silver.x", 5)], state="failed")
    assert [w.last_run_id for w in table_writers(settings, "silver.x")] == [run_id]


def test_store_keeps_the_attempt_and_snapshot_of_each_write(store: RunStore) -> None:
    run_id = run_with_writes(store, "sales", "load", [write("silver.x", 5, rows=42)])
    con = sqlite3.connect(store.path)
    row = con.execute(
        "SELECT run_id, pipeline, task_name, table_name, snapshot_id, rows, written_at "
        "FROM table_writes"
    ).fetchone()
    con.close()
    assert row == (run_id, "sales", "load", "silver.x", 5, 42, "2025-03-01T06:00:00.000000+00:00")


def test_a_version_1_store_is_migrated_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    schema = resources.files("workspace.jobs.store").joinpath("schema.sql").read_text("utf-8")
    con = sqlite3.connect(path)
    con.executescript(schema)
    con.execute("PRAGMA user_version = 1")
    con.execute(
        "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES ('sales', ?, ?)",
        (T0.isoformat(), T0.isoformat()),
    )
    con.commit()
    con.close()
    with RunStore.open(path) as store:
        assert [p.name for p in store.list_pipelines()] == ["sales"]
        run_with_writes(store, "sales", "load", [write("silver.x", 5)])
        assert [w.task for w in store.table_writers("silver.x")] == ["load"]
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    indexes = {r[1] for r in con.execute("PRAGMA index_list(table_writes)")}
    con.close()
    assert "table_writes_by_table" in indexes
