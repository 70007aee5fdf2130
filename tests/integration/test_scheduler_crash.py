"""Crash safety: a scheduler process SIGKILLed at named points, then restarted.

The pipeline is daily with ``catchup: all`` and was enabled days ago, so three ticks are due
at once. Each test kills the scheduler at one point (``WORKSPACE_SCHEDULER_CRASH_AT``),
restarts it without the variable and checks: exactly one run per scheduled time, no run
lost, every run terminal, and orphaned attempts detected by their stale heartbeat and
retried (or failed when the task has no retries left).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.notebooks import make_notebook

from workspace.jobs.models import AttemptState, RunState
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow

STALE = 2.0
SCRIPT = """
import logging, sys
from datetime import timedelta
from pathlib import Path
from workspace.jobs.scheduler.loop import Scheduler
from workspace.lake.settings import Settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
settings = Settings.resolve(sys.argv[1], user="scheduler")
Scheduler(settings, Path(sys.argv[2]), executor_name="subprocess", poll_interval=0.05,
          stale_after=timedelta(seconds=float(sys.argv[3]))).run_forever()
"""


def _setup(tmp_path: Path, retries: int) -> tuple[Settings, Path, list[datetime]]:
    root = tmp_path / "scheduled"
    folder = root / "daily"
    folder.mkdir(parents=True)
    make_notebook(folder / "nb.ipynb", "", "import time\ntime.sleep(0.5)")
    (folder / "pipeline.yaml").write_text(
        "schedule: {cron: '0 0 * * *', catchup: all, max_catchup: 3}\n"
        "max_active_runs: 3\nconcurrency: 1\n"
        f"defaults: {{kernel: python3, retries: {{count: {retries}, backoff: 0.1s}}}}\n"
        "tasks: [{name: work, notebook: nb.ipynb}]\n"
    )
    settings = Settings.resolve(tmp_path / "home", user="scheduler")
    enabled = datetime.now(UTC) - timedelta(days=5)
    with RunStore.open(settings, clock=lambda: enabled) as store:
        store.upsert_pipeline("daily")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return settings, root, [today - timedelta(days=d) for d in (2, 1, 0)]


def _start(
    tmp_path: Path, settings: Settings, root: Path, crash: str | None, stale: float = STALE
) -> subprocess.Popen[bytes]:
    script = tmp_path / "run_scheduler.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    if crash:
        env["WORKSPACE_SCHEDULER_CRASH_AT"] = crash
    log = open(tmp_path / f"scheduler-{crash or 'restart'}.log", "wb")  # noqa: SIM115
    with log:
        return subprocess.Popen(
            [sys.executable, str(script), str(settings.home), str(root), str(stale)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )


@pytest.mark.parametrize(
    ("crash_at", "retries", "orphaned", "final"),
    [
        ("after_create_run", 0, False, RunState.SUCCEEDED),
        ("after_claim", 1, True, RunState.SUCCEEDED),
        ("mid_attempt", 1, True, RunState.SUCCEEDED),
        # the kernel died with the scheduler: not the task's fault, no retry is used
        ("mid_attempt", 0, True, RunState.SUCCEEDED),
        # the other runs' attempts may be orphaned too: retries let them finish
        ("before_finish_run", 1, None, RunState.SUCCEEDED),
    ],
)
def test_restart_after_sigkill(
    tmp_path: Path, crash_at: str, retries: int, orphaned: bool | None, final: RunState
) -> None:
    settings, root, ticks = _setup(tmp_path, retries)
    proc = _start(tmp_path, settings, root, crash_at)
    assert proc.wait(90) == -signal.SIGKILL, (tmp_path / f"scheduler-{crash_at}.log").read_text()
    store = RunStore.open(settings)
    before = store.list_runs(pipeline="daily")
    assert 1 <= len(before) <= 3
    if crash_at == "after_create_run":
        assert len(before) == 1  # killed right after the first run was committed

    restarted = _start(tmp_path, settings, root, None)
    try:
        deadline = time.monotonic() + 120
        while True:
            runs = store.list_runs(pipeline="daily")
            if len(runs) >= 3 and all(r.state.finished for r in runs):
                break
            if time.monotonic() > deadline:
                log = (tmp_path / "scheduler-restart.log").read_text()
                pytest.fail(
                    f"runs did not finish: {[(r.scheduled_for, r.state) for r in runs]}\n{log}"
                )
            time.sleep(0.2)
    finally:
        restarted.send_signal(signal.SIGINT)
        try:
            restarted.wait(30)
        except subprocess.TimeoutExpired:
            restarted.kill()
            restarted.wait()

    runs = store.list_runs(pipeline="daily")
    assert sorted(r.scheduled_for for r in runs if r.scheduled_for) == ticks  # none lost, no dup
    assert {r.run_id for r in before} <= {r.run_id for r in runs}
    details = [store.get_run_detail(r.run_id) for r in runs]
    lost = [a for d in details for a in d.attempts if a.state == AttemptState.LOST]
    assert all(a.state != AttemptState.RUNNING for d in details for a in d.attempts)
    if orphaned:
        assert len(lost) == 1, [(a.task_key, a.state, a.error) for d in details for a in d.attempts]
        crashed = next(d for d in details if d.run.run_id == lost[0].run_id)
        if final == RunState.SUCCEEDED:  # retried: the next attempt resumed the task
            assert [a.state for a in crashed.attempts] == [
                AttemptState.LOST,
                AttemptState.SUCCEEDED,
            ]
        said = [e.message for e in crashed.events if "lost" in e.message]
        assert len(said) == 1 and "without using one of its retries" in said[0], said
        assert crashed.run.state == final
        others = [d for d in details if d is not crashed]
        assert all(d.run.state == RunState.SUCCEEDED for d in others)
    else:
        assert orphaned is None or lost == []
        assert {d.run.state for d in details} == {final}
    store.close()


def test_a_quick_restart_requeues_its_own_orphans_at_once(tmp_path: Path) -> None:
    """Killed mid-attempt, restarted at once with a 120 s stale window: the new process sees
    that the attempts' scheduler (same host, its pid gone) is dead and requeues them now."""
    settings, root, _ = _setup(tmp_path, retries=0)
    proc = _start(tmp_path, settings, root, "mid_attempt", stale=120)
    assert proc.wait(90) == -signal.SIGKILL, (tmp_path / "scheduler-mid_attempt.log").read_text()
    store = RunStore.open(settings)
    restarted = _start(tmp_path, settings, root, None, stale=120)
    try:
        deadline = time.monotonic() + 60  # well inside the stale window
        while True:
            runs = store.list_runs(pipeline="daily")
            if len(runs) == 3 and all(r.state.finished for r in runs):
                break
            if time.monotonic() > deadline:
                log = (tmp_path / "scheduler-restart.log").read_text()
                pytest.fail(f"orphans not requeued at once: {runs}\n{log}")
            time.sleep(0.2)
    finally:
        restarted.send_signal(signal.SIGINT)
        try:
            restarted.wait(30)
        except subprocess.TimeoutExpired:
            restarted.kill()
            restarted.wait()
    details = [store.get_run_detail(r.run_id) for r in store.list_runs(pipeline="daily")]
    assert {d.run.state for d in details} == {RunState.SUCCEEDED}  # retries: 0, yet no failure
    lost = [a for d in details for a in d.attempts if a.state == AttemptState.LOST]
    assert len(lost) == 1 and "is no longer running" in (lost[0].error or ""), lost
    store.close()
