"""The metrics history: filled in from the lake's snapshots (raw SQL commits included),
kept in the store, profiled per commit, cheap on big commits, and never holding PII values."""

from __future__ import annotations

import os
import sqlite3
import stat

import pandas as pd
import pytest

from workspace.lake import Workspace
from workspace.lake.errors import WorkspaceError
from workspace.quality import metrics
from workspace.quality.history import history_frame, monitoring, table_history
from workspace.quality.store import store_dir


def test_history_is_filled_from_snapshots_including_raw_sql(lake_ws: Workspace) -> None:
    ws = lake_ws
    ws.write("silver.orders", pd.DataFrame({"id": [1, 2, 3], "amount": [1.0, None, 3.0]}))
    ws.write("silver.orders", pd.DataFrame({"id": [4, 5], "amount": [5.0, 6.0]}))
    ws.con.execute("INSERT INTO lake.silver.orders VALUES (6, NULL), (7, NULL)")  # no ws.write
    ws.con.execute("DELETE FROM lake.silver.orders WHERE id <= 2")
    ws.write("silver.orders", pd.DataFrame({"id": [9], "amount": [9.0]}), mode="overwrite")

    history = table_history(ws, "silver.orders")
    rows = [(c.operations, c.rows_added, c.rows_deleted, c.rows_total) for c in history]
    assert rows == [
        (["created", "inserted"], 3, 0, 3),
        (["inserted"], 2, 0, 5),
        (["inserted"], 2, 0, 7),
        (["deleted"], 0, 2, 5),
        (["inserted", "deleted"], 1, 5, 1),
    ]
    assert [c.snapshot_id for c in history] == [s.snapshot_id for s in ws.history("orders")]
    raw = history[2]
    assert raw.author is None and raw.column("amount").null_fraction == 1.0  # type: ignore[union-attr]
    first = history[0].column("amount")
    assert first is not None
    assert (first.null_fraction, first.min, first.max, first.mean) == (1 / 3, 1.0, 3.0, 2.0)
    assert history[3].columns == []  # a delete adds no rows to profile
    assert all(c.bytes > 0 for c in history)

    stored = store_dir(ws.settings) / "history.sqlite"
    with sqlite3.connect(stored) as con:
        assert con.execute("SELECT count(*) FROM commits").fetchone() == (5,)
    frame = history_frame(history)
    assert {"snapshot_id", "rows_added", "null_fraction"} <= set(frame.columns)


def test_pii_columns_keep_no_values(ws: Workspace) -> None:
    people = pd.DataFrame(
        {
            "tier": ["gold", "silver", "gold", "bronze"],
            "contact": ["a@x.org", "b@x.org", "a@x.org", "b@x.org"],  # low-cardinality e-mails
            "salary": [10.0, 20.0, 30.0, 40.0],
        }
    )
    ws.write("silver.people", people)
    ws.catalog.annotate("silver.people", columns={"salary": {"pii": True}})
    ws.write("silver.people", people)
    first, second = table_history(ws, "silver.people")
    assert first.column("tier").top_values == [("gold", 0.5), ("bronze", 0.25), ("silver", 0.25)]  # type: ignore[union-attr]
    assert first.column("contact").top_values is None  # type: ignore[union-attr]  # looks personal
    salary = second.column("salary")
    assert salary is not None and salary.pii
    assert (salary.min, salary.max, salary.mean, salary.quantiles) == (None, None, None, None)
    assert salary.null_fraction == 0.0
    dump = second.model_dump_json()
    assert "a@x.org" not in dump and "40.0" not in dump


def test_big_commits_are_profiled_on_a_block(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metrics, "SAMPLE_ABOVE_ROWS", 1000)
    monkeypatch.setattr(metrics, "SAMPLE_TARGET_ROWS", 500)
    ws.write("bronze.events", pd.DataFrame({"id": range(5000), "v": [i % 7 for i in range(5000)]}))
    (commit,) = table_history(ws, "bronze.events")
    ids = commit.column("id")
    assert commit.sample_rows == 500 and commit.rows_added == 5000
    assert ids is not None and (ids.min, ids.max) == (0.0, 4999.0)  # exact, from file stats
    assert ids.quantiles is not None and 2000 <= ids.quantiles[0] <= ids.quantiles[-1] <= 3000
    assert 4000 <= (ids.distinct or 0) <= 6000  # near-unique: scaled to the commit
    assert commit.column("v").distinct == 7  # type: ignore[union-attr]


def test_only_shared_tables_are_monitored(ws: Workspace) -> None:
    ws.write("scratch", pd.DataFrame({"x": [1]}))
    with pytest.raises(WorkspaceError, match=r"sandbox\.scratch is in your sandbox"):
        table_history(ws, "scratch")


def test_a_store_of_another_lake_is_reset(ws: Workspace) -> None:
    ws.write("gold.t", pd.DataFrame({"x": [1]}))
    table_history(ws, "gold.t")
    stored = store_dir(ws.settings) / "history.sqlite"
    with sqlite3.connect(stored) as con:
        con.execute("UPDATE meta SET value = 'another-lake' WHERE key = 'lake'")
        con.execute("UPDATE commits SET rows_added = 99")
    with monitoring(ws) as store:
        assert store.latest_snapshots() == {}
    assert [c.rows_added for c in table_history(ws, "gold.t")] == [1]


def test_the_shared_store_is_readable_by_every_user(ws: Workspace) -> None:
    old = os.umask(0o077)  # as the services run
    try:
        ws.write("gold.t", pd.DataFrame({"x": [1]}))  # the monitor hook creates the store
    finally:
        os.umask(old)
    folder = store_dir(ws.settings)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "history.sqlite").stat().st_mode) == 0o644
