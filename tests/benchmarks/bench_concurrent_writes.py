"""Commits per second with 4 writer processes vs 1, on the SQLite (and PostgreSQL) catalog.

Run: ``.venv/bin/python tests/benchmarks/bench_concurrent_writes.py``

Both runs make the same number of small appends to one table; the 1-writer run is the
baseline measured in the same run. Prints commits/s for each, the ratio, the retries the
writers needed, and the number of failed writers (the goal is 0). Commits/s is measured
inside the writers, from the start barrier to their last commit (process start-up and
imports are not counted). PostgreSQL runs when its server binaries are installed
(``tests/support/postgres.py``); set ``WORKSPACE_TEST_SKIP_POSTGRES=1`` to skip it.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    find_bin_dir,
    skip_requested,
)
from support.processes import contention_seen, run_workers

import workspace
from workspace.lake import Settings

TOTAL_COMMITS = 48
ROWS_PER_COMMIT = 10


def measure(settings: Settings, writers: int) -> dict[str, object]:
    """Run ``writers`` processes sharing TOTAL_COMMITS appends; return the figures."""
    with workspace.connect(
        settings.home, user=settings.user, catalog=settings.catalog.raw
    ) as ws:  # initialise the home outside the measurement
        ws.tables()
    each = TOTAL_COMMITS // writers
    jobs = [
        ["append", "silver.bench", str(w), str(each), str(ROWS_PER_COMMIT)] for w in range(writers)
    ]
    runs = run_workers(settings, jobs, timeout=300)
    ok = [r for r in runs if r.returncode == 0]
    failed = len(runs) - len(ok)
    seconds = max((float(r.result["seconds"]) for r in ok), default=float("nan"))
    attempts = [a for r in ok for a in r.result["attempts"]]
    with workspace.connect(settings.home, user=settings.user, catalog=settings.catalog.raw) as ws:
        rows = ws.table("silver.bench").count().execute() if ok else 0
    expected = each * writers * ROWS_PER_COMMIT
    return {
        "commits": len(attempts),
        "commits_per_s": len(attempts) / seconds if seconds else float("nan"),
        "retries": sum(attempts) - len(attempts),
        "failed": failed + (rows != expected),
        "rows_ok": rows == expected,
        "contention": contention_seen(runs),
        "errors": [r.describe() for r in runs if r.returncode != 0],
    }


def bench(kind: str, catalog_for: object) -> int:
    results = {}
    for writers in (1, 4):
        with tempfile.TemporaryDirectory(prefix=f"ws-bench-{kind}-") as tmp:
            catalog = catalog_for(writers) if callable(catalog_for) else None
            settings = Settings.resolve(Path(tmp) / "home", catalog=catalog, user="bench")
            results[writers] = measure(settings, writers)
    one, four = results[1], results[4]
    ratio = float(four["commits_per_s"]) / float(one["commits_per_s"])  # type: ignore[arg-type]
    print(f"\n== {kind} catalog: {TOTAL_COMMITS} commits of {ROWS_PER_COMMIT} rows ==")
    for writers, r in results.items():
        print(
            f"  {writers} writer(s): {r['commits_per_s']:7.1f} commits/s  "
            f"retries={r['retries']}  failures={r['failed']}  exact row count={r['rows_ok']}"
        )
    print(f"  ratio 4 writers / 1 writer: {ratio:.2f}x")
    seen = four["contention"]
    if seen:
        print("  contention absorbed by retries (4 writers):")
        for text, n in sorted(seen.items(), key=lambda kv: -kv[1]):  # type: ignore[union-attr]
            print(f"    {n:4d} x {text}")
    for r in results.values():
        for err in r["errors"]:  # type: ignore[union-attr]
            print(err)
    return int(one["failed"]) + int(four["failed"])  # type: ignore[call-overload]


def main() -> int:
    failures = bench("sqlite", None)
    if skip_requested():
        print("\nPostgreSQL skipped (WORKSPACE_TEST_SKIP_POSTGRES is set)")
    elif find_bin_dir() is None:
        print("\nPostgreSQL not installed: skipped (run `make test` to install it)")
    else:
        try:
            with PostgresServer.start() as pg:
                failures += bench("postgres", lambda w: pg.create_database(f"bench_{w}"))
        except PostgresUnavailable as exc:
            print(f"\nPostgreSQL could not start: {exc}")
    print(f"\ntotal failures: {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
