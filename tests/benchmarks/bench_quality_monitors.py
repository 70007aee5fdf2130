"""The quality monitors: their cost on a commit, how well they detect, PII, and status.

Run with ``.venv/bin/python tests/benchmarks/bench_quality_monitors.py [--part NAME]``
(``overhead``, ``detection``, ``pii``, ``status`` or ``all``, the default). Everything runs
in temporary ``WORKSPACE_HOME`` folders; timings are never asserted, each figure prints its
goal and PASS/MISS.

1. ``overhead``: a 1M-row ``ws.write`` (append to a 1M-row table; id, customer, status,
   amount, a timestamp and a unique text reference) with the monitor hook recording the
   commit's metrics, against the same write with it off (``WORKSPACE_MONITOR_ON_WRITE=0``),
   after one untimed round of each, interleaved, order alternating, medians of 11 (the
   median of the per-round ratios is printed too: write times vary more than the
   monitors cost on a shared machine). Goal <= 1.15x.
2. ``detection``: an injected-fault corpus (tests/support/quality_corpus.py): 22 daily
   commits per table; 3 tables each of volume drop, null jump, numeric shift, categorical
   shift, dropped column and stale table; 6 clean controls (two of them weekday-only and
   Monday-peak, for seasonality). Precision and recall of ``scan``'s warn findings. Goal
   >= 0.9 both.
3. ``pii``: per Faker locale (14), a table with a column of each PII kind and look-alike
   columns (order numbers in three formats, SKUs, EANs, amounts, dates, versions, company
   and product names, cities, UUIDs); ``pii_columns`` samples each table. Precision and
   recall by column and kind. Goal >= 0.95 both.
4. ``status``: ``workspace quality status`` (the function the command prints) on 1,000
   shared tables with 6 daily commits each (written as 6 multi-table commits, backdated);
   p95 of 20 calls with the history present, and of 20 calls each after a commit to one
   table. Goal p95 <= 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.quality_corpus import (
    START,
    TableSpec,
    backdate,
    build,
    monitor_hook_off,
    score,
)

import workspace
from workspace.lake import Workspace

ROWS = 1_000_000
ROUNDS = 11
GOALS = {"overhead": 1.15, "detection": 0.9, "pii": 0.95, "status": 1.0}


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _connect(root: str, name: str) -> Workspace:
    home = Path(root) / name
    return workspace.connect(home, user="bench", catalog=f"sqlite:///{home}/lake/catalog.sqlite")


# -- 1. overhead ---------------------------------------------------------------------------
def _orders(start: int) -> pa.Table:
    rng = np.random.default_rng(start)
    ids = np.arange(start, start + ROWS, dtype=np.int64)
    return pa.table(
        {
            "id": ids,
            "customer": rng.integers(0, 50_000, ROWS),
            "status": pa.array(np.array(["O", "F", "P"])[rng.integers(0, 3, ROWS)]),
            "amount": rng.uniform(0, 10_000, ROWS).round(2),
            "ts": pa.array(np.datetime64("2026-01-01") + ids.astype("timedelta64[s]")),
            "ref": pa.array([f"R{i:09d}" for i in ids]),
        }
    )


def overhead(root: str) -> bool:
    ws = _connect(root, "overhead")
    data = _orders(0)
    for table in ("silver.plain", "silver.monitored"):  # a 1M-row table to append to
        with monitor_hook_off():
            ws.write(table, data)

    def plain() -> None:
        with monitor_hook_off():
            ws.write("silver.plain", data)

    def monitored() -> None:
        ws.write("silver.monitored", data)

    plain()
    monitored()  # warm: the first recording imports the PII recognisers
    times: dict[str, list[float]] = {"plain": [], "monitored": []}
    for i in range(ROUNDS):
        order: list[tuple[str, Callable[[], None]]] = [
            ("plain", plain), ("monitored", monitored),
        ]  # fmt: skip
        for name, fn in order if i % 2 == 0 else order[::-1]:
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    a, b = statistics.median(times["plain"]), statistics.median(times["monitored"])
    ratio = b / a
    paired = statistics.median(
        m / p for m, p in zip(times["monitored"], times["plain"], strict=True)
    )
    from workspace.quality.history import table_history

    recorded = table_history(ws, "silver.monitored")[-1]
    ws.close()
    print(
        f"overhead   1M-row append without monitors {a * 1000:7.1f} ms   with {b * 1000:7.1f} ms"
        f"   ratio {ratio:.2f}x (goal <= {GOALS['overhead']}x)  "
        f"{_verdict(ratio <= GOALS['overhead'])}"
    )
    print(
        f"           median of the per-round ratios {paired:.2f}x; recorded: "
        f"{recorded.rows_added:,} rows added, {len(recorded.columns)} columns profiled on "
        f"{recorded.sample_rows:,} rows"
    )
    return ratio <= GOALS["overhead"]


# -- 2. detection --------------------------------------------------------------------------
FAULTS = ("volume_drop", "null_jump", "shift", "category_shift", "dropped_column", "stale")


def detection(root: str) -> bool:
    from workspace.quality.scan import scan

    ws = _connect(root, "detection")
    specs = [TableSpec(f"silver.{f}_{i}", f, rows=(300, 1000, 3000)[i]) for f in FAULTS
             for i in range(3)]  # fmt: skip
    specs += [
        TableSpec("silver.clean_small", rows=100),
        TableSpec("silver.clean_mid", rows=800),
        TableSpec("silver.clean_big", rows=5000),
        TableSpec("silver.clean_mixed", rows=1500),
        TableSpec("silver.clean_weekdays", rows=1000, weekday_only=True),
        TableSpec("silver.clean_mondays", rows=1000, monday_peak=True),
    ]
    start = time.perf_counter()
    as_of, faults = build(ws, specs, days=22, seed=12)
    built = time.perf_counter() - start
    start = time.perf_counter()
    result = scan(ws, as_of=as_of)
    scanned = time.perf_counter() - start
    precision, recall, false, missed = score(result.findings, faults)
    ws.close()
    commits = sum(1 for _ in specs) * 22
    print(
        f"detection  {len(specs)} tables, about {commits} commits (built {built:.0f} s, "
        f"scanned from the snapshots in {scanned:.1f} s)"
    )
    goal = GOALS["detection"]
    ok = precision >= goal and recall >= goal
    print(
        f"           precision {precision:.2f}  recall {recall:.2f} (goal >= {goal} both)  "
        f"{_verdict(ok)}"
    )
    for message in false:
        print(f"           false alarm: {message}")
    for table in missed:
        print(f"           missed: {table}")
    return ok


# -- 3. PII --------------------------------------------------------------------------------
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "es_ES", "it_IT", "sv_SE", "pl_PL",
           "pt_BR", "en_CA", "da_DK", "fi_FI", "en_IN")  # fmt: skip
VALUES = 300


def _pii_table(locale: str, seed: int) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    from faker import Faker

    f = Faker(locale)
    f.seed_instance(seed)
    rng = np.random.default_rng(seed)
    n = VALUES

    def many(fn: Callable[[], object]) -> list[str]:
        return [str(fn()) for _ in range(n)]

    columns: dict[str, list[str]] = {
        "email": many(f.email),
        "phone": many(f.phone_number),
        "card_number": many(f.credit_card_number),
        "national_id": many(f.ssn),
        "ip": [f.ipv4() if i % 3 else f.ipv6() for i in range(n)],
        "address": many(f.address),
        "order_no": [f"ORD-{rng.integers(10**5, 10**6)}" for _ in range(n)],
        "order_id": [str(rng.integers(10**9, 10**10)) for _ in range(n)],
        "order_ref": [str(rng.integers(10**15, 10**16)) for _ in range(n)],
        "sku": [f.bothify("??-####-??").upper() for _ in range(n)],
        "ean": many(f.ean13),
        "amount": [f"{x:.2f}" for x in rng.uniform(1, 10_000, n)],
        "day": [str(f.date()) for _ in range(n)],
        "version": [
            f"{rng.integers(0, 9)}.{rng.integers(0, 20)}.{rng.integers(0, 50)}" for _ in range(n)
        ],
        "company": many(f.company),
        "product": many(f.catch_phrase),
        "city": many(f.city),
        "uid": many(f.uuid4),
    }
    truth: dict[str, str | None] = dict.fromkeys(columns)
    truth.update(email="email", phone="phone", card_number="payment_card",
                 national_id="national_id", ip="ip_address", address="postal_address")  # fmt: skip
    if locale != "en_IN":  # Faker's en_IN IBANs fail the ISO 13616 checksum: not IBANs
        columns["iban"] = many(f.iban)
        truth["iban"] = "iban"
    return columns, truth


def pii(root: str) -> bool:
    import pandas as pd

    from workspace.quality.pii_review import pii_columns

    ws = _connect(root, "pii")
    tp = fp = fn = 0
    wrong: list[str] = []
    seconds = 0.0
    for i, locale in enumerate(LOCALES):
        columns, truth = _pii_table(locale, i)
        name = f"bronze.people_{locale.lower()}"
        ws.write(name, pd.DataFrame(columns))
        start = time.perf_counter()
        found = {c.column: c.kind for c in pii_columns(ws, name)}
        seconds += time.perf_counter() - start
        for col, kind in truth.items():
            got = found.get(col)
            if got is None and kind is None:
                continue  # a look-alike left alone
            if got == kind:
                tp += 1
            else:
                if got is not None:
                    fp += 1
                if kind is not None:
                    fn += 1
                wrong.append(f"{name}.{col}: expected {kind}, found {got}")
    ws.close()
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    goal = GOALS["pii"]
    ok = precision >= goal and recall >= goal
    print(
        f"pii        {len(LOCALES)} locales, {tp + fn} PII columns and "
        f"{len(LOCALES) * 12} look-alike columns, {VALUES} values each "
        f"(sampled and classified in {seconds / len(LOCALES):.2f} s per table)"
    )
    print(
        f"           precision {precision:.3f}  recall {recall:.3f} (goal >= {goal} both)  "
        f"{_verdict(ok)}"
    )
    for line in wrong:
        print(f"           {line}")
    return ok


# -- 4. status -----------------------------------------------------------------------------
def _status_lake(ws: Workspace, tables: int, days: int) -> None:
    names = [f"silver.t{i:04d}" for i in range(tables)]
    con = ws.con
    times: dict[int, dt.datetime] = {}
    with monitor_hook_off():
        con.execute("BEGIN TRANSACTION")
        for name in names:
            con.execute(f"CREATE TABLE lake.{name} (id BIGINT, amount DOUBLE, status VARCHAR)")
        con.execute("COMMIT")
        times[_current(ws)] = START - dt.timedelta(days=1)
        for day in range(days):
            con.execute("BEGIN TRANSACTION")
            for i, name in enumerate(names):
                con.execute(
                    f"INSERT INTO lake.{name} SELECT range, random() * 100 + {i % 7}, "
                    f"['a', 'b', 'c'][1 + range % 3] FROM range({day * 100}, {day * 100 + 50})"
                )
            con.execute("COMMIT")
            times[_current(ws)] = START + dt.timedelta(days=day, hours=2)
    backdate(ws, times)


def _current(ws: Workspace) -> int:
    (row,) = ws.con.execute('SELECT id FROM "lake".current_snapshot()').fetchall()
    return int(row[0])


def _p95(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def status_bench(root: str, tables: int) -> bool:
    from workspace.quality.scan import status

    ws = _connect(root, "status")
    start = time.perf_counter()
    _status_lake(ws, tables, days=6)
    built = time.perf_counter() - start
    as_of = START + dt.timedelta(days=5, hours=6)
    start = time.perf_counter()
    rows = status(ws, as_of=as_of)  # fills the history from the snapshots: 6 commits each
    cold = time.perf_counter() - start
    health = statistics.mode(r.health for r in rows)
    warm: list[float] = []
    for _ in range(20):
        start = time.perf_counter()
        status(ws, as_of=as_of)
        warm.append(time.perf_counter() - start)
    after: list[float] = []
    rng = np.random.default_rng(3)
    for _ in range(20):
        name = f"silver.t{int(rng.integers(0, tables)):04d}"
        with monitor_hook_off():
            ws.con.execute(f"INSERT INTO lake.{name} VALUES (1, 50.0, 'a')")
        start = time.perf_counter()
        status(ws, as_of=as_of)
        after.append(time.perf_counter() - start)
    ws.close()
    goal = GOALS["status"]
    p95_warm, p95_after = _p95(warm), _p95(after)
    print(
        f"status     {len(rows)} tables with 6 daily commits each (built in {built:.0f} s; "
        f"the first status filled the history from the snapshots in {cold:.1f} s; "
        f"most tables: {health})"
    )
    print(
        f"           p95 {p95_warm * 1000:.0f} ms (median {statistics.median(warm) * 1000:.0f}"
        f" ms) with the history present (goal <= {goal:.0f} s)  {_verdict(p95_warm <= goal)}"
    )
    print(
        f"           p95 {p95_after * 1000:.0f} ms (median {statistics.median(after) * 1000:.0f}"
        f" ms) each after a commit to one table  {_verdict(p95_after <= goal)}"
    )
    return p95_warm <= goal and p95_after <= goal


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part", choices=["overhead", "detection", "pii", "status", "all"], default="all"
    )
    parser.add_argument("--tables", type=int, default=1000, help="tables of the status part")
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("WORKSPACE_")]:
        del os.environ[name]
    parts: dict[str, Callable[[str], bool]] = {
        "overhead": overhead,
        "detection": detection,
        "pii": pii,
        "status": lambda root: status_bench(root, args.tables),
    }
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-quality-") as root:
        for name, fn in parts.items():
            if args.part in (name, "all"):
                ok = fn(root) and ok
    print("PASS" if ok else "MISS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
