"""Benchmark SQL cells against raw DuckDB on the same connection.

Run with ``.venv/bin/python tests/benchmarks/bench_sql.py``. Prints, per benchmark, the
baseline, the ``%%sql`` figure, their ratio, the goal and PASS/MISS. Both sides run in the
same process on the same workspace connection, interleaved, so machine noise cancels out.

1. Overhead of ``%%sql`` over ``con.execute(q).fetchall()`` for a 1-row query
   (median of many runs). Goal: at most 5 ms added.
2. ``%%sql -o df`` for a 1M-row result vs ``con.execute(q).df()``. Goal: ratio <= 1.1.
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _interleaved(
    a: Callable[[], object], b: Callable[[], object], runs: int
) -> tuple[float, float]:
    """Median seconds of ``a`` and ``b``, alternating runs so drift affects both equally."""
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(runs):
        ta += _times(a, 1)
        tb += _times(b, 1)
    return statistics.median(ta), statistics.median(tb)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-sql-")) / "home"
    os.environ["WORKSPACE_HOME"] = str(home)
    os.environ["WORKSPACE_USER"] = "bench"

    from IPython.terminal.interactiveshell import TerminalInteractiveShell
    from IPython.testing.globalipapp import start_ipython

    start_ipython()
    shell = TerminalInteractiveShell.instance()
    shell.run_line_magic("load_ext", "workspace.sql")
    ws = shell.user_ns["ws"]
    con = ws.con
    misses = 0

    # 1. overhead for a 1-row query
    q1 = "SELECT 42 AS answer"
    _interleaved(
        lambda: con.execute(q1).fetchall(), lambda: shell.run_cell_magic("sql", "", q1), 50
    )
    raw, magic = _interleaved(
        lambda: con.execute(q1).fetchall(), lambda: shell.run_cell_magic("sql", "", q1), 500
    )
    with_repr = statistics.median(
        _times(lambda: shell.run_cell_magic("sql", "", q1)._repr_html_(), 200)
    )
    added_ms = (magic - raw) * 1000
    ok = added_ms <= 5.0
    misses += not ok
    print(
        f"[1] %%sql overhead, 1-row query: raw duckdb {raw * 1000:.3f} ms, "
        f"%%sql {magic * 1000:.3f} ms (+{added_ms:.3f} ms, ratio {magic / raw:.1f}x; "
        f"with HTML rendering {with_repr * 1000:.3f} ms) "
        f"| goal <= 5 ms added | {'PASS' if ok else 'MISS'}"
    )

    # 2. 1M rows to pandas
    q2 = (
        "SELECT range AS id, range * 0.5 AS price, 'item ' || (range % 1000) AS label "
        "FROM range(1000000)"
    )

    def raw_df() -> object:
        return con.execute(q2).df()

    def magic_df() -> object:
        shell.run_cell_magic("sql", "-o df", q2)
        return shell.user_ns["df"]

    assert len(magic_df()) == len(raw_df()) == 1_000_000  # type: ignore[arg-type]
    gc.collect()
    raw2, magic2 = _interleaved(raw_df, magic_df, 21)
    ratio = magic2 / raw2
    ok = ratio <= 1.1
    misses += not ok
    print(
        f"[2] %%sql -o df, 1M rows to pandas: raw con.execute(q).df() {raw2 * 1000:.1f} ms, "
        f"%%sql -o {magic2 * 1000:.1f} ms (ratio {ratio:.3f}x) | goal <= 1.1x | "
        f"{'PASS' if ok else 'MISS'}"
    )
    ws.close()
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
