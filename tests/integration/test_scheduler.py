"""The scheduler loop: ticks and catch-up, after-triggers, max_active_runs, pause/resume,
invalid specs, shared pools, SLA events; one end-to-end run on real python3 kernels."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.notebooks import make_notebook as write_nb

from workspace.jobs.execution.context import AttemptResult, AttemptSpec
from workspace.jobs.execution.executors import Executor
from workspace.jobs.models import Run, RunState
from workspace.jobs.scheduler.loop import Scheduler
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow

T0 = datetime(2026, 1, 5, 0, 30, tzinfo=UTC)


def add_pipeline(root: Path, name: str, yaml: str, params: str = "") -> Path:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    write_nb(folder / "nb.ipynb", params)
    (folder / "pipeline.yaml").write_text(yaml)
    return folder


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class _Handle:
    spec: AttemptSpec
    done_at: float


class FakeExecutor(Executor):
    """Attempts that 'run' for ``duration`` seconds and succeed; tracks concurrency."""

    name = "fake"

    def __init__(self, duration: float = 0.0) -> None:
        super().__init__()
        self.duration = duration
        self.active: set[int] = set()
        self.max_active = 0
        self.submitted = 0

    def _submit(self, spec: AttemptSpec) -> _Handle:
        handle = _Handle(spec, time.monotonic() + self.duration)
        self.active.add(id(handle))
        self.max_active = max(self.max_active, len(self.active))
        self.submitted += 1
        return handle

    def _poll(self, handle: _Handle) -> AttemptResult | None:
        if time.monotonic() < handle.done_at:
            return None
        self.active.discard(id(handle))
        now = datetime.now(UTC)
        return AttemptResult("succeeded", now, now, handle.spec.attempt_dir)


class Recording(Scheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, str]] = []

    def on_event(self, kind: Any, run: Run, detail: str) -> None:
        self.seen.append((kind, run.run_id))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(tmp_path / "home", user="scheduler")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "scheduled"
    path.mkdir()
    return path


@pytest.fixture
def make(settings: Settings, root: Path) -> Iterator[Any]:
    made: list[Scheduler] = []

    def factory(
        clock: Clock | None = None, executor: Executor | None = None, **kw: Any
    ) -> Recording:
        s = Recording(settings, root, clock=clock, executor=executor or FakeExecutor(), **kw)
        made.append(s)
        return s

    yield factory
    for s in made:
        s.shutdown()


def drain(s: Scheduler, *, ticks: int = 400, until: Any = None) -> None:
    for _ in range(ticks):
        s.tick_once()
        if until is not None and until():
            return
        if until is None and not s._drivers and not s.store.list_runs(states=["queued"]):
            return
        time.sleep(0.01)
    raise AssertionError("the scheduler did not settle")


def scheduled_times(store: RunStore, name: str) -> list[datetime]:
    return sorted(r.scheduled_for for r in store.list_runs(pipeline=name) if r.scheduled_for)


HOURLY = "defaults: {{kernel: python3}}\nschedule: {{cron: '0 * * * *', catchup: {c}, max_catchup: 3}}\ntasks: [{{name: a, notebook: nb.ipynb}}]\n"  # noqa: E501


@pytest.mark.parametrize(("catchup", "hours"), [("all", [3, 4, 5]), ("latest", [5])])
def test_due_ticks_and_catchup(make: Any, root: Path, catchup: str, hours: list[int]) -> None:
    add_pipeline(root, "hourly", HOURLY.format(c=catchup))
    clock = Clock(T0)
    s = make(clock)
    assert s.tick_once().created == []  # registered at T0: nothing due yet
    clock.advance(hours=5, minutes=10)  # down for 5 hours
    report = s.tick_once()
    assert len(report.created) == len(hours)
    drain(s)
    assert [t.hour for t in scheduled_times(s.store, "hourly")] == hours
    assert {r.state for r in s.store.list_runs()} == {RunState.SUCCEEDED}
    assert s.tick_once().created == []  # same time again: nothing new
    clock.advance(hours=1)
    assert len(s.tick_once().created) == 1
    drain(s)
    # a restarted scheduler continues from the store, never duplicating a tick
    s.shutdown()
    again = make(clock)
    assert again.tick_once().created == []
    assert [t.hour for t in again.next_times("hourly", 2)] == [7, 8]


def test_pause_and_resume(make: Any, root: Path) -> None:
    add_pipeline(root, "hourly", HOURLY.format(c="latest"))
    clock = Clock(T0)
    s = make(clock)
    s.tick_once()
    s.store.pause("hourly")
    for _ in range(3):
        clock.advance(hours=1)
        assert s.tick_once().created == []
    assert s.store.list_runs(pipeline="hourly") == []
    s.store.resume("hourly")
    # the store keeps enabled_at on resume: catchup 'latest' runs only the newest missed tick
    assert len(s.tick_once().created) == 1
    drain(s)
    assert [t.hour for t in scheduled_times(s.store, "hourly")] == [3]


@pytest.mark.parametrize("restart", [False, True])
def test_reenabling_never_backfills_ticks_missed_while_disabled(
    make: Any, root: Path, restart: bool
) -> None:
    spec = "schedule: {cron: '0 * * * *', catchup: all, max_catchup: 10}\n"
    spec += "tasks: [{name: a, notebook: nb.ipynb}]\n"
    folder = add_pipeline(root, "hourly", spec)
    clock = Clock(T0)
    s = make(clock)
    s.tick_once()  # enabled at 00:30
    clock.advance(hours=1)
    assert len(s.tick_once().created) == 1  # 01:00
    drain(s)
    (folder / "pipeline.yaml").write_text("enabled: false\n" + spec)
    s.tick_once()
    clock.advance(hours=3)  # 02:00, 03:00 and 04:00 pass while disabled
    assert s.tick_once().created == []
    if restart:
        s.shutdown()
    (folder / "pipeline.yaml").write_text("enabled: true\n" + spec)
    if restart:
        s = make(clock)
    assert s.tick_once().created == []  # nothing from before the re-enabling (04:30)
    clock.advance(hours=1)
    assert len(s.tick_once().created) == 1
    drain(s)
    assert [t.hour for t in scheduled_times(s.store, "hourly")] == [1, 5]


def test_after_triggers_once_per_upstream_success(make: Any, root: Path) -> None:
    add_pipeline(root, "up", "tasks: [{name: a, notebook: nb.ipynb}]\n")
    s = make(Clock(T0))
    s.tick_once()
    before = s.store.create_manual_run("up")
    drain(s)
    add_pipeline(root, "down", "after: [up]\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    s.clock.advance(minutes=1)
    s.tick_once()  # registers down (enabled now): the earlier up run does not trigger it
    assert s.store.list_runs(pipeline="down") == []
    first, second = s.store.create_manual_run("up"), s.store.create_manual_run("up")
    drain(s)
    for _ in range(5):
        s.tick_once()
    drain(s)
    down = s.store.list_runs(pipeline="down")
    assert sorted(r.triggered_by or "" for r in down) == sorted([first.run_id, second.run_id])
    assert before.run_id not in {r.triggered_by for r in down}
    assert {r.state for r in down} == {RunState.SUCCEEDED}


def test_after_cycles_never_run(make: Any, root: Path) -> None:
    add_pipeline(root, "ping", "after: [pong]\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    add_pipeline(root, "pong", "after: [ping]\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    add_pipeline(root, "selfish", "after: [selfish]\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    add_pipeline(root, "orphan", "after: [nowhere]\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    s = make(Clock(T0))
    s.tick_once()
    assert s.catalog.pipelines == {}
    assert {Path(k).name for k in s.catalog.errors} == {"ping", "pong", "selfish", "orphan"}
    assert "ping -> pong -> ping" in s.catalog.errors[str(root / "ping")]
    # a run started by hand (of a pipeline valid before) never triggers the cycle
    add_pipeline(root, "ping", "tasks: [{name: a, notebook: nb.ipynb}]\n")
    s.tick_once()
    s.store.create_manual_run("ping")
    for _ in range(20):
        s.tick_once()
        time.sleep(0.01)
    assert len(s.store.list_runs(pipeline="ping")) == 1
    assert s.store.list_runs(pipeline="selfish") == []


def test_max_active_runs(make: Any, root: Path) -> None:
    add_pipeline(root, "p", "max_active_runs: 2\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    s = make(executor=FakeExecutor(0.15))
    s.tick_once()
    for _ in range(5):
        s.store.create_manual_run("p")
    peak = 0

    def done() -> bool:
        nonlocal peak
        peak = max(peak, s.store.count_active_runs("p"))
        return all(r.state.finished for r in s.store.list_runs(pipeline="p"))

    drain(s, until=done)
    assert peak == 2
    assert {r.state for r in s.store.list_runs(pipeline="p")} == {RunState.SUCCEEDED}


def test_pool_shared_across_pipelines(make: Any, root: Path) -> None:
    (root / "pools.yaml").write_text("shared: 2\n")
    spec = (
        "concurrency: 4\ntasks: [{name: a, notebook: nb.ipynb, pool: shared, "
        "for_each: {values: [1, 2, 3, 4], as: n}}]\n"
    )
    add_pipeline(root, "one", spec, params="n = 0")
    add_pipeline(root, "two", spec, params="n = 0")
    executor = FakeExecutor(0.1)
    s = make(executor=executor)
    s.tick_once()
    s.store.create_manual_run("one")
    s.store.create_manual_run("two")
    usage: list[int] = []

    def done() -> bool:
        usage.append(s.store.pool_usage().get("shared", 0))
        return all(r.state.finished for r in s.store.list_runs())

    drain(s, until=done)
    assert executor.submitted == 8 and executor.max_active == 2 and max(usage) == 2
    assert {r.state for r in s.store.list_runs()} == {RunState.SUCCEEDED}


def test_invalid_pipeline_is_skipped_and_logged_once(
    make: Any, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    add_pipeline(root, "good", "tasks: [{name: a, notebook: nb.ipynb}]\n")
    bad = add_pipeline(root, "bad", "tasks: [{name: a, notebook: nb.ipynb, retries: -1}]\n")
    (root / "pools.yaml").write_text("shared: lots\n")
    caplog.set_level(logging.ERROR, logger="workspace.jobs.scheduler.load")
    s = make()
    for _ in range(3):
        s.tick_once()
    errors = [r.getMessage() for r in caplog.records]
    assert len(errors) == 2, errors
    assert any("bad/pipeline.yaml: tasks[0].retries.count" in m for m in errors)
    assert any("pools.yaml: shared" in m for m in errors)
    assert sorted(s.catalog.pipelines) == ["good"]
    s.store.create_manual_run("good")
    drain(s)
    (bad / "pipeline.yaml").write_text("tasks: [{name: a, notebook: nb.ipynb}]\n")
    s.tick_once()
    assert sorted(s.catalog.pipelines) == ["bad", "good"]
    assert [p.name for p in s.store.list_pipelines()] == ["bad", "good"]


def test_sla_and_finish_events_are_emitted_once(make: Any, root: Path, settings: Settings) -> None:
    add_pipeline(
        root,
        "late",
        "schedule: {cron: '0 * * * *', catchup: all, max_catchup: 2}\n"
        "max_active_runs: 2\nsla: {start_within: 10m, max_duration: 1s}\n"
        "tasks: [{name: a, notebook: nb.ipynb}]\n",
    )
    RunStore.open(settings, clock=lambda: T0).upsert_pipeline("late")  # enabled at T0
    clock = Clock(T0 + timedelta(hours=1, minutes=35))
    s = make(clock, executor=FakeExecutor(0.05))
    s.tick_once()
    clock.advance(seconds=5)  # every run has now taken longer than max_duration
    drain(s)
    kinds = sorted(k for k, _ in s.seen)
    # 01:00 started 65 min late, 02:00 only 5 min late; both ran "5 s" by the fake clock
    assert kinds == ["sla_duration", "sla_duration", "sla_start", "success", "success"]
    s.shutdown()
    again = make(clock, executor=FakeExecutor())
    drain(again)
    assert again.seen == []


def test_events_reach_the_alerts_module(
    make: Any, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workspace.jobs.alerts import config as alerts

    sent: list[tuple[str, bool]] = []
    monkeypatch.setattr(
        alerts,
        "notify",
        lambda event, **kw: sent.append((event.kind, kw["pipeline_alerts"].on_success)),
    )
    add_pipeline(root, "p", "alerts: {on_success: true}\ntasks: [{name: a, notebook: nb.ipynb}]\n")
    s = Scheduler(s_settings := make().settings, root, executor=FakeExecutor())
    s.tick_once()
    s.store.create_manual_run("p")
    drain(s)
    s.shutdown()
    assert sent == [("success", True)] and s_settings


def test_end_to_end_on_real_kernels(settings: Settings, root: Path) -> None:
    add_pipeline(
        root, "up", "defaults: {kernel: python3}\ntasks: [{name: a, notebook: nb.ipynb}]\n"
    )
    add_pipeline(
        root,
        "down",
        "after: [up]\ndefaults: {kernel: python3}\ntasks: [{name: a, notebook: nb.ipynb}]\n",
    )
    s = Scheduler(settings, root, executor_name="subprocess", poll_interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=s.run_forever, args=(stop,))
    thread.start()
    try:
        store = RunStore.open(settings)
        deadline = time.monotonic() + 5
        while not {p.name for p in store.list_pipelines()} >= {"up", "down"}:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        run = store.create_manual_run("up")
        deadline = time.monotonic() + 120
        while not [r for r in store.list_runs(pipeline="down") if r.state.finished]:
            assert time.monotonic() < deadline, store.list_runs()
            time.sleep(0.1)
        assert store.get_run(run.run_id).state == RunState.SUCCEEDED
        (down,) = store.list_runs(pipeline="down")
        assert down.state == RunState.SUCCEEDED and down.triggered_by == run.run_id
    finally:
        stop.set()
        thread.join(30)
