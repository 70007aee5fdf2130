"""Benchmark: ``workspace audit`` with a filter over 100,000 audit events.

Run with ``.venv/bin/python tests/benchmarks/bench_audit.py [N_EVENTS]``. It fills a trail
in a temporary workspace home with N (100,000) events spread over 30 days (50 actors, 12
actions, 2,000 targets), then times the ``workspace audit ... --json`` command in process
(query and JSON output, not the interpreter's start) for a mix of filters: by actor, by
action, by target, by a target glob, since a time, and all three at once. Prints p50 and p95
against the goal (p95 <= 500 ms: PASS/MISS) and the same mix on an unindexed copy of the
same file, measured in the same run, as the baseline ratio. Also: one append (what a login
costs the hub) and ``workspace audit verify`` over the whole chain.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.governance.audit import record, trail

GOAL_P95 = 0.5
REPEATS = 15
ACTIONS = ["login", "login_failed", "spawn", "server_stop", "trigger", "pause", "resume",
           "promote", "report_view", "commit", "user_change", "share"]  # fmt: skip


def fill(n: int) -> None:
    rng = random.Random(7)
    store = trail()
    store.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    start = datetime.now(UTC) - timedelta(days=30)
    batch = 2_000
    for first in range(0, n, batch):
        when = start + timedelta(days=30 * first / n)
        entries = [
            (f"user{rng.randrange(50):02d}", rng.choice(ACTIONS),
             f"pipeline:p{rng.randrange(2_000):04d}", {"run_id": f"r{first + i}", "n": i})
            for i in range(min(batch, n - first))
        ]  # fmt: skip
        store.append_many(entries, time=when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def queries() -> list[list[str]]:
    since = (datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    return [
        ["--actor", "user07"],
        ["--action", "login_failed"],
        ["--target", "pipeline:p0042"],
        ["--target", "pipeline:p004*"],
        ["--since", since],
        ["--actor", "user07", "--action", "trigger", "--since", "20d"],
    ]


def time_mix() -> list[float]:
    runner = CliRunner()
    took = []
    for _ in range(REPEATS):
        for args in queries():
            t0 = time.perf_counter()
            out = runner.invoke(cli, ["audit", "--json", *args], catch_exceptions=False)
            took.append(time.perf_counter() - t0)
            assert out.exit_code == 0, out.output
    return took


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(n: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="ws-bench-audit-"))
    os.environ["WORKSPACE_HOME"] = str(base / "home")
    (base / "home").mkdir()
    try:
        t0 = time.perf_counter()
        fill(n)
        print(f"filled {n:,} events in {time.perf_counter() - t0:.1f}s")
        appends = []
        for i in range(50):
            t1 = time.perf_counter()
            record("bench", "login", f"user:bench{i}", ip="127.0.0.1")
            appends.append(time.perf_counter() - t1)
        print(f"one append (record): p50 {statistics.median(appends) * 1e3:.1f} ms")
        indexed = time_mix()
        path = trail().path
        plain = base / "plain" / "audit" / "audit.sqlite"
        plain.parent.mkdir(parents=True)
        shutil.copy(path, plain)
        with sqlite3.connect(plain) as con:
            for (name,) in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
            ).fetchall():
                con.execute(f"DROP INDEX {name}")
        os.environ["WORKSPACE_HOME"] = str(base / "plain")
        unindexed = time_mix()
        os.environ["WORKSPACE_HOME"] = str(base / "home")
        t2 = time.perf_counter()
        ok = trail().verify().ok
        verify = time.perf_counter() - t2
        got, baseline = p95(indexed), p95(unindexed)
        verdict = "PASS" if got <= GOAL_P95 else "MISS"
        print(
            f"workspace audit with a filter over {n:,} events: p50 "
            f"{statistics.median(indexed) * 1e3:.1f} ms, p95 {got * 1e3:.1f} ms "
            f"(goal <= {GOAL_P95 * 1e3:.0f} ms: {verdict})"
        )
        print(
            f"baseline, same queries without the indexes: p95 {baseline * 1e3:.1f} ms "
            f"({baseline / got:.1f}x slower)"
        )
        state = "ok" if ok else "BROKEN"
        print(f"workspace audit verify over {n + 50:,} entries: {verify:.2f}s ({state})")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
