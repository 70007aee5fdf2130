"""What tiers cost a write: routing (goal <= 1.05x), and a confidential table's masked copy.

Run with ``.venv/bin/python tests/benchmarks/bench_tier_writes.py``. A temporary lake holds
one confidential table (``silver.customers``, 1M rows, ``name`` hashed and ``phone``
partially masked), so every write reads the protected tables' index. Interleaved, medians:

1. ``routing``: a 1M-row overwrite of an ordinary silver table, with the tier routing of
   ``Workspace.write`` vs with it replaced by the identity (no write hooks in either). Goal
   <= 1.05x.
2. ``confidential append``: 100k rows appended to the confidential table (routed into its
   own DuckLake, then the masking hook appends the same rows, masked, to
   ``silver.customers_masked``) vs 100k rows appended to an ordinary 1M-row table. No goal
   in the issue; it prints the ratio (the masked copy is a second write of the rows).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from timing import interleaved_medians, verdict

ROWS = 1_000_000
APPEND = 100_000
ROUNDS = 7
GOAL = 1.05


def _data(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({
        "id": np.arange(rows),
        "name": [f"Customer#{i:09d}" for i in rng.integers(0, rows, rows)],
        "phone": [f"555-{i:07d}" for i in rng.integers(0, 10**7, rows)],
        "amount": rng.uniform(0, 1000, rows).round(2),
    })  # fmt: skip


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ["WORKSPACE_SCHEDULED"] = "/nonexistent"
    import workspace.lake.workspace as lake_workspace
    from workspace.governance.classify import MaskingHook, classify
    from workspace.lake import Settings, Workspace, hooks, names

    big, small = _data(ROWS, 1), _data(APPEND, 2)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.resolve(Path(tmp) / "home", user="bench")
        with Workspace(settings) as ws:
            ws.write("silver.customers", big)
            ws.write("silver.plain", big)
        classify(settings, "silver.customers", "confidential",
                 pii={"name": "hash", "phone": "partial"})  # fmt: skip
        chosen: list[tuple[hooks.WriteHook, ...]] = [()]
        hooks.active = lambda: chosen[0]  # type: ignore[assignment]
        routed = lake_workspace._route_protected
        with Workspace(settings) as ws:

            def write(route: bool) -> None:
                lake_workspace._route_protected = routed if route else (lambda _ws, ref: ref)
                ws.write("silver.plain", big, mode="overwrite")

            plain, with_routing = interleaved_medians(
                lambda: write(False), lambda: write(True), ROUNDS, collect=True
            )
            lake_workspace._route_protected = routed
            ratio = with_routing / plain
            print(f"routing: 1M-row overwrite {plain * 1000:.0f} ms without, "
                  f"{with_routing * 1000:.0f} ms with; ratio {ratio:.3f}x "
                  f"(goal <= {GOAL}x) {verdict(ratio <= GOAL)}")  # fmt: skip
            # the routing itself, alone: the two medians above differ by the machine's noise
            ref = names.resolve_write("silver.plain")
            start = time.perf_counter()
            for _ in range(1000):
                routed(ws, ref)
            per_call = (time.perf_counter() - start) / 1000
            print(f"routing alone: {per_call * 1e6:.0f} us per write "
                  f"({per_call / plain:.4%} of the 1M-row write)")  # fmt: skip

            def append(confidential: bool) -> None:
                chosen[0] = (MaskingHook(),) if confidential else ()
                ws.write("silver.customers" if confidential else "silver.plain", small)

            ordinary, confidential = interleaved_medians(
                lambda: append(False), lambda: append(True), ROUNDS, collect=True
            )
            print(f"confidential append: 100k rows {ordinary * 1000:.0f} ms to an ordinary "
                  f"table, {confidential * 1000:.0f} ms to a confidential one with its "
                  f"masked copy; ratio {confidential / ordinary:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
