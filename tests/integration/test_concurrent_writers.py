"""Several OS processes committing to one lake at the same time, on both catalogs.

Every write must commit exactly once: the retries in ``retry_on_contention`` absorb the
catalog's contention errors (they are printed, run with ``-s`` to see them), and the final
row counts must be exact.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.processes import WorkerRun, contention_seen, run_workers

import workspace
from workspace.lake import Settings, Workspace
from workspace.lake.errors import WriteConflictError
from workspace.lake.snapshots import metadata_tables

pytestmark = pytest.mark.slow

APPENDERS = 4
COMMITS = 5
ROWS = 7
CREATORS = 2
TABLES_EACH = 3
OVERWRITES = 4


def _check(runs: list[WorkerRun]) -> None:
    failed = [r.describe() for r in runs if r.returncode != 0]
    assert not failed, "\n\n".join(failed)


def _connect(settings: Settings) -> Workspace:
    return workspace.connect(settings.home, user=settings.user, catalog=settings.catalog.raw)


def test_concurrent_appends_creates_and_overwrites(lake_settings: Settings) -> None:
    with _connect(lake_settings) as ws:
        ws.write("silver.snapshot", pd.DataFrame({"worker": [-1], "seq": [-1], "i": [-1]}))
    jobs = [["append", "silver.events", str(w), str(COMMITS), str(ROWS)] for w in range(APPENDERS)]
    jobs += [["create", "gold.part", str(100 + w), str(TABLES_EACH)] for w in range(CREATORS)]
    jobs += [["overwrite", "silver.snapshot", "200", str(OVERWRITES), "3"]]
    runs = run_workers(lake_settings, jobs)
    print(f"\n[{lake_settings.catalog.kind}] contention absorbed: {contention_seen(runs)}")
    _check(runs)

    with _connect(lake_settings) as ws:
        events = ws.table("silver.events").execute()
        assert len(events) == APPENDERS * COMMITS * ROWS
        per_commit = events.groupby(["worker", "seq"]).size()
        assert len(per_commit) == APPENDERS * COMMITS  # every commit landed once
        assert set(per_commit) == {ROWS}  # ...with all its rows, none duplicated
        assert not events.duplicated().any()
        meta = metadata_tables(ws.con, "lake")
        live = ws.con.execute(
            f"SELECT table_name, count(*) FROM {meta}.ducklake_table "
            "WHERE end_snapshot IS NULL GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        assert live == [], "tables created twice by racing writers"
        inserts = [s for s in ws.history("silver.events") if "inserted" in s.operations]
        assert len(inserts) == APPENDERS * COMMITS
        # each write reported the snapshot it committed (not a later one of another writer)
        reported = sorted(s for r in runs[:APPENDERS] for s in r.result["snapshots"])
        assert reported == [s.snapshot_id for s in inserts]

        created = sorted(t for t in ws.tables() if t.startswith("gold.part_"))
        assert created == sorted(
            f"gold.part_{100 + w}_{k}" for w in range(CREATORS) for k in range(TABLES_EACH)
        )
        for name in created:
            assert ws.table(name).count().execute() == 1

        snap = ws.table("silver.snapshot").execute()
        assert sorted(zip(snap.worker, snap.seq, strict=True)) == [(200, OVERWRITES - 1)] * 3
        assert len(ws.history("silver.snapshot")) == 1 + OVERWRITES


def test_first_connect_race_on_a_new_home(lake_settings: Settings) -> None:
    assert not lake_settings.home.exists()
    runs = run_workers(lake_settings, [["connect"]] * 4)
    print(f"\n[{lake_settings.catalog.kind}] contention absorbed: {contention_seen(runs)}")
    _check(runs)
    with _connect(lake_settings) as ws:
        rows = ws.con.execute(
            "SELECT database_name, schema_name, count(*) FROM duckdb_schemas() "
            "WHERE database_name IN ('lake', 'sandbox') GROUP BY ALL"
        ).fetchall()
        schemas = {(db, schema): n for db, schema, n in rows}
        for layer in ("bronze", "silver", "gold", "_workspace"):
            assert schemas[("lake", layer)] == 1
        assert schemas[("sandbox", "_workspace")] == 1
        assert ws.write("gold.after_race", pd.DataFrame({"x": [1]})).rows == 1
        assert ws.tables() == ["gold.after_race"]


_LOCKER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
con.execute("BEGIN EXCLUSIVE")
con.execute("UPDATE ducklake_metadata SET value = value WHERE key = 'version'")
print("LOCKED", flush=True)
time.sleep(120)
"""


@contextlib.contextmanager
def _catalog_locked(settings: Settings) -> Iterator[None]:
    """Another process holds a write lock on the catalog until the block ends."""
    if settings.catalog.kind == "sqlite":
        assert settings.catalog.path is not None
        locker = subprocess.Popen(
            [sys.executable, "-c", _LOCKER, str(settings.catalog.path)],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert locker.stdout is not None
            assert locker.stdout.readline().strip() == "LOCKED"
            yield
        finally:
            locker.kill()
            locker.wait()
        return
    import psycopg

    with psycopg.connect(settings.catalog.raw) as conn:  # a separate server backend
        conn.execute("LOCK TABLE public.ducklake_snapshot IN ACCESS EXCLUSIVE MODE")
        yield
        conn.rollback()


def test_write_gives_up_with_write_conflict_when_catalog_stays_locked(
    lake_settings: Settings,
) -> None:
    settings = dataclasses.replace(lake_settings, write_timeout=1.0)
    with Workspace(settings) as ws:
        ws.write("silver.t", pd.DataFrame({"x": [1, 2]}))
        history = ws.history("silver.t")
        with _catalog_locked(settings):
            for name in ("silver.t", "silver.new_table"):
                with pytest.raises(WriteConflictError) as info:
                    ws.write(name, pd.DataFrame({"x": [3]}))
                message = str(info.value)
                assert "lock" in message.lower()
                assert "Nothing was written" in message
                assert "WORKSPACE_WRITE_TIMEOUT" in message
        assert ws.history("silver.t") == history
        assert sorted(ws.table("silver.t").execute()["x"]) == [1, 2]
        assert ws.tables() == ["silver.t"]
        assert ws.write("silver.t", pd.DataFrame({"x": [3]})).rows == 1
        assert sorted(ws.table("silver.t").execute()["x"]) == [1, 2, 3]


def test_sqlite_writers_queue_on_the_catalog_write_lock(tmp_path: Path) -> None:
    """On an embedded catalog a write waits for the OS write lock held by another process,
    then commits normally; it gives up with a clear error after WORKSPACE_WRITE_TIMEOUT."""
    import textwrap

    from workspace.lake.engine import write_lock_path

    settings = Settings.resolve(tmp_path / "home", user="locker")
    lock = write_lock_path(settings, "lake")
    assert lock is not None
    holder = textwrap.dedent(
        f"""
        import sys, time
        from filelock import FileLock
        with FileLock({str(lock)!r}):
            print("held", flush=True)
            time.sleep(float(sys.argv[1]))
        """
    )
    with workspace.connect(settings.home, user="locker") as ws:
        ws.write("silver.t", pd.DataFrame({"x": [1]}))
        proc = subprocess.Popen([sys.executable, "-c", holder, "1.5"], stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        result = ws.write("silver.t", pd.DataFrame({"x": [2]}))  # waits, then commits
        proc.wait(timeout=30)
        assert result.rows == 1
        assert sorted(ws.table("silver.t").to_pandas().x) == [1, 2]
    impatient = dataclasses.replace(settings, write_timeout=0.5)
    proc = subprocess.Popen([sys.executable, "-c", holder, "5"], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"held"
        ws = Workspace(impatient)
        with pytest.raises(WriteConflictError, match="write lock"):
            ws.write("silver.t", pd.DataFrame({"x": [3]}))
        assert sorted(ws.table("silver.t").to_pandas().x) == [1, 2]
        ws.close()
    finally:
        proc.kill()
        proc.wait()
