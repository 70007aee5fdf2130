"""Every public operation of the run store is exactly one transaction: all of it or nothing.

A SQLite trigger that RAISEs stands for a failure (a full disk, a killed process, a bug)
in the second half of an operation; afterwards the store must look as if it never started.
"""

from __future__ import annotations

import inspect
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import RunState, TaskState
from workspace.jobs.spec.pipeline import Audience
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.run_store import RunStore

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    s = RunStore.open(tmp_path / "runs.sqlite", clock=lambda: T0)
    s.upsert_pipeline("sales")
    yield s
    s.close()


def failed_run(store: RunStore) -> str:
    """A failed run: ``a`` succeeded, ``b`` failed, ``c`` (after b) upstream_failed."""
    run = store.create_manual_run("sales", tasks=["a", "b", "c"], requested_by="ada")
    assert store.start_run(run.run_id)
    for key, state in (("a", "succeeded"), ("b", "failed")):
        store.set_task_state(run.run_id, key, "queued")
        attempt = store.claim_task(run.run_id, key)
        assert attempt is not None
        store.finish_attempt(attempt.attempt_id, state, outputs={"n": 1}, error="boom")
    store.set_task_state(run.run_id, "c", "upstream_failed")
    store.finish_run(run.run_id, "failed")
    return run.run_id


def add_trigger(store: RunStore, sql: str) -> None:
    con = sqlite3.connect(store.path)
    con.execute(sql)
    con.commit()
    con.close()


FAIL_REQUESTER = (
    "CREATE TRIGGER fail BEFORE UPDATE OF requested_by ON runs "
    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
)
FAIL_REPAIR_EVENT = (
    "CREATE TRIGGER fail BEFORE INSERT ON run_events WHEN NEW.message LIKE 'repair requested%' "
    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
)


@pytest.mark.parametrize("trigger", [FAIL_REQUESTER, FAIL_REPAIR_EVENT])
def test_a_repair_that_fails_half_way_changes_nothing(store: RunStore, trigger: str) -> None:
    run_id = failed_run(store)
    before = store.get_run_detail(run_id)
    add_trigger(store, trigger)
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        store.repair(run_id, downstream={"b": ["c"]}, requested_by="bob")
    after = store.get_run_detail(run_id)
    assert after == before  # no task reset, the run still failed, generation 0, same history
    assert after.run.state == RunState.FAILED and after.run.requested_by == "ada"

    add_trigger(store, "DROP TRIGGER fail")
    assert store.repair(run_id, downstream={"b": ["c"]}, requested_by="bob") == ["b", "c"]
    repaired = store.get_run_detail(run_id)
    assert (repaired.run.state, repaired.run.requested_by) == (RunState.QUEUED, "bob")
    assert [t.state for t in repaired.tasks] == ["succeeded", "pending", "pending"]
    assert repaired.events[-1].message == "repair requested by bob"


def test_a_claim_that_fails_half_way_changes_nothing(store: RunStore) -> None:
    run = store.create_manual_run("sales", tasks=["a"])
    assert store.start_run(run.run_id)
    store.set_task_state(run.run_id, "a", "queued")
    before = store.get_run_detail(run.run_id)
    add_trigger(
        store,
        "CREATE TRIGGER fail BEFORE INSERT ON pool_slots "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    )
    with pytest.raises(sqlite3.DatabaseError, match="injected failure"):
        store.claim_task(run.run_id, "a", pool="db", pool_capacity=1)
    assert store.get_run_detail(run.run_id) == before  # task queued, no attempt
    assert store.pool_usage() == {}


def test_transactions_do_not_nest(tmp_path: Path) -> None:
    db = RunDatabase.open(tmp_path / "runs.sqlite")
    with db.transaction() as con:
        con.execute(
            "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES ('p', 'now', 'now')"
        )
        with pytest.raises(RuntimeError, match="already open"), db.transaction(write=False):
            pass  # pragma: no cover
    with db.transaction(write=False) as con:  # the outer one committed, unharmed
        assert con.execute("SELECT name FROM pipelines").fetchall()[0][0] == "p"
    db.close()


def test_every_public_method_opens_exactly_one_transaction(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[bool] = []
    real = store._db.transaction

    def counting(*, write: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        opened.append(write)
        return real(write=write)

    monkeypatch.setattr(store._db, "transaction", counting)
    called: dict[str, bool] = {}

    def call(name: str, *args: Any, **kwargs: Any) -> Any:
        del opened[:]
        result = getattr(store, name)(*args, **kwargs)
        assert len(opened) == 1, f"{name} opened {len(opened)} transactions"
        called[name] = opened[0]
        return result

    s, stale = "sales", timedelta(minutes=5)
    call("upsert_pipeline", s, spec_hash="h2", enabled=True)
    call("get_pipeline", s)
    call("list_pipelines")
    call("pause", s)
    call("resume", s)
    call("adopt", s, owner="ada", audience=Audience(groups=["g"]))
    call("register_promotion", "new", owner="bob", by="bob", pending=True)
    call("approve", "new", by="eve")
    call("set_owner", "new", "carol", by="eve")
    call("set_audience", "new", None, by="carol")
    call("governance", "new")
    call("list_governance")
    call("pipeline_events", "new", kind="owner")
    run, _ = call("create_scheduled_run", s, T0, tasks=["a", "b"])
    call("create_triggered_run", s, run.run_id, tasks=["x"])
    manual = call("create_manual_run", s, tasks=["m"])
    call("add_tasks", run.run_id, ["c"])
    call("set_run_report", run.run_id, "report.html")
    call("add_event", run.run_id, "hello")
    call("start_run", run.run_id, max_active_runs=2)
    call("set_task_state", run.run_id, "a", TaskState.QUEUED)
    call("set_task_state", run.run_id, "b", TaskState.QUEUED)
    a = call("claim_task", run.run_id, "a", pool="db", pool_capacity=2)
    b = call("claim_task", run.run_id, "b")
    call("try_acquire_slot", "gpu", 1, b.attempt_id)
    call("release_slot", b.attempt_id)
    call("heartbeat", a.attempt_id)
    call("pool_usage")
    call("running_task_count", s)
    call("running_attempts")
    call("find_orphaned_attempts", stale)
    call("fail_orphaned_attempts", stale)
    call("abandon_attempt", b.attempt_id, requeue=True, error="kernel did not start")
    b = store.claim_task(run.run_id, "b")
    assert b is not None
    call("requeue", b.attempt_id)
    write = TableWrite(table="silver.x", snapshot_id=1, rows=3, mode="append", at=T0)
    call("finish_attempt", a.attempt_id, "failed", error="boom", writes=[write])
    call("retry_counts", run.run_id, "a")
    call("table_writers", "silver.x")
    call("cancel_run", run.run_id, reason="test")
    call("finish_run", manual.run_id, "cancelled")
    call("repair", run.run_id, downstream={"a": ["b"]}, requested_by="ada")
    call("get_run", run.run_id)
    call("get_run_detail", run.run_id)
    call("list_runs", pipeline=s, states=["queued"])
    call("last_scheduled_time", s)
    call("count_active_runs", s, include_queued=True)

    public = {
        name
        for name, member in inspect.getmembers(RunStore)
        if not name.startswith("_") and callable(member)
    } - {"open", "close"}
    assert set(called) == public, "add the new public method to this test"
    reads = {n for n, write in called.items() if not write}
    assert reads == {
        "get_pipeline", "list_pipelines", "governance", "list_governance", "pipeline_events",
        "get_run", "get_run_detail", "list_runs", "last_scheduled_time", "count_active_runs",
        "running_task_count", "pool_usage", "running_attempts", "find_orphaned_attempts",
        "retry_counts", "table_writers",
    }  # fmt: skip
