"""Progress of long queries (workspace.sql.progress) without a kernel: the watcher on a real
DuckDB connection, the text line, and the defaults (tests/integration/
test_sql_kernel_notebook.py covers the bar and cancel in a real kernel)."""

from __future__ import annotations

import duckdb
import pytest

from workspace.sql.progress import (
    ProgressWatcher,
    QueryProgress,
    enable_progress,
    is_interrupted_query,
    progress_line,
)


class Recorded:
    """A view that keeps what it was shown."""

    instances: list[Recorded] = []

    def __init__(self) -> None:
        self.updates: list[float | None] = []
        self.closed = False
        Recorded.instances.append(self)

    def update(self, percent: float | None, elapsed: float) -> None:
        self.updates.append(percent)

    def close(self) -> None:
        self.closed = True


def test_watcher_shows_duckdbs_progress_of_a_running_query() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i, i % 100 AS g FROM range(6000000) r(i)")
    enable_progress(con)
    Recorded.instances.clear()
    watcher = ProgressWatcher(con, Recorded, after=0.0, interval=0.02)
    watcher.start()
    con.execute("SELECT g, count(DISTINCT i % 1000003), sum(i * i) FROM t GROUP BY g").fetchall()
    watcher.stop()
    (view,) = Recorded.instances
    assert view.updates and all(p is not None and 0 <= p <= 100 for p in view.updates)
    assert view.closed
    # a watcher whose delay outlasts the cell shows nothing
    quiet = ProgressWatcher(con, Recorded, after=60.0)
    quiet.start()
    con.execute("SELECT 1").fetchall()
    quiet.stop()
    assert not quiet.shown and len(Recorded.instances) == 1


def test_progress_line_and_interrupts() -> None:
    assert progress_line(100, 61).startswith("Query [########################] 100% · 1 min 1 s")
    assert is_interrupted_query(RuntimeError("Query interrupted"))
    assert not is_interrupted_query(RuntimeError("Query interrupted by the user, twice"))


def test_pipeline_runs_show_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    assert QueryProgress().enabled
    monkeypatch.setenv("WORKSPACE_RUN_ID", "run-1")
    assert not QueryProgress().enabled
