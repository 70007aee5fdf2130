"""Benchmark SQL cells against raw DuckDB.

Run with ``.venv/bin/python tests/benchmarks/bench_sql.py``. Prints, per benchmark, the
baseline, the ``%%sql`` figure, their ratio, the goal and PASS/MISS. Both sides run in the
same process, interleaved (the order alternates every round), so machine noise cancels out.

1. Overhead of ``%%sql`` over ``con.execute(q).fetchall()`` on the workspace connection for a
   1-row query (median of many runs). Goal: at most 5 ms added.
2. ``%%sql -o df`` for a 1M-row result (``SELECT i, i*2, 'x'||(i%100) FROM range(1000000)``)
   vs ``duckdb.connect().sql(q).df()``: a plain DuckDB connection of its own, not the
   workspace's. Goal: ratio <= 1.1.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from timing import interleaved_medians


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


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
    interleaved_medians(
        lambda: con.execute(q1).fetchall(), lambda: shell.run_cell_magic("sql", "", q1), 50
    )
    raw, magic = interleaved_medians(
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

    # 2. 1M rows to pandas, against a plain DuckDB connection of its own
    q2 = "SELECT i, i * 2, 'x' || (i % 100) FROM range(1000000) t(i)"
    plain = duckdb.connect()

    def raw_df() -> object:
        return plain.sql(q2).df()

    def magic_df() -> object:
        shell.run_cell_magic("sql", "-o df", q2)
        return shell.user_ns["df"]

    expected, got = raw_df(), magic_df()
    assert got.equals(expected) and list(got.dtypes) == list(expected.dtypes)  # type: ignore[attr-defined]
    del expected, got
    raw2, magic2 = interleaved_medians(raw_df, magic_df, 21, collect=True)
    ratio = magic2 / raw2
    ok = ratio <= 1.1
    misses += not ok
    print(
        f"[2] %%sql -o df, 1M rows to pandas: plain duckdb.connect().sql(q).df() "
        f"{raw2 * 1000:.1f} ms, %%sql -o {magic2 * 1000:.1f} ms (ratio {ratio:.3f}x) | "
        f"goal <= 1.1x | {'PASS' if ok else 'MISS'}"
    )
    plain.close()
    ws.close()
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
