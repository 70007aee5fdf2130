"""Lake housekeeping: orphaned files, compaction, snapshot expiry."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.lake import Workspace
from workspace.lake.maintenance import maintain


def _files(ws: Workspace) -> list[str]:
    return [
        r[0]
        for r in ws.con.execute(
            "SELECT data_file FROM ducklake_list_files('lake', 't', schema => 'silver')"
        ).fetchall()
    ]


@pytest.fixture
def lake(ws: Workspace) -> Workspace:
    for i in range(4):
        ws.write("silver.t", pd.DataFrame({"x": [i]}))
    return ws


def _orphan(ws: Workspace, age: dt.timedelta) -> Path:
    orphan = Path(_files(ws)[0]).with_name("ducklake-left-by-a-killed-write.parquet")
    shutil.copy(_files(ws)[0], orphan)
    then = time.time() - age.total_seconds()
    os.utime(orphan, (then, then))
    return orphan


def test_orphans_are_removed_only_when_old_enough(lake: Workspace) -> None:
    young = _orphan(lake, dt.timedelta(minutes=5))
    report = lake.maintain(dry_run=True)
    assert report.orphaned_files == [] and young.exists()
    old = young.rename(young.with_name("ducklake-old-orphan.parquet"))
    then = time.time() - 2 * 3600
    os.utime(old, (then, then))
    assert lake.maintain(dry_run=True).orphaned_files == [str(old)]
    assert old.exists()
    assert lake.maintain().orphaned_files == [str(old)]
    assert not old.exists()
    assert sorted(lake.table("silver.t").to_pandas().x) == [0, 1, 2, 3]


def test_compaction_keeps_data_and_time_travel(lake: Workspace) -> None:
    second = lake.history("silver.t")[1].snapshot_id
    assert len(_files(lake)) == 4
    report = maintain(lake, compact=True, orphan_min_age=dt.timedelta(0))
    assert report.compacted and len(report.removed_old_files) == 4
    assert len(_files(lake)) == 1
    assert sorted(lake.table("silver.t").to_pandas().x) == [0, 1, 2, 3]
    assert sorted(lake.table("silver.t", at=second).to_pandas().x) == [0, 1]


def test_expiry_forgets_old_snapshots(lake: Workspace) -> None:
    report = maintain(
        lake, expire_older_than=dt.timedelta(microseconds=1), orphan_min_age=dt.timedelta(0)
    )
    assert report.expired_snapshots
    assert sorted(lake.table("silver.t").to_pandas().x) == [0, 1, 2, 3]


def test_bad_arguments(lake: Workspace) -> None:
    from workspace.lake.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="positive"):
        lake.maintain(expire_older_than=dt.timedelta(0))


def test_cli(monkeypatch: pytest.MonkeyPatch, lake: Workspace) -> None:
    monkeypatch.setenv("WORKSPACE_HOME", str(lake.settings.home))
    monkeypatch.setenv("WORKSPACE_USER", lake.settings.user)
    out = CliRunner().invoke(cli, ["maintain", "--dry-run"])
    assert out.exit_code == 0, out.output
    assert "would remove 0 unreferenced file(s)" in out.output
    out = CliRunner().invoke(cli, ["maintain", "--expire-days", "0"])
    assert out.exit_code == 2 and "Traceback" not in out.output
