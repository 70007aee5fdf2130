"""Reading a masked projection vs its confidential source, on the same query (goal <= 1.2x).

Run with ``.venv/bin/python tests/benchmarks/bench_masking.py``. A temporary lake gets a
1M-row ``silver.customers`` (id, name, phone, age, region, amount); it is classified
confidential with ``name`` hashed, ``phone`` partially masked and ``age`` generalised, which
moves it into its own DuckLake and publishes ``silver.customers_masked`` in the shared lake.
Two queries (rows per region with distinct names, phones and age bands; a self-join on the
name) run on both through ``ws.sql``, interleaved; the source is read through the shared
lake's view of its protected catalog, as a granted user reads it. Prints the medians, the ratio
(masked / source), the goal and PASS/MISS.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
from timing import interleaved_medians, verdict

ROWS = 1_000_000
ROUNDS = 9
GOAL = 1.2
QUERIES = {
    # the analysts' kind of query: PII columns are grouped and counted
    "distinct": """
SELECT region, count(*) AS n, count(DISTINCT name) AS names, count(DISTINCT phone) AS phones,
       count(DISTINCT age) AS ages, sum(amount) AS amount
FROM {table} WHERE amount > 10 GROUP BY region ORDER BY region
""",
    # a join key: the hashed name is 64 characters where the name was 18
    "join": """
SELECT count(*) FROM {table} a JOIN {table} b USING (name) WHERE a.amount > 990
""",
}


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ["WORKSPACE_SCHEDULED"] = "/nonexistent"
    from workspace.governance.classify import classify
    from workspace.lake import Settings, Workspace

    rng = np.random.default_rng(7)
    ids = np.arange(ROWS)
    data = pa.table({
        "id": ids,
        "name": [f"Customer#{i:09d}" for i in rng.integers(0, ROWS // 2, ROWS)],
        "phone": [f"555-{i:07d}" for i in rng.integers(0, 10**7, ROWS)],
        "age": rng.integers(18, 90, ROWS),
        "region": rng.choice(["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST"], ROWS),
        "amount": rng.uniform(0, 1000, ROWS).round(2),
    })  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.resolve(Path(tmp) / "home", user="bench")
        with Workspace(settings) as ws:
            ws.write("silver.customers", data)
        classify(settings, "silver.customers", "confidential",
                 pii={"name": "hash", "phone": "partial", "age": "generalise"})  # fmt: skip
        with Workspace(settings) as ws:
            for label, query in QUERIES.items():

                def run(table: str, query: str = query) -> object:
                    return ws.sql(query.format(table=table)).to_pyarrow()

                source, masked = interleaved_medians(
                    lambda: run("silver.customers"), lambda: run("silver.customers_masked"), ROUNDS
                )
                ratio = masked / source
                print(f"{label}: source (protected) {source * 1000:.1f} ms, "
                      f"masked projection {masked * 1000:.1f} ms, "
                      f"ratio {ratio:.2f}x (goal <= {GOAL}x) {verdict(ratio <= GOAL)}")  # fmt: skip


if __name__ == "__main__":
    main()
