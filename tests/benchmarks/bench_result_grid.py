"""Benchmark the interactive result grid against same-run baselines.

Run with ``.venv/bin/python tests/benchmarks/bench_result_grid.py``. Cells run in an
in-process IPython kernel (ipykernel's ``InProcessKernelManager``): the display path is the
real one, with the widget's comm and its state serialized, as in a notebook. Each line prints
the baseline, the measured figure, their ratio, the goal and PASS/MISS.

1. First page of a 10M-row result: a ``%%sql`` cell (the query stored in DuckDB, the grid
   widget with its first page, the static table) against the bare query,
   ``con.execute(q).fetch_arrow_table()`` on the same connection. Median of 5, alternating.
   Goal: ratio <= 1.5.
2. Later pages of that result, through the widget's message handler (the query in DuckDB and
   the JSON-ready rows): 200 random pages unsorted, then sorted, then filtered. Goal: p95 of
   each <= 100 ms. The sort's own first page and the one-off sorted copy are printed apart.
3. Overhead of the grid on a 1-row ``%%sql`` cell: the same cell with
   ``SqlMagic.interactive`` on and off (static table only), median of 300, alternating.
   Goal: at most 5 ms added.
"""

from __future__ import annotations

import gc
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from timing import interleaved, p95, verdict

ROWS = 10_000_000
QUERY = f"""SELECT i AS id,
       i % 1000 AS grp,
       hash(i) % 100000 / 100.0 AS amount,
       DATE '2020-01-01' + (i % 1500)::INTEGER AS day,
       'item ' || (i % 5000) AS label
FROM range({ROWS}) t(i)"""


def _time(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-grid-")) / "home"
    os.environ["WORKSPACE_HOME"] = str(home)
    os.environ["WORKSPACE_USER"] = "bench"

    from ipykernel.inprocess.manager import InProcessKernelManager

    km = InProcessKernelManager()
    km.start_kernel()
    shell = km.kernel.shell
    shell.run_cell("%load_ext workspace.sql", store_history=False)
    ws = shell.user_ns["ws"]
    con = ws.con
    misses = 0

    def cell(text: str) -> Any:
        out = shell.run_cell(text)
        if out.error_in_exec is not None or out.error_before_exec is not None:
            raise RuntimeError(f"cell failed: {out.error_in_exec or out.error_before_exec}")
        return out.result

    # 1. first page of a 10M-row result
    shown: list[Any] = []

    def grid_cell() -> None:
        result = cell(f"%%sql\n{QUERY}")
        grid = result.grid()
        assert grid.first_page["total"] == ROWS and len(grid.first_page["rows"]) == 100
        shown.append(result)

    def bare() -> None:
        table = con.execute(QUERY).fetch_arrow_table()
        assert table.num_rows == ROWS

    def release() -> None:
        while shown:
            shown.pop().release()

    bare()
    grid_cell()
    release()
    t_bare: list[float] = []
    t_grid: list[float] = []
    for i in range(5):
        for fn, out in (
            ((bare, t_bare), (grid_cell, t_grid))
            if i % 2 == 0
            else (
                (grid_cell, t_grid),
                (bare, t_bare),
            )
        ):
            release()
            gc.collect()
            out.append(_time(fn))
    bare_s, grid_s = statistics.median(t_bare), statistics.median(t_grid)
    ratio = grid_s / bare_s
    misses += ratio > 1.5
    print(
        f"[1] first page of a {ROWS:,}-row result: bare query (fetch_arrow_table) "
        f"{bare_s * 1000:.0f} ms, %%sql cell with the grid's first page {grid_s * 1000:.0f} ms "
        f"(ratio {ratio:.2f}x) | goal <= 1.5x | {verdict(ratio <= 1.5)}"
    )

    # 2. later pages, through the widget's message handler
    release()
    result = cell(f"%%sql\n{QUERY}")
    grid = result.grid()
    rng = random.Random(11)
    offsets = [rng.randrange(0, ROWS - 100) for _ in range(200)]

    def pages(**view: Any) -> list[float]:
        times = []
        for offset in offsets:
            start = time.perf_counter()
            ((reply, _),) = grid.handle({"kind": "rows", "offset": offset, "limit": 100, **view})
            times.append(time.perf_counter() - start)
            assert "error" not in reply, reply
        return times

    unsorted = pages()
    sort = [{"column": "amount", "descending": True}]
    first_sorted = _time(lambda: grid.handle({"kind": "rows", "offset": 0, "sort": sort}))
    copy_made = _time(lambda: grid.handle({"kind": "rows", "offset": ROWS // 2, "sort": sort}))
    by_amount = pages(sort=sort)
    filters = {"label": "item 12"}
    filter_made = _time(lambda: grid.handle({"kind": "rows", "filters": filters}))
    matching = grid.handle({"kind": "rows", "filters": filters})[0][0]["total"]
    offsets = [rng.randrange(0, matching - 100) for _ in range(200)]
    filtered = pages(filters=filters)
    worst = max(p95(unsorted), p95(by_amount), p95(filtered))
    misses += worst > 0.1
    print(
        f"[2] later pages (100 rows, 200 random offsets each): p95 unsorted "
        f"{p95(unsorted) * 1000:.1f} ms, sorted {p95(by_amount) * 1000:.1f} ms, filtered "
        f"({matching:,} rows) {p95(filtered) * 1000:.1f} ms | goal p95 <= 100 ms | "
        f"{verdict(worst <= 0.1)}\n"
        f"    (once per view: sorted first page by top-N {first_sorted * 1000:.0f} ms, "
        f"sorted copy for deep pages {copy_made * 1000:.0f} ms, filtered copy "
        f"{filter_made * 1000:.0f} ms)"
    )
    result.release()
    grid.close()
    gc.collect()

    # 3. overhead of the grid on a 1-row cell
    q1 = "%%sql\nSELECT 42 AS answer"

    def with_grid() -> None:
        shell.run_line_magic("config", "SqlMagic.interactive = True")
        cell(q1)

    def static() -> None:
        shell.run_line_magic("config", "SqlMagic.interactive = False")
        cell(q1)

    interleaved(with_grid, static, 30)
    t_with, t_static = interleaved(with_grid, static, 300)
    w, s = statistics.median(t_with), statistics.median(t_static)
    added = (w - s) * 1000
    misses += added > 5
    print(
        f"[3] 1-row %%sql cell: static table {s * 1000:.2f} ms, with the grid "
        f"{w * 1000:.2f} ms (+{added:.2f} ms, ratio {w / s:.2f}x) | goal <= +5 ms | "
        f"{verdict(added <= 5)}"
    )
    km.shutdown_kernel()
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
