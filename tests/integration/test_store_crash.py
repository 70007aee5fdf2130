"""The run store survives SIGKILL: no partial writes, exactly one run per scheduled time,
orphaned attempts are found by their stale heartbeat and resumed."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workspace.jobs.models import AttemptState, RunState, TaskState
from workspace.jobs.store.run_store import RunStore

T0 = datetime(2025, 1, 1, tzinfo=UTC)

MID_TRANSACTION = textwrap.dedent(
    """
    import sqlite3, sys, time
    con = sqlite3.connect(sys.argv[1], isolation_level=None)
    con.execute("PRAGMA foreign_keys = ON")
    con.execute("BEGIN IMMEDIATE")
    con.execute(
        "INSERT INTO runs (run_id, pipeline, scheduled_for, trigger, created_at) "
        "VALUES ('half', 'sales', '2025-01-01T00:00:00.000000+00:00', 'schedule', 'now')"
    )
    con.execute("INSERT INTO tasks (run_id, task_key, name, updated_at) "
                "VALUES ('half', 'a', 'a', 'now')")
    print("inserted", flush=True)
    time.sleep(60)
    """
)

SCHEDULER = textwrap.dedent(
    """
    import os, sys
    from datetime import datetime, timedelta, UTC
    from workspace.jobs.store.run_store import RunStore
    store = RunStore.open(sys.argv[1])
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(int(sys.argv[2])):
        run, created = store.create_scheduled_run(
            "sales", t0 + timedelta(hours=i), tasks=["a", "b", "c"]
        )
        if run.state == "queued":
            store.start_run(run.run_id)
        for key in ("a", "b", "c"):
            task = [t for t in store.get_run_detail(run.run_id).tasks if t.task_key == key][0]
            if task.state == "pending":
                store.set_task_state(run.run_id, key, "queued")
            if task.state in ("pending", "queued"):
                attempt = store.claim_task(run.run_id, key, pool="db", pool_capacity=1,
                                           pid=os.getpid())
                store.heartbeat(attempt.attempt_id)
                store.finish_attempt(attempt.attempt_id, "succeeded", outputs={"i": i})
        if store.get_run(run.run_id).state == "running":
            store.finish_run(run.run_id, "succeeded")
    print("done", flush=True)
    """
)

WORKER = textwrap.dedent(
    """
    import sys, time
    from workspace.jobs.store.run_store import RunStore
    store = RunStore.open(sys.argv[1])
    attempt = store.claim_task(sys.argv[2], "a", pool="db", pool_capacity=1)
    print(attempt.attempt_id, flush=True)
    while store.heartbeat(attempt.attempt_id):
        time.sleep(0.05)
    """
)


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", *args], stdout=subprocess.PIPE, text=True)


def _integrity(path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.open(tmp_path / "jobs" / "runs.sqlite", busy_timeout=20)
    s.upsert_pipeline("sales")
    return s


def test_sigkill_inside_a_write_transaction_leaves_nothing(store: RunStore) -> None:
    proc = _spawn(MID_TRANSACTION, str(store.path))
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inserted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    store.close()

    reopened = RunStore.open(store.path, busy_timeout=5)
    _integrity(store.path)
    assert reopened.list_runs() == []
    run, created = reopened.create_scheduled_run("sales", T0, tasks=["a"])  # lock was released
    assert created and run.run_id != "half"
    reopened.close()


def test_killed_scheduler_restarts_with_exactly_one_run_per_time(store: RunStore) -> None:
    hours = 200
    rng = random.Random(7)
    progress = []
    for _ in range(6):
        proc = _spawn(SCHEDULER, str(store.path), str(hours))
        time.sleep(rng.uniform(0.4, 0.9))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        _integrity(store.path)
        runs = store.list_runs(limit=1000)
        progress.append(len(runs))
        for run in runs:  # a run always comes with all its tasks
            assert len(store.get_run_detail(run.run_id).tasks) == 3
        # attempts of the killed process are orphans: settle them, so the restart resumes
        for attempt in store.find_orphaned_attempts(timedelta(0)):
            store.requeue(attempt.attempt_id)

    assert any(0 < n < hours for n in progress), progress  # killed in the middle

    final = _spawn(SCHEDULER, str(store.path), str(hours))
    out, _ = final.communicate(timeout=120)
    assert final.returncode == 0 and out.strip() == "done"
    runs = store.list_runs(pipeline="sales", limit=1000)
    assert sorted(r.scheduled_for or T0 for r in runs) == [
        T0 + timedelta(hours=i) for i in range(hours)
    ]
    assert {r.state for r in runs} == {RunState.SUCCEEDED}
    assert store.pool_usage() == {}
    store.close()


def test_orphaned_attempt_is_detected_and_resumed(store: RunStore) -> None:
    run = store.create_manual_run("sales", tasks=["a"])
    store.start_run(run.run_id)
    store.set_task_state(run.run_id, "a", "queued")
    worker = _spawn(WORKER, str(store.path), run.run_id)
    assert worker.stdout is not None
    attempt_id = int(worker.stdout.readline())
    time.sleep(0.3)
    assert store.find_orphaned_attempts(timedelta(seconds=2)) == []  # heartbeats are fresh
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    time.sleep(0.5)

    orphans = store.find_orphaned_attempts(timedelta(seconds=0.3))
    assert [a.attempt_id for a in orphans] == [attempt_id]
    lost = store.requeue(attempt_id, stale_after=timedelta(seconds=0.3))
    assert lost is not None and lost.state == AttemptState.LOST
    resumed = store.claim_task(run.run_id, "a", pool="db", pool_capacity=1)  # slot was freed
    assert resumed is not None and resumed.number == 2
    store.finish_attempt(resumed.attempt_id, "succeeded")
    store.finish_run(run.run_id, "succeeded")
    detail = store.get_run_detail(run.run_id)
    assert [a.state for a in detail.attempts] == [AttemptState.LOST, AttemptState.SUCCEEDED]
    assert detail.tasks[0].state == TaskState.SUCCEEDED
    store.close()
