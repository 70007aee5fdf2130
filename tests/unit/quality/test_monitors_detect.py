"""Each detector fires on its injected fault and stays silent on clean tables.

One small lake holds a daily history (8 days, backdated in the catalog) of one table per
fault and clean controls (tests/support/quality_corpus.py); the monitors read it from the
lake's snapshots alone. Seasonality and thresholds are checked on hand-made histories.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.quality_corpus import EXPECTED, TableSpec, build, score

import workspace
from workspace.lake import Workspace
from workspace.lake.errors import WorkspaceError
from workspace.quality.detect import evaluate, volume
from workspace.quality.freshness import judge, learn_freshness
from workspace.quality.metrics import CommitMetrics
from workspace.quality.monitor_config import MonitorConfig, config_path
from workspace.quality.scan import scan, status

FAULTS = list(EXPECTED)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, dt.datetime]]:
    home = tmp_path_factory.mktemp("corpus") / "home"
    ws = workspace.connect(home, user="tester", catalog=f"sqlite:///{home}/lake/catalog.sqlite")
    specs = [TableSpec(f"silver.{f}", f, rows=400) for f in FAULTS]
    specs += [TableSpec("silver.clean_a", rows=300), TableSpec("silver.clean_b", rows=2000)]
    as_of, _ = build(ws, specs, days=8)
    yield ws, as_of
    ws.close()


def test_each_fault_is_found_and_clean_tables_stay_quiet(
    corpus: tuple[Workspace, dt.datetime],
) -> None:
    ws, as_of = corpus
    result = scan(ws, as_of=as_of)
    faults = {t: (t.split(".")[1] if "clean" not in t else None) for t in result.tables}
    precision, recall, false, missed = score(result.findings, faults)
    assert (false, missed) == ([], [])
    assert (precision, recall) == (1.0, 1.0)
    found = {(f.table, f.kind, f.column) for f in result.findings if f.severity == "warn"}
    for fault, (kind, column) in EXPECTED.items():
        assert (f"silver.{fault}", kind, column) in found, fault
    health = {h.table: h.health for h in status(ws, as_of=as_of)}
    assert health["silver.stale"] == "stale"
    assert health["silver.clean_a"] == health["silver.clean_b"] == "healthy"
    assert health["silver.shift"] == "warning"


def test_freshness_is_judged_at_as_of(corpus: tuple[Workspace, dt.datetime]) -> None:
    ws, as_of = corpus
    kinds = {f.kind for f in scan(ws, ["silver.clean_a"], as_of=as_of).findings}
    assert "freshness" not in kinds
    later = scan(ws, ["silver.clean_a"], as_of=as_of + dt.timedelta(days=3)).findings
    (late,) = [f for f in later if f.kind == "freshness"]
    assert "stale" in late.message and "every 24" in late.message


def test_thresholds_are_tuned_per_table(corpus: tuple[Workspace, dt.datetime]) -> None:
    ws, as_of = corpus
    path = config_path(ws.settings)
    path.write_text("tables:\n  silver.volume_drop:\n    volume_z: 1000\n")
    try:
        kinds = {f.kind for f in scan(ws, ["silver.volume_drop"], as_of=as_of).findings}
        assert "volume" not in kinds
        path.write_text("tables:\n  silver.volume_drop:\n    volume_zz: 3\n")
        with pytest.raises(
            WorkspaceError, match=r"monitors.yaml, field tables.silver.volume_drop.volume_zz"
        ):
            scan(ws, ["silver.volume_drop"], as_of=as_of)
    finally:
        path.unlink()


def test_too_little_history_says_so(ws: Workspace, tmp_path: Path) -> None:
    import pandas as pd

    for i in range(3):
        ws.write("gold.young", pd.DataFrame({"x": [i] * 10}))
    found = scan(ws, ["gold.young"]).findings
    assert [(f.kind, f.severity) for f in found] == [("volume", "info")]
    assert "not enough history (3 of 5 commits)" in found[0].message
    (row,) = [h for h in status(ws) if h.table == "gold.young"]
    assert (row.health, row.commits) == ("no_history", 3)


# -- hand-made histories ---------------------------------------------------------------------
def _commit(i: int, when: dt.datetime, rows: int) -> CommitMetrics:
    return CommitMetrics(
        table="gold.t", snapshot_id=i, committed_at=when, operations=["inserted"],
        rows_added=rows, rows_deleted=0, rows_total=rows * i, bytes=0,
        table_schema=[("x", "int64")],
    )  # fmt: skip


def test_weekday_effects_are_learned() -> None:
    start = dt.datetime(2026, 1, 5, 2, tzinfo=dt.UTC)  # a Monday
    days = [start + dt.timedelta(days=d) for d in range(33) if (start.weekday() + d) % 7 < 5]
    mondays = days[:21]  # the last one is a Monday
    history = [_commit(i, t, 3000 if t.weekday() == 0 else 1000) for i, t in enumerate(mondays, 1)]
    config = MonitorConfig()
    assert volume("gold.t", history, config) == []  # a Monday peak is usual
    flat = MonitorConfig(seasonality=False)
    assert [f.kind for f in volume("gold.t", history, flat)] == ["volume"]
    model = learn_freshness(days, config)  # the last one is a Friday
    assert model is not None and model.inactive_weekdays == (5, 6)
    sunday = days[-1] + dt.timedelta(days=2)  # Friday's commit, judged on Sunday
    assert judge("gold.t", model, sunday) is None
    assert judge("gold.t", model, sunday + dt.timedelta(days=1, hours=12)) is not None


def test_schema_change_is_reported_with_little_history() -> None:
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first, second = _commit(1, t0, 10), _commit(2, t0 + dt.timedelta(days=1), 10)
    second.table_schema = [("x", "double"), ("y", "varchar")]
    found = evaluate("gold.t", [first, second], MonitorConfig()).findings
    assert {(f.column, f.severity) for f in found if f.kind == "schema"} == {
        ("x", "warn"),
        ("y", "info"),
    }
