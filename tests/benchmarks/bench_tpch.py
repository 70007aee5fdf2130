"""TPC-H: the 22 queries through ``Workspace.sql`` on lake tables vs raw DuckDB on the same files.

Goal: total time <= 1.15x the raw DuckDB baseline, and every answer equal to
``tpch_answers()``. Both sides run in this process on the same Parquet files, interleaved (the
order alternates every round), so the ratio is measured in the same run. The baseline is a
plain ``duckdb.connect()`` with one ``read_parquet`` view per table.

A third column, "DuckLake", runs the same queries with ``con.execute`` on a bare connection
that attaches only the lake (same catalog, same files, no workspace code): the workspace's own
cost is the "ws/DuckLake" ratio, DuckLake's is "DuckLake/raw".

Run: ``.venv/bin/python tests/benchmarks/bench_tpch.py [--sf 1] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

import workspace
from workspace.lake.engine import attach_string, new_duckdb
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
    flush_inlined(ws)
    print(f"loaded TPC-H sf{sf:g} into the lake in {time.perf_counter() - t0:.1f}s")


def flush_inlined(ws: workspace.Workspace) -> None:
    """Write rows DuckLake kept in its catalog (data inlining, DuckLake 1.0 on) to Parquet.

    The raw baseline reads the lake's Parquet files, so every table needs its rows in files.
    """
    with contextlib.suppress(duckdb.CatalogException):  # DuckLake before 1.0: nothing inlined
        ws.con.execute("CALL ducklake_flush_inlined_data('lake')")


def raw_connection(ws: workspace.Workspace):  # type: ignore[no-untyped-def]
    """A plain DuckDB connection with one view per table over the lake's Parquet files."""
    raw = duckdb.connect()
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


def ducklake_connection(ws: workspace.Workspace):  # type: ignore[no-untyped-def]
    """A bare DuckDB connection with only the lake attached (DuckLake's own cost)."""
    con = new_duckdb()
    target, options = attach_string(ws.settings)
    opts = ", ".join(f"{k} '{v}'" for k, v in options.items())
    con.execute(f"ATTACH '{target}' AS lake ({opts}, READ_ONLY)")
    con.execute("USE lake.bronze")
    return con


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
    parser.add_argument(
        "--home", type=Path, help="keep the lake in this folder and reuse it on the next run"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-tpch-") as tmp:
        ws = workspace.connect(args.home or Path(tmp) / "home", user="bench")
        if "bronze.lineitem" not in ws.tables():
            load_lake(ws, args.sf)
        flush_inlined(ws)
        raw = raw_connection(ws)
        lake = ducklake_connection(ws)
        answers = dict(
            ws.con.execute(
                "SELECT query_nr, answer FROM tpch_answers() WHERE scale_factor = ?", [args.sf]
            ).fetchall()
        )
        queries = ws.con.execute("SELECT query_nr, query FROM tpch_queries()").fetchall()
        runners = {
            "ws": lambda q: ws.sql(q).to_pyarrow(),
            "raw": lambda q: raw.execute(q).fetch_arrow_table(),
            "lake": lambda q: lake.execute(q).fetch_arrow_table(),
        }
        totals = dict.fromkeys(runners, 0.0)
        wrong = []
        header = f"{'query':>5} {'workspace ms':>13} {'raw ms':>9} {'DuckLake ms':>12}"
        print(f"{header} {'ratio':>6}  answer")
        for nr, query in queries:
            times: dict[str, list[float]] = {name: [] for name in runners}
            rows: list[tuple[object, ...]] = []
            for i in range(args.repeat + 1):  # first round warms caches, not counted
                order = list(runners) if i % 2 else list(runners)[::-1]
                for name in order:
                    t0 = time.perf_counter()
                    result = runners[name](query)
                    if i:
                        times[name].append(time.perf_counter() - t0)
                    if name == "ws":
                        rows = list(zip(*[c.to_pylist() for c in result.columns], strict=True))
            med = {name: statistics.median(t) for name, t in times.items()}
            for name, m in med.items():
                totals[name] += m
            ok = nr not in answers or same_answer(rows, answers[nr])
            if not ok:
                wrong.append(nr)
            check = "ok" if nr in answers and ok else ("no reference" if ok else "WRONG")
            print(
                f"{nr:>5} {med['ws'] * 1e3:>13.1f} {med['raw'] * 1e3:>9.1f} "
                f"{med['lake'] * 1e3:>12.1f} {med['ws'] / med['raw']:>6.2f}  {check}"
            )
        total_ws, total_raw, total_lake = totals["ws"], totals["raw"], totals["lake"]
        ratio = total_ws / total_raw
        verdict = "PASS" if ratio <= 1.15 and not wrong else "MISS"
        print(
            f"DuckLake alone (bare connection, con.execute) {total_lake:.2f}s: "
            f"DuckLake/raw {total_lake / total_raw:.3f}, ws/DuckLake {total_ws / total_lake:.3f}"
        )
        print(
            f"TPC-H sf{args.sf:g} total: workspace {total_ws:.2f}s vs raw DuckDB "
            f"{total_raw:.2f}s -> ratio {ratio:.3f} (goal <= 1.15); "
            f"answers equal to tpch_answers(): {22 - len(wrong)}/22  [{verdict}]"
        )
        lake.close()
        ws.close()
        return 0 if not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
