"""Benchmark: a long ``%%sql`` query with the progress bar against the same query without it.

Run with ``.venv/bin/python tests/benchmarks/bench_sql_progress.py [--rows N] [--runs R]``.
Starts the "Python (workspace)" kernel on an empty temporary ``WORKSPACE_HOME``, makes a
temporary table of N rows (default 30 million) and times, client side, a ``%%sql`` cell
with a grouped ``count(DISTINCT ...)`` over it (several seconds). With the bar, DuckDB
tracks the query's progress (``enable_progress_bar``) and the kernel's watcher thread
polls it and updates an ipywidgets bar four times a second after the first second
(``QueryProgress.enabled = True``, the default); without it, both are off. The two are
alternated, R runs each; the verdict is on the median of the ratios of adjacent pairs
(robust to the load of a shared machine drifting during the run), the ratio of the medians
and the load average are shown too. The bar's messages are checked to have been sent in
the runs with it, and not in the others.

Goal (issue 11): with / without <= 1.05x. Prints PASS/MISS; timings are never asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GOAL = 1.05
QUERY = "%%sql\nSELECT g, count(DISTINCT i % 1000003) AS d, sum(i * i) AS s FROM big GROUP BY g"
SETUP = {
    flag: f"%config QueryProgress.enabled = {flag}\n"
    f"_ = ws.con.execute('SET enable_progress_bar = {str(flag).lower()}')"
    for flag in (True, False)
}


def run(kc: Any, code: str) -> tuple[float, list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    start = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=600, output_hook=messages.append)
    elapsed = time.perf_counter() - start
    assert reply["content"]["status"] == "ok", reply["content"]
    return elapsed, messages


def bar_shown(messages: list[dict[str, Any]]) -> bool:
    return any(
        m["msg_type"] == "display_data" and "Query" in m["content"]["data"].get("text/plain", "")
        for m in messages
    )


def main() -> int:
    from jupyter_client.manager import start_new_kernel

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000_000)
    parser.add_argument("--runs", type=int, default=4)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-progress-")) / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "bench"}
    km, kc = start_new_kernel(kernel_name="workspace", env=env, startup_timeout=120)
    try:
        run(
            kc,
            "_ = ws.con.execute('CREATE TEMP TABLE big AS SELECT i, i % 1000 AS g "
            f"FROM range({args.rows}) t(i)')",
        )
        times: dict[bool, list[float]] = {True: [], False: []}
        for k in range(args.runs * 2 + 1):
            with_bar = k % 2 == 0  # the first (warm-up) run is dropped below
            run(kc, SETUP[with_bar])
            elapsed, messages = run(kc, QUERY)
            shown = bar_shown(messages)
            assert shown == with_bar, f"run {k}: bar shown {shown}, query took {elapsed:.2f} s"
            if k:
                times[with_bar].append(elapsed)
        on, off = statistics.median(times[True]), statistics.median(times[False])
        pairs = [a / b for a, b in zip(times[True], times[False], strict=True)]
        ratio = statistics.median(pairs)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"query over {args.rows:,} rows, {args.runs} runs each, alternated (load {load})")
        print(f"without progress bar  median {off:6.2f} s  {[round(t, 2) for t in times[False]]}")
        print(f"with progress bar     median {on:6.2f} s  {[round(t, 2) for t in times[True]]}")
        verdict = "PASS" if ratio <= GOAL else "MISS"
        print(f"ratio of the medians: {on / off:.3f}x")
        print(f"with / without (median of pairs): {ratio:.3f}x | goal <= {GOAL:.2f}x | {verdict}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
