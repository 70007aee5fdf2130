"""The run store: transitions and guards, filters, repair, pools, orphans, exactly-once."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workspace.jobs.models import (
    AttemptState,
    InvalidTransitionError,
    NewTask,
    PipelineNotFoundError,
    PipelinePausedError,
    RunNotFoundError,
    RunState,
    RunStoreVersionError,
    TaskNotFoundError,
    TaskState,
    Trigger,
)
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.schema import SCHEMA_VERSION, store_path
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[RunStore]:
    s = RunStore.open(tmp_path / "runs.sqlite", clock=clock)
    s.upsert_pipeline("sales", spec_hash="h1")
    s.upsert_pipeline("stock", spec_hash="h2")
    yield s
    s.close()


def running_run(store: RunStore, tasks: list[str | NewTask], pipeline: str = "sales") -> str:
    run = store.create_manual_run(pipeline, tasks=tasks)
    assert store.start_run(run.run_id)
    return run.run_id


def run_task(store: RunStore, run_id: str, key: str, state: str = "succeeded", **kw: object):
    store.set_task_state(run_id, key, "queued")
    attempt = store.claim_task(run_id, key, executor="fake", worker="w1", pid=1)
    assert attempt is not None
    return store.finish_attempt(attempt.attempt_id, state, **kw)  # type: ignore[arg-type]


# -- open, schema ---------------------------------------------------------------------------


def test_open_from_settings_uses_home_jobs(tmp_path: Path) -> None:
    settings = Settings.resolve(home=tmp_path / "ws")
    with RunStore.open(settings) as s:
        assert s.path == tmp_path / "ws" / "jobs" / "runs.sqlite" == store_path(settings)
        assert s.path.exists()


def test_schema_pragmas_and_version(store: RunStore) -> None:
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    RunStore.open(store.path).close()  # reopening does not migrate twice


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    RunStore.open(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(RunStoreVersionError, match="Upgrade"):
        RunStore.open(path)


def test_naive_datetimes_are_rejected(store: RunStore) -> None:
    with pytest.raises(ValueError, match="time zone"):
        store.create_scheduled_run("sales", datetime(2025, 1, 1))


# -- pipelines ------------------------------------------------------------------------------


def test_pipeline_upsert_keeps_enabled_at(store: RunStore, clock: Clock) -> None:
    first = store.get_pipeline("sales")
    clock.tick(hours=1)
    again = store.upsert_pipeline("sales", spec_hash="h9")
    assert again.enabled_at == first.enabled_at == T0
    assert again.spec_hash == "h9" and again.updated_at == T0 + timedelta(hours=1)
    assert [p.name for p in store.list_pipelines()] == ["sales", "stock"]
    with pytest.raises(PipelineNotFoundError, match="nope"):
        store.get_pipeline("nope")


def test_pause_blocks_scheduled_runs_but_not_manual(store: RunStore) -> None:
    assert store.pause("sales").paused
    with pytest.raises(PipelinePausedError):
        store.create_scheduled_run("sales", T0)
    assert store.create_manual_run("sales").trigger == Trigger.MANUAL
    resumed = store.resume("sales")
    assert not resumed.paused and resumed.paused_at is None
    assert store.create_scheduled_run("sales", T0)[1]


def test_unknown_pipeline(store: RunStore) -> None:
    with pytest.raises(PipelineNotFoundError):
        store.create_scheduled_run("nope", T0)
    assert isinstance(PipelineNotFoundError("x"), WorkspaceError)


# -- runs -----------------------------------------------------------------------------------


def test_scheduled_run_is_idempotent_and_created_with_tasks(store: RunStore) -> None:
    run, created = store.create_scheduled_run(
        "sales", T0, tasks=["load", NewTask(key="report[0]", name="report", item_index=0,
                                             item_value={"region": "EU"})],
        parameters={"day": "2025-03-01"},
    )  # fmt: skip
    again, created_again = store.create_scheduled_run("sales", T0 + timedelta(0), tasks=["x"])
    assert created and not created_again and again == run
    assert run.state == RunState.QUEUED and run.scheduled_for == T0
    detail = store.get_run_detail(run.run_id)
    assert [t.task_key for t in detail.tasks] == ["load", "report[0]"]
    assert detail.tasks[1].item_value == {"region": "EU"} and detail.tasks[1].item_index == 0
    assert detail.run.parameters == {"day": "2025-03-01"}
    # another pipeline may have a run at the same time
    assert store.create_scheduled_run("stock", T0)[1]
    assert store.last_scheduled_time("sales") == T0
    assert store.last_scheduled_time("nope") is None


def test_triggered_run_at_most_once(store: RunStore) -> None:
    upstream = store.create_manual_run("sales")
    run, created = store.create_triggered_run("stock", upstream.run_id)
    assert created and run.triggered_by == upstream.run_id and run.trigger == Trigger.AFTER
    assert store.create_triggered_run("stock", upstream.run_id) == (run, False)
    with pytest.raises(RunNotFoundError):
        store.create_triggered_run("stock", "missing")


def test_list_runs_filters(store: RunStore, clock: Clock) -> None:
    ids = [store.create_scheduled_run("sales", T0 + timedelta(days=d))[0].run_id for d in range(5)]
    store.create_scheduled_run("stock", T0)
    clock.tick(days=10)
    manual = store.create_manual_run("sales")  # dated by its creation time
    store.start_run(ids[1])
    store.finish_run(ids[0], "cancelled")

    listed = store.list_runs(pipeline="sales")
    assert [r.run_id for r in listed] == [manual.run_id, *reversed(ids)]
    assert [r.run_id for r in store.list_runs(states=["running"])] == [ids[1]]
    got = store.list_runs(pipeline="sales", states=[RunState.QUEUED, "cancelled"], limit=10)
    assert {r.run_id for r in got} == {manual.run_id, ids[0], ids[2], ids[3], ids[4]}
    window = store.list_runs(
        pipeline="sales", since=T0 + timedelta(days=1), until=T0 + timedelta(days=3)
    )
    assert [r.run_id for r in window] == [ids[2], ids[1]]
    assert len(store.list_runs(limit=2)) == 2
    assert [r.run_id for r in store.list_runs(pipeline="sales", limit=2, offset=1)] == [
        ids[4],
        ids[3],
    ]
    assert len(store.list_runs(pipeline="stock")) == 1
    with pytest.raises(ValueError):
        store.list_runs(states=["bogus"])


def test_max_active_runs(store: RunStore) -> None:
    a, b, c = (store.create_scheduled_run("sales", T0 + timedelta(hours=h))[0] for h in range(3))
    assert store.start_run(a.run_id, max_active_runs=2)
    assert store.start_run(b.run_id, max_active_runs=2)
    assert not store.start_run(c.run_id, max_active_runs=2)
    assert store.get_run(c.run_id).state == RunState.QUEUED
    assert store.count_active_runs("sales") == 2
    assert store.count_active_runs("sales", include_queued=True) == 3
    store.finish_run(a.run_id, "failed")
    assert store.start_run(c.run_id, max_active_runs=2)
    with pytest.raises(InvalidTransitionError, match="'running' to 'running'"):
        store.start_run(c.run_id)


def test_run_transitions_and_guards(store: RunStore) -> None:
    run_id = running_run(store, ["load", "report"])
    with pytest.raises(InvalidTransitionError, match="Its tasks are"):
        store.finish_run(run_id, "succeeded")
    store.set_task_state(run_id, "load", "queued")
    attempt = store.claim_task(run_id, "load")
    assert attempt is not None
    with pytest.raises(InvalidTransitionError, match="still running"):
        store.finish_run(run_id, "failed")
    store.finish_attempt(attempt.attempt_id, "succeeded")
    store.set_task_state(run_id, "report", "skipped", reason="condition false")
    done = store.finish_run(run_id, "succeeded")
    assert done.state == RunState.SUCCEEDED and done.finished_at == T0
    with pytest.raises(InvalidTransitionError):
        store.finish_run(run_id, "failed")
    with pytest.raises(RunNotFoundError):
        store.get_run("missing")


def test_failed_run_cancels_leftover_tasks(store: RunStore) -> None:
    run_id = running_run(store, ["a", "b"])
    run_task(store, run_id, "a", "failed", error="boom")
    store.finish_run(run_id, "failed", reason="task a failed")
    tasks = {t.task_key: t for t in store.get_run_detail(run_id).tasks}
    assert tasks["b"].state == TaskState.CANCELLED and tasks["b"].reason == "run failed"


def test_cancel_run_returns_running_attempts(store: RunStore) -> None:
    run_id = running_run(store, ["a", "b", "c"])
    store.set_task_state(run_id, "a", "queued")
    attempt = store.claim_task(run_id, "a")
    assert attempt is not None
    to_stop = store.cancel_run(run_id, reason="by ada")
    assert [a.attempt_id for a in to_stop] == [attempt.attempt_id]
    store.finish_attempt(attempt.attempt_id, "cancelled")
    detail = store.get_run_detail(run_id)
    assert detail.run.state == RunState.CANCELLED
    assert {t.state for t in detail.tasks} == {TaskState.CANCELLED}
    with pytest.raises(InvalidTransitionError):
        store.cancel_run(run_id)


# -- tasks and attempts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        (["queued"], True),
        (["skipped"], True),
        (["upstream_failed"], True),
        (["cancelled"], True),
        (["queued", "pending"], True),
        (["queued", "cancelled"], True),
        (["succeeded"], False),
        (["failed"], False),
        (["running"], False),
        (["skipped", "queued"], False),
        (["upstream_failed", "pending"], False),
    ],
)
def test_set_task_state_guard(store: RunStore, path: list[str], ok: bool) -> None:
    run_id = running_run(store, ["t"])
    *head, last = path
    for state in head:
        store.set_task_state(run_id, "t", state)
    if ok:
        assert store.set_task_state(run_id, "t", last).state == last
    else:
        with pytest.raises(InvalidTransitionError, match="task 't'"):
            store.set_task_state(run_id, "t", last)


def test_unknown_task_and_attempt(store: RunStore) -> None:
    run_id = running_run(store, ["t"])
    with pytest.raises(TaskNotFoundError, match="no task 'x'"):
        store.set_task_state(run_id, "x", "queued")
    with pytest.raises(RunNotFoundError):
        store.set_task_state("missing", "x", "queued")
    with pytest.raises(WorkspaceError, match="Attempt 999"):
        store.heartbeat(999)


def test_claim_requires_queued_task_and_running_run(store: RunStore) -> None:
    queued = store.create_manual_run("sales", tasks=["t"])
    store.set_task_state(queued.run_id, "t", "queued")
    with pytest.raises(InvalidTransitionError, match="start_run"):
        store.claim_task(queued.run_id, "t")
    run_id = running_run(store, ["t"])
    with pytest.raises(InvalidTransitionError, match="'pending' to 'running'"):
        store.claim_task(run_id, "t")


def test_attempt_lifecycle_records_everything(store: RunStore, clock: Clock) -> None:
    run_id = running_run(store, ["load"])
    store.set_task_state(run_id, "load", "queued")
    first = store.claim_task(run_id, "load", executor="local", worker="host", pid=42,
                             log_path="logs/1.txt")  # fmt: skip
    assert first is not None and first.number == 1 and first.repair_generation == 0
    assert store.get_run_detail(run_id).tasks[0].state == TaskState.RUNNING
    clock.tick(seconds=30)
    assert store.heartbeat(first.attempt_id)
    failed = store.finish_attempt(
        first.attempt_id, "failed", error="ZeroDivisionError", failing_cell=3,
        notebook_path="out/1.ipynb", retry=True,
    )  # fmt: skip
    assert failed.state == AttemptState.FAILED and failed.heartbeat_at == T0 + timedelta(30 / 86400)
    assert failed.failing_cell == 3 and failed.notebook_path == "out/1.ipynb"
    task = store.get_run_detail(run_id).tasks[0]
    assert task.state == TaskState.QUEUED and task.reason == "ZeroDivisionError"  # retry
    assert not store.heartbeat(first.attempt_id)  # finished: the worker must stop
    with pytest.raises(InvalidTransitionError, match="attempt"):
        store.finish_attempt(first.attempt_id, "succeeded")

    second = store.claim_task(run_id, "load")
    assert second is not None and second.number == 2
    with pytest.raises(InvalidTransitionError):
        store.finish_attempt(second.attempt_id, "lost")
    store.finish_attempt(second.attempt_id, "succeeded", outputs={"rows": 10},
                         report_path="out/2.html")  # fmt: skip
    detail = store.get_run_detail(run_id)
    assert detail.tasks[0].state == TaskState.SUCCEEDED and detail.tasks[0].outputs == {"rows": 10}
    assert detail.tasks[0].attempts == 2 and len(detail.attempts) == 2
    assert detail.attempts[1].report_path == "out/2.html"
    store.set_run_report(run_id, "reports/run.html")
    assert store.get_run_detail(run_id).report_path == "reports/run.html"
    assert json.loads(store.get_run_detail(run_id).model_dump_json())["run"]["run_id"] == run_id


@pytest.mark.parametrize("state", ["failed", "timed_out", "cancelled"])
def test_finish_attempt_without_retry_sets_task_state(store: RunStore, state: str) -> None:
    run_id = running_run(store, ["t"])
    run_task(store, run_id, "t", state, error="x")
    assert store.get_run_detail(run_id).tasks[0].state == state


def test_running_task_count_and_concurrency_limit(store: RunStore) -> None:
    run_id = running_run(store, ["a", "b", "c"])
    other = running_run(store, ["z"], pipeline="stock")
    for key in ("a", "b", "c"):
        store.set_task_state(run_id, key, "queued")
    store.set_task_state(other, "z", "queued")
    assert store.claim_task(run_id, "a", max_running_tasks=2) is not None
    assert store.claim_task(run_id, "b", max_running_tasks=2) is not None
    assert store.claim_task(run_id, "c", max_running_tasks=2) is None
    assert store.get_run_detail(run_id).tasks[2].state == TaskState.QUEUED  # unchanged
    assert store.claim_task(other, "z", max_running_tasks=2) is not None  # per pipeline
    assert store.running_task_count("sales") == 2
    assert store.running_task_count() == 3


# -- pools ----------------------------------------------------------------------------------


def test_pools_are_shared_across_pipelines(store: RunStore, clock: Clock) -> None:
    sales = running_run(store, ["a", "b"])
    stock = running_run(store, ["c"], pipeline="stock")
    for run_id, key in [(sales, "a"), (sales, "b"), (stock, "c")]:
        store.set_task_state(run_id, key, "queued")
    a = store.claim_task(sales, "a", pool="db", pool_capacity=2)
    c = store.claim_task(stock, "c", pool="db", pool_capacity=2)
    assert a is not None and c is not None and c.pool == "db"
    assert store.claim_task(sales, "b", pool="db", pool_capacity=2) is None
    assert store.get_run_detail(sales).tasks[1].attempts == 0  # a declined claim leaves no trace
    assert store.pool_usage() == {"db": 2}
    store.finish_attempt(c.attempt_id, "succeeded")
    b = store.claim_task(sales, "b", pool="db", pool_capacity=2)
    assert b is not None and store.pool_usage() == {"db": 2}

    # stale holders count as free when the caller says so
    clock.tick(minutes=10)
    store.heartbeat(b.attempt_id)
    run_id = running_run(store, ["d"])
    store.set_task_state(run_id, "d", "queued")
    assert store.claim_task(run_id, "d", pool="db", pool_capacity=2) is None
    d = store.claim_task(run_id, "d", pool="db", pool_capacity=2, stale_after=timedelta(minutes=5))
    assert d is not None


def test_try_acquire_and_release_slot(store: RunStore) -> None:
    run_id = running_run(store, ["a", "b"])
    store.set_task_state(run_id, "a", "queued")
    store.set_task_state(run_id, "b", "queued")
    a, b = store.claim_task(run_id, "a"), store.claim_task(run_id, "b")
    assert a is not None and b is not None
    assert store.try_acquire_slot("gpu", 1, a.attempt_id)
    assert store.try_acquire_slot("gpu", 1, a.attempt_id)  # idempotent
    assert not store.try_acquire_slot("gpu", 1, b.attempt_id)
    assert not store.try_acquire_slot("other", 5, a.attempt_id)  # one slot per attempt
    store.release_slot(a.attempt_id)
    assert store.try_acquire_slot("gpu", 1, b.attempt_id)
    store.finish_attempt(b.attempt_id, "succeeded")
    assert store.pool_usage() == {}
    with pytest.raises(InvalidTransitionError):
        store.try_acquire_slot("gpu", 1, b.attempt_id)
    with pytest.raises(ValueError, match="slot count"):
        store.try_acquire_slot("gpu", -1, a.attempt_id)


# -- orphans --------------------------------------------------------------------------------


def test_orphaned_attempts_by_stale_heartbeat(store: RunStore, clock: Clock) -> None:
    run_id = running_run(store, ["alive", "dead", "requeued"])
    attempts = {}
    for key in ("alive", "dead", "requeued"):
        store.set_task_state(run_id, key, "queued")
        claimed = store.claim_task(run_id, key, pool="db", pool_capacity=5)
        assert claimed is not None
        attempts[key] = claimed
    clock.tick(minutes=3)
    store.heartbeat(attempts["alive"].attempt_id)
    clock.tick(minutes=3)
    stale = timedelta(minutes=5)
    found = store.find_orphaned_attempts(stale)
    assert {a.task_key for a in found} == {"dead", "requeued"}

    assert store.requeue(attempts["alive"].attempt_id, stale_after=stale) is None  # fresh
    lost = store.requeue(attempts["requeued"].attempt_id, stale_after=stale)
    assert lost is not None and lost.state == AttemptState.LOST
    failed = store.fail_orphaned_attempts(stale)
    assert [a.task_key for a in failed] == ["dead"] and str(failed[0].error).startswith("heartbeat")
    tasks = {t.task_key: t for t in store.get_run_detail(run_id).tasks}
    assert tasks["dead"].state == TaskState.FAILED
    assert tasks["requeued"].state == TaskState.QUEUED
    assert tasks["alive"].state == TaskState.RUNNING
    assert store.pool_usage() == {"db": 1}
    assert store.find_orphaned_attempts(stale) == []
    with pytest.raises(InvalidTransitionError):  # a late result from the dead worker
        store.finish_attempt(attempts["dead"].attempt_id, "succeeded")
    resumed = store.claim_task(run_id, "requeued")
    assert resumed is not None and resumed.number == 2


# -- repair ---------------------------------------------------------------------------------

DOWNSTREAM = {"extract": {"load"}, "load": {"report"}, "side": set(), "report": {"notify"}}


def test_repair_resets_failed_and_dependents_only(store: RunStore) -> None:
    tasks: list[str | NewTask] = ["extract", "side", "load"]
    tasks += [NewTask(key=f"report[{i}]", name="report", item_index=i) for i in range(2)]
    tasks += ["notify"]
    run_id = running_run(store, tasks)
    run_task(store, run_id, "extract", outputs={"n": 1})
    run_task(store, run_id, "side", outputs={"s": 2})
    run_task(store, run_id, "load", "failed", error="boom")
    for key in ("report[0]", "report[1]", "notify"):
        store.set_task_state(run_id, key, "upstream_failed")
    store.finish_run(run_id, "failed")
    before = store.get_run_detail(run_id)

    reset = store.repair(run_id, downstream=DOWNSTREAM)
    assert reset == ["load", "report[0]", "report[1]", "notify"]
    detail = store.get_run_detail(run_id)
    assert detail.run.run_id == run_id and detail.run.state == RunState.QUEUED
    assert detail.run.repair_generation == 1 and detail.run.finished_at is None
    tasks_now = {t.task_key: t for t in detail.tasks}
    assert tasks_now["extract"].state == TaskState.SUCCEEDED and tasks_now["extract"].outputs
    assert tasks_now["side"].state == TaskState.SUCCEEDED
    assert {tasks_now[k].state for k in reset} == {TaskState.PENDING}
    assert detail.attempts == before.attempts  # history kept
    assert any("repair 1" in e.message for e in detail.events)

    # the rerun gets a new attempt in generation 1
    assert store.start_run(run_id)
    attempt = run_task(store, run_id, "load")
    assert attempt.number == 2 and attempt.repair_generation == 1
    assert len(store.get_run_detail(run_id).attempts) == 4


def test_repair_resets_succeeded_dependents_and_keys(store: RunStore) -> None:
    run_id = running_run(store, ["a", "b", "c"])
    run_task(store, run_id, "a", "timed_out")
    run_task(store, run_id, "b")  # succeeded but depends on a
    run_task(store, run_id, "c")
    store.finish_run(run_id, "timed_out")
    assert store.repair(run_id, downstream={"a": ["b"]}) == ["a", "b"]
    assert store.get_run_detail(run_id).tasks[1].outputs == {}


def test_repair_guards(store: RunStore) -> None:
    run_id = running_run(store, ["a"])
    with pytest.raises(InvalidTransitionError, match="Wait for it"):
        store.repair(run_id)
    run_task(store, run_id, "a")
    store.finish_run(run_id, "succeeded")
    assert store.repair(run_id) == []
    assert store.get_run(run_id).state == RunState.SUCCEEDED
    with pytest.raises(RunNotFoundError):
        store.repair("missing")


def test_add_tasks_for_fan_out(store: RunStore) -> None:
    run_id = running_run(store, ["split"])
    store.add_tasks(run_id, [NewTask(key="item[0]", name="item", item_value=1)])
    tasks = store.add_tasks(run_id, [NewTask(key="item[0]", name="item", item_value=5)])
    assert [(t.task_key, t.item_value) for t in tasks] == [("split", None), ("item[0]", 5)]
    store.finish_run(run_id, "failed")
    with pytest.raises(InvalidTransitionError, match="Repair"):
        store.add_tasks(run_id, ["x"])


# -- several processes ----------------------------------------------------------------------

RACE = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime
    from workspace.jobs.store.run_store import RunStore
    store = RunStore.open(sys.argv[1])
    go = float(sys.argv[2])
    while time.time() < go:
        time.sleep(0.001)
    created = 0
    for i in range(20):
        when = datetime.fromisoformat(f"2025-01-01T{i:02d}:00:00+00:00")
        run, new = store.create_scheduled_run("sales", when, tasks=["a", "b"])
        created += new
    print(created)
    """
)


def test_exactly_one_run_when_processes_race(store: RunStore) -> None:
    import time

    go = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(store.path), go], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(int(o) for o in outs) == 20  # each time created by exactly one process
    runs = store.list_runs(pipeline="sales", limit=1000)
    assert len(runs) == 20 == len({r.scheduled_for for r in runs})
    assert all(len(store.get_run_detail(r.run_id).tasks) == 2 for r in runs)


def test_repair_keeps_when_the_run_first_started(store: RunStore, clock: Clock) -> None:
    run_id = running_run(store, ["a"])
    started = store.get_run(run_id).started_at
    run_task(store, run_id, "a", "failed", error="boom")
    store.finish_run(run_id, "failed")
    clock.tick(minutes=30)
    store.repair(run_id)
    assert store.start_run(run_id)
    assert store.get_run(run_id).started_at == started
