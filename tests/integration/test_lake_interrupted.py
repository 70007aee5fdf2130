"""A write killed with SIGKILL halfway leaves the table exactly at its previous version."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from support.processes import start_worker

import workspace
from workspace.lake import Settings, Workspace

pytestmark = pytest.mark.slow

BIG_ROWS = 40_000_000


def _parquet_files(root: Path) -> set[Path]:
    return set(root.rglob("*.parquet"))


def test_killed_write_leaves_previous_version(lake_ws: Workspace, lake_settings: Settings) -> None:
    lake_ws.write("silver.big", pd.DataFrame({"id": [1, 2, 3], "v": [0.5, 1.0, 1.5], "s": "x"}))
    before_rows = lake_ws.table("silver.big").execute().to_dict("list")
    before_history = lake_ws.history("silver.big")
    files_before = _parquet_files(lake_settings.lake_data_path)

    proc = start_worker(lake_settings, ["big", "silver.big", str(BIG_ROWS)])
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "WRITING", proc.stderr.read() if proc.stderr else line
        # Kill once the write has produced data files of its own (it is mid-way: files
        # written, nothing committed), or after a few seconds at the latest.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and proc.poll() is None:
            if _parquet_files(lake_settings.lake_data_path) - files_before:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the write finished (exit {proc.returncode}) before it could be killed; raise BIG_ROWS"
    )

    # Data files the killed write left behind are not part of any snapshot.
    orphans = _parquet_files(lake_settings.lake_data_path) - files_before
    print(f"killed mid-write; {len(orphans)} uncommitted data file(s) left behind")
    listed = lake_ws.con.execute("FROM ducklake_list_files('lake', 'big', schema => 'silver')")
    live = {Path(r[0]).name for r in listed.fetchall()}
    assert live and not live & {f.name for f in orphans}

    # The connection that was open the whole time, and a brand-new one, see the old version.
    assert lake_ws.table("silver.big").execute().to_dict("list") == before_rows
    assert lake_ws.history("silver.big") == before_history
    with workspace.connect(
        lake_settings.home, user=lake_settings.user, catalog=lake_settings.catalog.raw
    ) as fresh:
        assert fresh.table("silver.big").count().execute() == 3
        assert fresh.history("silver.big") == before_history
        result = fresh.write("silver.big", pd.DataFrame({"id": [4], "v": [2.0], "s": ["y"]}))
        assert result.rows == 1
    assert lake_ws.table("silver.big").count().execute() == 4
    assert len(lake_ws.history("silver.big")) == len(before_history) + 1

    # Housekeeping finds exactly the killed write's files and removes them; data is intact.
    import datetime as dt

    from workspace.lake.maintenance import maintain

    report = maintain(lake_ws, orphan_min_age=dt.timedelta(0), catalogs=("lake",))
    assert {Path(p).name for p in report.orphaned_files} == {f.name for f in orphans}
    assert not any(f.exists() for f in orphans)
    assert lake_ws.table("silver.big").count().execute() == 4
