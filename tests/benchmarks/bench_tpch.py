"""TPC-H: the 22 queries through ``Workspace.sql`` on lake tables vs raw DuckDB on the same files.

Goal: total time <= 1.15x the raw DuckDB baseline, and every answer equal to
``tpch_answers()``. Both sides run in this process on the same Parquet files, interleaved, so
the ratio is measured in the same run.

Run: ``.venv/bin/python tests/benchmarks/bench_tpch.py [--sf 1] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import workspace
from workspace.lake.engine import new_duckdb
from workspace.lake.names import TableRef
from workspace.lake.writes import write_sql_source

TABLES = ("region", "nation", "customer", "supplier", "part", "partsupp", "orders", "lineitem")


def load_lake(ws: workspace.Workspace, sf: float) -> None:
    con = ws.con
    con.execute("LOAD tpch")
    con.execute("ATTACH ':memory:' AS gen")
    t0 = time.perf_counter()
    con.execute(f"CALL dbgen(sf={sf}, catalog='gen')")
    for name in TABLES:
        write_sql_source(
            ws, TableRef("lake", "bronze", name), f"gen.main.{name}", mode="overwrite", evolve=True
        )
    con.execute("DETACH gen")
    print(f"loaded TPC-H sf{sf:g} into the lake in {time.perf_counter() - t0:.1f}s")


def raw_connection(ws: workspace.Workspace):  # type: ignore[no-untyped-def]
    """A plain DuckDB connection with one view per table over the lake's Parquet files."""
    raw = new_duckdb()
    for name in TABLES:
        files = [
            r[0]
            for r in ws.con.execute(
                "SELECT data_file FROM ducklake_list_files('lake', ?, schema => 'bronze')", [name]
            ).fetchall()
        ]
        listing = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        raw.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listing}])")
    return raw


def same_answer(result: list[tuple[object, ...]], expected_csv: str) -> bool:
    lines = expected_csv.strip().split("\n")[1:]
    if len(lines) != len(result):
        return False
    for row, line in zip(result, lines, strict=True):
        cells = line.split("|")
        if len(cells) != len(row):
            return False
        for got, want in zip(row, cells, strict=True):
            if got is None:
                if want not in ("", "NULL"):
                    return False
                continue
            try:
                g, w = float(got), float(want)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                if str(got).strip() != want.strip():
                    return False
                continue
            if not math.isclose(g, w, rel_tol=1e-6, abs_tol=0.01):
                return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sf", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tpch-") as tmp:
        ws = workspace.connect(Path(tmp) / "home", user="bench")
        load_lake(ws, args.sf)
        raw = raw_connection(ws)
        answers = dict(
            ws.con.execute(
                "SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [args.sf]
            ).fetchall()
        )
        queries = ws.con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall()
        total_ws = total_raw = 0.0
        wrong = []
        print(f"{'query':>5} {'workspace ms':>13} {'raw ms':>9} {'ratio':>6}  answer")
        for nr, query in queries:
            ws_times, raw_times = [], []
            rows: list[tuple[object, ...]] = []
            for i in range(args.repeat + 1):  # first round warms caches, not counted
                t0 = time.perf_counter()
                table = ws.sql(query).to_pyarrow()
                t1 = time.perf_counter()
                raw.execute(query).fetch_arrow_table()
                t2 = time.perf_counter()
                if i:
                    ws_times.append(t1 - t0)
                    raw_times.append(t2 - t1)
                rows = list(zip(*[c.to_pylist() for c in table.columns], strict=True))
            w, r = statistics.median(ws_times), statistics.median(raw_times)
            total_ws += w
            total_raw += r
            ok = nr not in answers or same_answer(rows, answers[nr])
            if not ok:
                wrong.append(nr)
            check = "ok" if nr in answers and ok else ("no reference" if ok else "WRONG")
            print(f"{nr:>5} {w * 1e3:>13.1f} {r * 1e3:>9.1f} {w / r:>6.2f}  {check}")
        ratio = total_ws / total_raw
        verdict = "PASS" if ratio <= 1.15 and not wrong else "MISS"
        print(
            f"TPC-H sf{args.sf:g} total: workspace {total_ws:.2f}s vs raw DuckDB "
            f"{total_raw:.2f}s -> ratio {ratio:.3f} (goal <= 1.15); "
            f"answers equal to tpch_answers(): {22 - len(wrong)}/22  [{verdict}]"
        )
        ws.close()
        return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
