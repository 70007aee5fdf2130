"""Anomalies on the tables a run wrote reach the pipeline's alert sinks, saying what changed.

A real scheduler runs a pipeline whose attempt commits to a real lake table with a history
of steady appends; the scheduler's alert worker scans the tables the run wrote and a real
HTTP receiver gets one ``quality`` alert naming the table and the volume drop. A run that
writes the usual volume sends nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.notebooks import make_notebook
from support.webhook import webhook_receiver

import workspace
from workspace.jobs.execution.context import AttemptResult, AttemptSpec, TableWrite
from workspace.jobs.execution.executors import Executor
from workspace.jobs.scheduler.loop import Scheduler
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow


@dataclass
class _Handle:
    spec: AttemptSpec
    write: TableWrite


class WritingExecutor(Executor):
    """Each attempt appends ``rows`` rows to silver.orders in this process (a real commit)."""

    name = "writing"

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings
        self.rows = 1000

    def _submit(self, spec: AttemptSpec) -> _Handle:
        with workspace.connect(self.settings.home, user="pipelines") as ws:
            res = ws.write("silver.orders", _orders(self.rows), mode="append")
        return _Handle(spec, TableWrite("silver.orders", res.snapshot_id, res.rows, "append",
                                        datetime.now(UTC)))  # fmt: skip

    def _poll(self, handle: _Handle) -> AttemptResult | None:
        now = datetime.now(UTC)
        return AttemptResult("succeeded", now, now, handle.spec.attempt_dir,
                             writes=[handle.write])  # fmt: skip


def _orders(n: int) -> pd.DataFrame:
    return pd.DataFrame({"id": range(n), "amount": [10.0] * n})


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Any]]]:
    with webhook_receiver() as received:
        yield received


def _run(s: Scheduler, seconds: float = 60) -> None:
    run = s.store.create_manual_run("orders")
    deadline = time.monotonic() + seconds
    while not s.store.get_run(run.run_id).state.finished:
        assert time.monotonic() < deadline, s.store.list_runs()
        s.tick_once()
        time.sleep(0.02)


def test_a_volume_drop_on_a_table_the_run_wrote_is_alerted(
    tmp_path: Path, receiver: tuple[str, list[Any]]
) -> None:
    url, bodies = receiver
    settings = Settings.resolve(tmp_path / "home", user="scheduler")
    (settings.home).mkdir(parents=True)
    (settings.home / "alerts.yaml").write_text(f"team: {{type: webhook, url: '{url}'}}\n")
    root = tmp_path / "scheduled"
    (root / "orders").mkdir(parents=True)
    make_notebook(root / "orders" / "nb.ipynb")
    (root / "orders" / "pipeline.yaml").write_text(
        "alerts: {on_failure: true, sinks: [team]}\ntasks: [{name: load, notebook: nb.ipynb}]\n"
    )
    executor = WritingExecutor(settings)
    s = Scheduler(settings, root, executor=executor)
    try:
        s.tick_once()  # registers the pipeline
        for _ in range(7):  # a steady history: the usual volume alerts nothing
            _run(s)
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            s.tick_once()
            time.sleep(0.05)
        assert bodies == [], bodies
        executor.rows = 10  # the upstream broke: 1% of the usual rows
        _run(s)
        deadline = time.monotonic() + 60
        while not bodies:
            assert time.monotonic() < deadline, "no quality alert"
            s.tick_once()
            time.sleep(0.05)
    finally:
        s.shutdown()
    [body] = bodies
    text = json.dumps(body)
    assert "quality findings" in text and "silver.orders" in text, text
    assert "volume" in text, text
