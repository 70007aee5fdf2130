"""Attempt resources in the run store: queue wait and lateness at the claim, the runner's
measurements and rows written at the end, and the schema 5 -> 6 migration keeping old rows."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.schema import _MIGRATIONS, SCHEMA_VERSION, _statements

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def test_claim_and_finish_record_resources(tmp_path: Path) -> None:
    clock = Clock()
    store = RunStore.open(tmp_path / "runs.sqlite", clock=clock)
    store.upsert_pipeline("p")
    run, _ = store.create_scheduled_run("p", T0, tasks=["load"])
    clock.now = T0 + timedelta(seconds=30)  # the scheduler starts the run 30 s late
    assert store.start_run(run.run_id)
    store.set_task_state(run.run_id, "load", "queued")
    clock.now += timedelta(seconds=12)  # queued for 12 s
    attempt = store.claim_task(run.run_id, "load")
    assert attempt is not None
    assert attempt.resources.queue_wait_seconds == 12.0
    assert attempt.resources.lateness_seconds == 30.0
    write = TableWrite("silver.x", 3, 40, "append", T0)
    done = store.finish_attempt(
        attempt.attempt_id, "succeeded", writes=[write, write],
        resources={"cpu_seconds": 1.5, "peak_rss_bytes": 2**20, "wall_seconds": 4.0},
    )  # fmt: skip
    r = done.resources
    assert (r.cpu_seconds, r.peak_rss_bytes, r.wall_seconds) == (1.5, 2**20, 4.0)
    assert (r.rows_written, r.queue_wait_seconds, r.lateness_seconds) == (80, 12.0, 30.0)
    assert store.get_run_detail(run.run_id).attempts[0].resources == r
    store.close()


def test_migration_from_schema_5_keeps_attempts(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    for step in _MIGRATIONS[:5]:
        for statement in _statements(step()):
            con.execute(statement)
    con.execute("PRAGMA user_version = 5")
    now = T0.isoformat()
    con.execute(
        "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES ('p', ?, ?)", (now, now)
    )
    con.execute(
        "INSERT INTO runs (run_id, pipeline, trigger, state, created_at) "
        "VALUES ('r1', 'p', 'manual', 'succeeded', ?)",
        (now,),
    )
    con.execute(
        "INSERT INTO tasks (run_id, task_key, name, state, updated_at) "
        "VALUES ('r1', 'a', 'a', 'succeeded', ?)",
        (now,),
    )
    con.execute(
        "INSERT INTO attempts (run_id, task_key, number, repair_generation, state, "
        "started_at, heartbeat_at, finished_at) VALUES ('r1', 'a', 1, 0, 'succeeded', ?, ?, ?)",
        (now, now, now),
    )
    con.commit()
    con.close()
    store = RunStore.open(path)
    [attempt] = store.get_run_detail("r1").attempts
    assert attempt.state == "succeeded" and attempt.started_at == T0
    assert attempt.resources.cpu_seconds is None and attempt.resources.samples == 0
    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    store.close()
