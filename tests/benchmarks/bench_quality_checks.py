"""Blocking checks in the write's transaction: a 1M-row write with 5 declared checks vs none.

Run with ``.venv/bin/python tests/benchmarks/bench_quality_checks.py``. Both writes run in
the same process, interleaved (the order alternates every round, garbage collected before
each), on the same 1M-row pyarrow table, into two lake tables of the same shape: one with a
contract of 5 checks (not_null, unique, accepted_values, range, row_count, all severity
``error``, so they run before COMMIT), one without. Prints the median of each, their ratio,
the goal (<= 1.3x) and PASS/MISS, and the median time the checks took inside the checked
writes (from the recorded results), which machine noise affects least.

1. ``overwrite``: the table is replaced by the 1M rows (every check reads the new table).
2. ``append``: 1M rows appended to a 1M-row table (row checks read only the rows written,
   unique and row_count read the whole table), with a cleanup outside the timing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from timing import interleaved_medians

ROWS = 1_000_000
ROUNDS = 9
GOAL = 1.3
CHECKS = [
    {"type": "not_null", "column": "id"},
    {"type": "unique", "columns": "id"},
    {"type": "accepted_values", "column": "status", "values": ["O", "F", "P"]},
    {"type": "range", "column": "amount", "min": 0, "max": 1_000_000},
    {"type": "row_count", "min": 1},
]


def _data(start: int) -> pa.Table:
    rng = np.random.default_rng(start)
    ids = np.arange(start, start + ROWS, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "customer": rng.integers(0, 50_000, ROWS),
            "status": pa.array(np.array(["O", "F", "P"])[rng.integers(0, 3, ROWS)]),
            "amount": rng.uniform(0, 10_000, ROWS).round(2),
        }
    )


def _medians(
    a: Callable[[], object],
    b: Callable[[], object],
    rounds: int,
    before: Callable[[], object] | None = None,
) -> tuple[float, float]:
    return interleaved_medians(a, b, rounds, before=before, collect=True)


def _line(name: str, plain: float, checked: float, inside: float) -> bool:
    ratio = checked / plain
    ok = ratio <= GOAL
    print(
        f"{name:<10} without checks {plain * 1000:7.1f} ms   with 5 checks {checked * 1000:7.1f} ms"
        f"   ratio {ratio:.2f}x (goal <= {GOAL}x)  {'PASS' if ok else 'MISS'}"
        f"   (the checks themselves: {inside * 1000:.1f} ms)"
    )
    return ok


def _inside(ws: object, mode: str) -> float:
    """Median seconds the checks took inside the checked writes of ``mode`` (recorded)."""
    from workspace.quality.checks_results import read_results

    runs = read_results(ws.settings, ws.resolve("silver.checked"), limit=1000)  # type: ignore[attr-defined]
    assert all(r["outcome"] == "passed" for r in runs), "every checked write passed its checks"
    return statistics.median(r["seconds"] for r in runs if r.get("mode") == mode)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="bench-quality-")) / "home"
    os.environ["WORKSPACE_HOME"] = str(home)
    os.environ["WORKSPACE_USER"] = "bench"
    import workspace

    ws = workspace.connect()
    data, more = _data(0), _data(ROWS)
    for name in ("silver.plain", "silver.checked"):
        ws.write(name, data, mode="overwrite")
    ws.quality.contract("silver.checked", key="id", checks=CHECKS)
    report = ws.quality.report("silver.checked")
    assert report.passed and len(report.outcomes) == 5, report.to_json()
    print(f"{ROWS:,} rows, {len(CHECKS)} checks of severity error, median of {ROUNDS} rounds")

    def overwrite(table: str) -> Callable[[], object]:
        return lambda: ws.write(table, data, mode="overwrite")

    plain, checked = _medians(overwrite("silver.plain"), overwrite("silver.checked"), ROUNDS)
    ok = _line("overwrite", plain, checked, _inside(ws, "overwrite"))

    def reset() -> None:  # back to 1M rows, outside the timing
        for name in ("silver.plain", "silver.checked"):
            ws.write(name, data, mode="overwrite")

    def append(table: str) -> Callable[[], object]:
        return lambda: ws.write(table, more, mode="append")

    plain, checked = _medians(
        append("silver.plain"), append("silver.checked"), ROUNDS, before=reset
    )
    _line("append", plain, checked, _inside(ws, "append"))
    ws.close()
    print("PASS" if ok else "MISS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
