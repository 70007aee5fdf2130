"""A reader holding the embedded (SQLite) catalog must never lock the lake for good.

A DuckLake COMMIT that finds the SQLite catalog busy (another process is in the middle of a
read) fails after DuckDB's busy wait. DuckDB's SQLite connection then keeps the catalog's
PENDING lock: before :func:`workspace.lake.engine.release_catalog_locks`, the writer's
retries, every later read in that process and every new read in any other process failed
with "database is locked" until the writer exited (the runs of a pipeline stalled for
minutes; CI's concurrent-writers test timed out). Here the reader is a separate OS process
holding a read transaction on the catalog for longer than that busy wait, as a long query
or a metadata scan does.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pandas as pd
import pytest
from support.processes import start_worker

from workspace.lake import Workspace
from workspace.lake.errors import QueryError
from workspace.sql.runner import run_sql

pytestmark = pytest.mark.slow

HOLD = 8.0  # seconds: longer than the busy wait of DuckDB's SQLite connection (5 s)

_READER = """
import sqlite3, sys, time
con = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, isolation_level=None)
con.execute("BEGIN")
con.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
print("HOLDING", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("COMMIT")
"""


def _frame(workers: list[int]) -> pd.DataFrame:
    """Rows shaped like the worker's (tests/support/lake_worker.py writes worker, seq, i)."""
    return pd.DataFrame({"worker": workers, "seq": 0, "i": 0}, dtype="int32")


def _hold_catalog(ws: Workspace, seconds: float) -> subprocess.Popen[str]:
    assert ws.settings.catalog.path is not None
    proc = subprocess.Popen(
        [sys.executable, "-c", _READER, str(ws.settings.catalog.path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "HOLDING"
    return proc


def test_a_write_waits_for_a_long_reader_and_leaves_the_lake_readable(ws: Workspace) -> None:
    ws.write("silver.busy", _frame([1, 2, 3]))
    reader = _hold_catalog(ws, HOLD)
    started = time.monotonic()
    writer = start_worker(ws.settings, ["write-once", "silver.busy"], WORKSPACE_WRITE_TIMEOUT="90")
    out, err = writer.communicate(timeout=180)
    reader.wait(timeout=30)
    took = time.monotonic() - started
    assert writer.returncode == 0, f"{out}\n{err}"
    # It had to wait for the reader, and got through soon after (not at its timeout).
    assert HOLD - 1 < took < HOLD + 40, took
    assert ws.con.execute("SELECT count(*) FROM lake.silver.busy").fetchone() == (4,)


def test_a_sql_cell_that_hit_a_busy_catalog_does_not_lock_out_others(ws: Workspace) -> None:
    ws.write("silver.cell", _frame([1]))
    reader = _hold_catalog(ws, HOLD)
    with pytest.raises(QueryError, match="locked"):
        run_sql(ws.con, "INSERT INTO lake.silver.cell VALUES (2, 0, 0)")
    reader.wait(timeout=30)
    # Another process writes (and reads) the lake at once, and so does this connection.
    other = start_worker(ws.settings, ["write-once", "silver.cell"], WORKSPACE_WRITE_TIMEOUT="20")
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, f"{out}\n{err}"
    run_sql(ws.con, "INSERT INTO lake.silver.cell VALUES (3, 0, 0)")
    rows = ws.con.execute("SELECT worker FROM lake.silver.cell ORDER BY worker").fetchall()
    assert [r[0] for r in rows] == [0, 1, 3]


def test_an_idle_result_grid_holds_no_lock_on_the_catalog(ws: Workspace) -> None:
    """A grid that answered its browser's requests (rows, then the header statistics) must
    leave no result streaming on the connection: DuckDB would keep the query's transaction,
    and the catalog's read lock, until the next statement, and no writer could commit."""
    from workspace.sql.grid import ResultGrid

    ws.write("silver.idle", _frame(list(range(200))))
    grid = ResultGrid(run_sql(ws.con, "SELECT * FROM silver.idle").grid_source())
    grid.handle({"kind": "rows", "offset": 0, "limit": 50})
    grid.handle({"kind": "stats"})  # the last request, then the kernel is idle
    writer = start_worker(ws.settings, ["write-once", "silver.idle"], WORKSPACE_WRITE_TIMEOUT="20")
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, f"{out}\n{err}"
