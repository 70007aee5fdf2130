"""The scheduler's alerts against real local receivers (127.0.0.1 only): a webhook that hangs
never holds up the loop, and a sink added to ``alerts.yaml`` while it runs is used."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.notebooks import make_notebook
from support.webhook import webhook_receiver

from workspace.jobs.execution.context import AttemptResult, AttemptSpec
from workspace.jobs.execution.executors import Executor
from workspace.jobs.models import RunState
from workspace.jobs.scheduler.loop import Scheduler
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow


@dataclass
class _Handle:
    spec: AttemptSpec
    done_at: float


class TimedExecutor(Executor):
    """Attempts of pipeline ``fail`` fail at once; others succeed after ``duration`` s."""

    name = "timed"

    def __init__(self, duration: float) -> None:
        super().__init__()
        self.duration = duration

    def _submit(self, spec: AttemptSpec) -> _Handle:
        wait = 0.0 if spec.context.pipeline == "fail" else self.duration
        return _Handle(spec, time.monotonic() + wait)

    def _poll(self, handle: _Handle) -> AttemptResult | None:
        if time.monotonic() < handle.done_at:
            return None
        now = datetime.now(UTC)
        status = "failed" if handle.spec.context.pipeline == "fail" else "succeeded"
        return AttemptResult(status, now, now, handle.spec.attempt_dir, error="boom")


@pytest.fixture
def hanging() -> Iterator[tuple[str, list[socket.socket]]]:
    """An HTTP 'server' on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/hook", accepted
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Any]]]:
    with webhook_receiver() as received:
        yield received


def _pipeline(root: Path, name: str, extra: str = "") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    make_notebook(folder / "nb.ipynb")
    (folder / "pipeline.yaml").write_text(f"{extra}tasks: [{{name: a, notebook: nb.ipynb}}]\n")


def _wait(s: Scheduler, until: Any, seconds: float, durations: list[float]) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, s.store.list_runs()
        durations.append(s.tick_once().seconds)
        time.sleep(0.02)


def test_a_hanging_webhook_never_blocks_the_loop(
    tmp_path: Path, hanging: tuple[str, list[socket.socket]]
) -> None:
    url, accepted = hanging
    settings = Settings.resolve(tmp_path / "home", user="scheduler")
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "alerts.yaml").write_text(
        f"hang: {{type: webhook, url: '{url}', timeout: 10, tries: 3, backoff: 0}}\n"
    )
    root = tmp_path / "scheduled"
    _pipeline(root, "fail", "alerts: {on_failure: true, sinks: [hang]}\n")
    _pipeline(root, "slow")
    s = Scheduler(settings, root, executor=TimedExecutor(3.0), alert_deadline=2.0)
    try:
        s.tick_once()
        failing = s.store.create_manual_run("fail")
        durations: list[float] = []
        _wait(s, lambda: s.store.get_run(failing.run_id).state.finished, 10, durations)
        assert s.store.get_run(failing.run_id).state == RunState.FAILED
        # the alert is now stuck in the webhook; the loop keeps scheduling and heartbeating
        started = time.monotonic()
        slow = s.store.create_manual_run("slow")
        _wait(s, lambda: s.store.get_run(slow.run_id).state == RunState.RUNNING, 5, durations)
        (attempt,) = s.store.get_run_detail(slow.run_id).attempts
        first_beat = attempt.heartbeat_at
        _wait(s, lambda: time.monotonic() - started > 1.0, 5, durations)
        (attempt,) = s.store.get_run_detail(slow.run_id).attempts
        assert attempt.heartbeat_at > first_beat
        assert accepted, "the webhook was never contacted"
        _wait(s, lambda: s.store.get_run(slow.run_id).state.finished, 10, durations)
        assert s.store.get_run(slow.run_id).state == RunState.SUCCEEDED
        assert max(durations) < 1.0, max(durations)
        # the alert was abandoned at its deadline (2 s), not after 3 tries x 10 s
        _wait(s, lambda: s._alerts.abandoned == 1, 5, durations)
    finally:
        t0 = time.monotonic()
        s.shutdown()
        assert time.monotonic() - t0 < 8


def test_a_sink_added_while_the_scheduler_runs_is_used(
    tmp_path: Path, receiver: tuple[str, list[Any]]
) -> None:
    url, bodies = receiver
    settings = Settings.resolve(tmp_path / "home", user="scheduler")
    root = tmp_path / "scheduled"
    _pipeline(root, "fail", "alerts: {on_failure: true, sinks: [team]}\n")
    s = Scheduler(settings, root, executor=TimedExecutor(0.0))
    try:
        s.tick_once()
        first = s.store.create_manual_run("fail")  # no alerts.yaml yet: not configured
        durations: list[float] = []
        _wait(s, lambda: s.store.get_run(first.run_id).state.finished, 10, durations)
        settle = time.monotonic() + 0.5  # its alert found no sink
        _wait(s, lambda: time.monotonic() > settle, 5, durations)
        assert bodies == [] and s.store.get_run(first.run_id).state == RunState.FAILED
        (settings.home / "alerts.yaml").write_text(f"team: {{type: webhook, url: '{url}'}}\n")
        second = s.store.create_manual_run("fail")
        _wait(s, lambda: len(bodies) == 1, 10, durations)
        assert second.run_id in bodies[0]["text"]
        # an edit of the file (another URL) is picked up as well
        (settings.home / "alerts.yaml").write_text(
            f"team: {{type: webhook, url: '{url}/v2', tries: 1}}\n"
        )
        third = s.store.create_manual_run("fail")
        _wait(s, lambda: len(bodies) == 2, 10, durations)
        assert third.run_id in bodies[1]["text"]
    finally:
        s.shutdown()
