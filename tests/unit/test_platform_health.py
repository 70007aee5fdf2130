"""The platform health: a failing, late pipeline comes first, with its failures, late
starts and the Dask cluster its attempts saw; tables, compute and storage come from the
real lake and run store; the page escapes what users wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from support.notebooks import make_notebook

from workspace.jobs.store.run_store import RunStore
from workspace.lake import Workspace
from workspace.reports.health import platform_health
from workspace.reports.health_view import render_health

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _pipeline(root: Path, name: str, description: str, sla: str = "") -> None:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(
        f"description: {description!r}\nschedule: {{cron: '0 * * * *'}}\n{sla}"
        "tasks:\n  - {name: load, notebook: load.ipynb}\n"
    )
    make_notebook(folder / "load.ipynb", "", "x = 1")


def _run(store: RunStore, clock: Clock, name: str, *, late: timedelta, ok: bool) -> None:
    run, _ = store.create_scheduled_run(name, clock.now, tasks=["load"])
    clock.now += late
    assert store.start_run(run.run_id)
    store.set_task_state(run.run_id, "load", "queued")
    attempt = store.claim_task(run.run_id, "load")
    assert attempt is not None
    used = {"cpu_seconds": 7200.0, "wall_seconds": 60.0, "dask_workers_min": 2,
            "dask_workers_max": 3}  # fmt: skip
    state = "succeeded" if ok else "failed"
    store.finish_attempt(attempt.attempt_id, state, resources=used)
    store.finish_run(run.run_id, state)
    clock.now += timedelta(minutes=1)


def test_health_of_pipelines_tables_compute_and_storage(ws: Workspace, tmp_path: Path) -> None:
    root = tmp_path / "scheduled"
    _pipeline(root, "hourly", "fine")
    _pipeline(root, "nightly", "<b>breaks</b>", sla="sla: {start_within: 10m}\n")
    ws.write("silver.orders", pd.DataFrame({"id": range(1000), "v": [1.5] * 1000}))
    clock = Clock()
    store = RunStore.open(ws.settings, clock=clock)
    for name in ("hourly", "nightly"):
        store.upsert_pipeline(name)
    _run(store, clock, "hourly", late=timedelta(0), ok=True)
    _run(store, clock, "nightly", late=timedelta(minutes=20), ok=False)
    store.close()

    h = platform_health(ws.settings, scheduled_root=root, days=2)
    got = [
        (p.name, p.status, p.runs, p.failed, p.late_starts, p.on_time_pct, p.sla_misses)
        for p in h.pipelines
    ]
    assert got == [  # failing first; 20 min late breaks nightly's start_within of 10 min
        ("nightly", "failing", 1, 1, 1, 0.0, 1),
        ("hourly", "ok", 1, 0, 0, 100.0, 0),
    ]
    assert all(p.next_run is not None for p in h.pipelines)
    assert h.dask_workers == (2, 3)
    assert [t.table for t in h.tables] == ["silver.orders"]
    assert {c.pipeline: c.cpu_hours for c in h.compute} == {"hourly": 2.0, "nightly": 2.0}
    assert [s.layer for s in h.storage if s.bytes > 0] == ["silver"]
    assert not h.problems

    assert [c.pipeline for c in h.compute_by_user]  # attributed to the pipelines' owners
    page = render_health(h, base="/services/reports/", viewer="<eve>", days=2)
    assert "&lt;eve&gt;" in page and "<eve>" not in page
    assert "<script" not in page
    assert 'class="s s-failing">failing' in page
    assert "2 to 3" in page  # the Dask cluster's size
    assert "50%" in page and "Access grants" not in page  # grants: overseers only
