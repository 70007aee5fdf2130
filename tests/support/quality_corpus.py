"""An injected-fault corpus for the quality monitors: real lakes with daily histories.

Each table gets one commit a day (``ws.write`` of an orders-like frame, about 02:00 UTC
with some jitter); a faulty table's last commit carries its fault. Days pass in seconds:
after writing, every snapshot's commit time is moved back to its day in the SQLite
catalog (:func:`backdate`), so freshness sees a daily table, and monitors read the history
from the lake's snapshots alone (the monitor hook is off while the corpus is written,
since its times would be the real ones).

Faults (at the last day):

``volume_drop``     the commit adds a tenth of the usual rows;
``null_jump``       half of ``amount`` is NULL;
``shift``           ``amount`` is four standard deviations higher;
``category_shift``  half of the orders are ``returned`` (usually 5%);
``dropped_column``  ``qty`` is dropped and the rows inserted, in one raw SQL transaction;
``stale``           the table's last three daily commits never come.

Controls have no fault; ``weekday_only`` controls skip weekends and ``monday_peak``
controls load three times as much on Mondays (seasonality must keep them quiet).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd

from workspace.lake import Workspace

#: What each fault should make the monitors report: (kind, column).
EXPECTED: dict[str, tuple[str, str | None]] = {
    "volume_drop": ("volume", None),
    "null_jump": ("nulls", "amount"),
    "shift": ("distribution", "amount"),
    "category_shift": ("distribution", "status"),
    "dropped_column": ("schema", "qty"),
    "stale": ("freshness", None),
}
STATUSES = ["new", "paid", "shipped", "returned"]
START = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)  # a Monday


@dataclass(frozen=True)
class TableSpec:
    """One table of the corpus."""

    name: str
    fault: str | None = None
    rows: int = 1000
    weekday_only: bool = False
    monday_peak: bool = False


def backdate(ws: Workspace, times: dict[int, dt.datetime]) -> None:
    """Set the commit time of snapshots in the lake's SQLite catalog."""
    path = ws.settings.catalog.path
    assert path is not None, "backdating needs a SQLite catalog"
    con = sqlite3.connect(path, timeout=30)
    with con:
        con.executemany(
            "UPDATE ducklake_snapshot SET snapshot_time = ? WHERE snapshot_id = ?",
            [
                (t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00"), s)
                for s, t in times.items()
            ],
        )
    con.close()


@contextmanager
def monitor_hook_off() -> Iterator[None]:
    """Write without recording metrics at commit time (see the module docstring)."""
    old = os.environ.get("WORKSPACE_MONITOR_ON_WRITE")
    os.environ["WORKSPACE_MONITOR_ON_WRITE"] = "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("WORKSPACE_MONITOR_ON_WRITE", None)
        else:
            os.environ["WORKSPACE_MONITOR_ON_WRITE"] = old


def frame(rng: np.random.Generator, first_id: int, rows: int, fault: str | None) -> pd.DataFrame:
    """One day's orders (with the fault of the last day, if any)."""
    amount = rng.normal(100.0, 15.0, rows).round(2)
    if fault == "shift":
        amount = amount + 60.0
    probs = [0.3, 0.4, 0.25, 0.05] if fault != "category_shift" else [0.1, 0.2, 0.2, 0.5]
    out = pd.DataFrame(
        {
            "id": np.arange(first_id, first_id + rows, dtype="int64"),
            "amount": amount,
            "qty": rng.integers(1, 10, rows),
            "status": rng.choice(STATUSES, rows, p=probs),
            "note": [None if rng.random() < 0.05 else f"n{first_id + i}" for i in range(rows)],
        }
    )
    if fault == "null_jump":
        out["amount"] = out["amount"].where(rng.random(rows) >= 0.5)
    return out


def build(
    ws: Workspace, specs: list[TableSpec], *, days: int, seed: int = 0
) -> tuple[dt.datetime, dict[str, str | None]]:
    """Write the corpus; returns the time to judge it at (two hours after the last day's
    commits) and each table's fault."""
    rng = np.random.default_rng(seed)
    ids = dict.fromkeys((s.name for s in specs), 0)
    times: dict[int, dt.datetime] = {}
    with monitor_hook_off():
        for day in range(days):
            date = START + dt.timedelta(days=day)
            last = day == days - 1
            for k, spec in enumerate(specs):
                if spec.weekday_only and date.weekday() >= 5:
                    continue
                if spec.fault == "stale" and day >= days - 3:
                    continue
                fault = spec.fault if last else None
                rows = spec.rows * (3 if spec.monday_peak and date.weekday() == 0 else 1)
                rows = int(rows * rng.uniform(0.9, 1.1))
                if fault == "volume_drop":
                    rows = max(1, rows // 10)
                data = frame(rng, ids[spec.name], rows, fault)
                ids[spec.name] += rows
                when = date + dt.timedelta(hours=2, minutes=float(rng.normal(0, 10)), seconds=k)
                if fault == "dropped_column":
                    snap = _drop_and_insert(ws, spec.name, data.drop(columns=["qty"]))
                else:
                    snap = ws.write(spec.name, data).snapshot_id
                times[snap] = when
    backdate(ws, times)
    as_of = START + dt.timedelta(days=days - 1, hours=4)
    return as_of, {s.name: s.fault for s in specs}


def _drop_and_insert(ws: Workspace, name: str, data: pd.DataFrame) -> int:
    """A raw SQL commit that bypasses ``ws.write``: drop ``qty`` and insert, in one snapshot."""
    ref = ws.resolve(name)
    con = ws.con
    con.register("_corpus_rows", data)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f'ALTER TABLE {ref.sql} DROP COLUMN "qty"')
        con.execute(f"INSERT INTO {ref.sql} BY NAME SELECT * FROM _corpus_rows")
        con.execute("COMMIT")
    finally:
        con.unregister("_corpus_rows")
    (row,) = con.execute('SELECT id FROM "lake".current_snapshot()').fetchall()
    return int(row[0])


def score(
    findings: list[object], faults: dict[str, str | None]
) -> tuple[float, float, list[str], list[str]]:
    """(precision, recall, false alarms, missed faults) of warn/error findings."""
    raised = [f for f in findings if getattr(f, "severity", "") in ("warn", "error")]
    hits = set()
    false: list[str] = []
    for f in raised:
        fault = faults.get(f.table)  # type: ignore[attr-defined]
        want = EXPECTED.get(fault or "")
        if want and f.kind == want[0] and (want[1] is None or f.column == want[1]):  # type: ignore[attr-defined]
            hits.add(f.table)  # type: ignore[attr-defined]
        else:
            false.append(f.message)  # type: ignore[attr-defined]
    faulty = [t for t, fault in faults.items() if fault]
    missed = [f"{t} ({faults[t]})" for t in faulty if t not in hits]
    true_findings = len(raised) - len(false)
    precision = true_findings / len(raised) if raised else 1.0
    recall = len(hits) / len(faulty) if faulty else 1.0
    return precision, recall, false, missed
