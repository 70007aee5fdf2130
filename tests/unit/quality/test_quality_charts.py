"""The Quality tab's charts (workspace.quality.charts, through the quality route's payload):
Vega-Lite specs from the stored history that mark the anomalous commit and hold no value of a
PII column."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from workspace.lake import Workspace
from workspace.quality.charts import quality_charts
from workspace.quality.metrics import ColumnMetrics, CommitMetrics
from workspace.quality.monitor_config import MonitorConfig
from workspace.server.quality_ops import table_quality

TABLE = "silver.signups"


def _batch(start: int, n: int, missing: int = 0) -> pd.DataFrame:
    emails = [f"person{i}@example.org" for i in range(start, start + n)]
    return pd.DataFrame(
        {"id": range(start, start + n), "email": [None] * missing + emails[missing:]}
    )


def test_the_volume_drop_is_marked_and_no_pii_value_is_in_the_specs(ws: Workspace) -> None:
    start = 0
    for n in [50] * 6 + [5]:  # the last commit adds a tenth of the usual rows
        ws.write(TABLE, _batch(start, n, missing=2), mode="append")
        start += n
    ws.catalog.annotate(TABLE, columns={"email": {"pii": True}})
    q = table_quality(ws, TABLE)
    charts = {c.id: c.spec for c in q.charts}
    assert set(charts) == {"rows", "nulls"}  # seconds apart: one update, no freshness yet
    rows = charts["rows"]["datasets"]["rows"]
    assert [r["rows_total"] for r in rows] == [50, 100, 150, 200, 250, 300, 305]
    assert [r["anomaly"] for r in rows] == [False] * 6 + [True]
    assert any(f.kind == "volume" for f in q.findings)  # the same commit the detector flags
    assert {r["column"] for r in charts["nulls"]["datasets"]["nulls"]} == {"email"}
    text = json.dumps(charts)
    assert "@example.org" not in text and "person1" not in text
    assert charts["rows"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")


def _commit(i: int, t: dt.datetime, added: int, nulls: float) -> CommitMetrics:
    column = ColumnMetrics(name="phone", type="varchar", kind="text", null_fraction=nulls)
    return CommitMetrics(
        table="silver.t", snapshot_id=i, committed_at=t, operations=["inserted"],
        rows_added=added, rows_deleted=0, rows_total=100 * i, bytes=1,
        table_schema=[("phone", "varchar")], columns=[column],
    )  # fmt: skip


def test_null_jump_and_overdue_marker() -> None:
    t0 = dt.datetime(2026, 1, 1, 2, tzinfo=dt.UTC)
    history = [
        _commit(i + 1, t0 + dt.timedelta(days=i), 100, 0.6 if i == 9 else 0.02) for i in range(10)
    ]
    charts = {c.id: c.spec for c in quality_charts("silver.t", history, MonitorConfig(),
                                                   as_of=t0 + dt.timedelta(days=12))}  # fmt: skip
    flagged = [r["snapshot"] for r in charts["nulls"]["datasets"]["nulls"] if r["anomaly"]]
    assert flagged == [10]
    now = charts["freshness"]["datasets"]["now"][0]
    assert now["overdue"] and round(now["hours"]) == 72
    band = charts["freshness"]["datasets"]["band"][0]
    assert band["expected"] == 24.0 and band["high"] > 24
    fresh = {c.id for c in quality_charts("silver.t", history, MonitorConfig(),
                                          as_of=t0 + dt.timedelta(days=9, hours=3))}  # fmt: skip
    assert fresh == {"rows", "freshness", "nulls"}
