"""The naming standards' write overhead: a 1M-row write with the standards hook vs without.

Run with ``.venv/bin/python tests/benchmarks/bench_standards.py``. Both writes run in the
same process, interleaved (the order alternates every round, garbage collected before
each), on the same 1M-row pyarrow table, into two silver tables of the same shape. The
baseline runs with no write hook at all; the other with only
:class:`~workspace.governance.standards_gate.StandardsGate` (the other hooks are left out
of both, so the ratio is the standards' alone), applying a team file with every kind of
name rule and ``metadata_enforcement: write`` (the hook's most expensive setting: it reads
the table's annotation in every write). Prints the median of each, their ratio, the goal
(<= 1.05x) and PASS/MISS.

1. ``overwrite``: the table is replaced by the 1M rows.
2. ``append``: 1M rows appended to a 1M-row table (reset outside the timing).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from timing import interleaved_medians

ROWS = 1_000_000
ROUNDS = 9
GOAL = 1.05
STANDARDS = """
metadata_enforcement: write
defaults:
  table: {max_length: 63, reserved_words: [order, user], forbidden_abbreviations: {cust: customer}}
  column: {max_length: 63, reserved_words: [date], forbidden_abbreviations: {amt: amount}}
layers:
  silver: {require_owner: true, require_description: true}
"""


def _data() -> pa.Table:
    rng = np.random.default_rng(0)
    return pa.table(
        {
            "order_id": np.arange(ROWS, dtype=np.int64),
            "customer_id": rng.integers(0, 50_000, ROWS),
            "status": pa.array(
                np.array(["open", "fulfilled", "partial"])[rng.integers(0, 3, ROWS)]
            ),
            "amount": rng.uniform(0, 10_000, ROWS).round(2),
            "order_date": pa.array(rng.integers(18_000, 20_000, ROWS).astype("datetime64[D]")),
        }
    )


def _medians(
    a: Callable[[], object],
    b: Callable[[], object],
    rounds: int,
    before: Callable[[], object] | None = None,
) -> tuple[float, float]:
    return interleaved_medians(a, b, rounds, before=before, collect=True)


def _line(name: str, plain: float, checked: float) -> bool:
    ratio = checked / plain
    ok = ratio <= GOAL
    print(
        f"{name:<10} without standards {plain * 1000:8.1f} ms   with standards "
        f"{checked * 1000:8.1f} ms   ratio {ratio:.3f}x (goal <= {GOAL}x)  "
        f"{'PASS' if ok else 'MISS'}"
    )
    return ok


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="bench-standards-"))
    (root / "standards.yaml").write_text(STANDARDS)
    os.environ.update(
        WORKSPACE_HOME=str(root / "home"),
        WORKSPACE_USER="bench",
        WORKSPACE_STANDARDS=str(root / "standards.yaml"),
    )
    import workspace
    from workspace.governance.standards_gate import StandardsGate
    from workspace.lake import hooks

    gate: tuple[hooks.WriteHook, ...] = (StandardsGate(),)
    chosen: list[tuple[hooks.WriteHook, ...]] = [()]
    hooks.active = lambda: chosen[0]  # the writes see exactly the hooks chosen per run

    ws = workspace.connect()
    data = _data()
    for name in ("silver.plain", "silver.checked"):
        ws.write(name, data, mode="overwrite")
        ws.catalog.annotate(name, owner="bench", description="1M orders")
    print(f"{ROWS:,} rows, 5 columns, median of {ROUNDS} rounds")

    def write(table: str, mode: str, hooked: bool) -> Callable[[], object]:
        def run() -> object:
            chosen[0] = gate if hooked else ()
            return ws.write(table, data, mode=mode)  # type: ignore[arg-type]

        return run

    plain, checked = _medians(
        write("silver.plain", "overwrite", False),
        write("silver.checked", "overwrite", True),
        ROUNDS,
    )
    ok = _line("overwrite", plain, checked)

    def reset() -> None:  # back to 1M rows, outside the timing
        chosen[0] = ()
        for name in ("silver.plain", "silver.checked"):
            ws.write(name, data, mode="overwrite")

    plain, checked = _medians(
        write("silver.plain", "append", False),
        write("silver.checked", "append", True),
        ROUNDS,
        before=reset,
    )
    ok = _line("append", plain, checked) and ok
    # the gate really ran: a bad name is refused with it, accepted without it
    chosen[0] = gate
    try:
        ws.write("silver.BadName", data.slice(0, 10))
    except workspace.WorkspaceError as exc:
        assert "rule silver.table.case" in str(exc), exc
    else:
        raise AssertionError("the standards hook did not run")
    ws.close()
    print("PASS" if ok else "MISS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
