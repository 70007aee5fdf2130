"""History, time travel and parameterised SQL, on both catalogs."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from workspace.lake import Workspace
from workspace.lake.errors import QueryError, SnapshotNotFoundError


def _ids(ws: Workspace, name: str, **kw: object) -> list[int]:
    frame = ws.table(name, **kw).execute()  # type: ignore[arg-type]
    return sorted(int(v) for v in frame["id"])


@pytest.fixture
def versions(lake_ws: Workspace) -> list[int]:
    """gold.t written three times: [1, 2] -> [1, 2, 3] -> [7]; returns the snapshot ids."""
    snaps = [
        lake_ws.write("gold.t", pd.DataFrame({"id": [1, 2]}), message="first load").snapshot_id,
        lake_ws.write("gold.t", pd.DataFrame({"id": [3]})).snapshot_id,
        lake_ws.write("gold.t", pd.DataFrame({"id": [7]}), mode="overwrite").snapshot_id,
    ]
    lake_ws.write("gold.other", pd.DataFrame({"id": [0]}))  # a commit to another table
    return snaps


def test_history_lists_each_commit_with_its_operations(
    lake_ws: Workspace, versions: list[int]
) -> None:
    history = lake_ws.history("gold.t")
    assert [s.snapshot_id for s in history] == versions
    assert history[0].operations == ("created", "inserted")
    assert history[1].operations == ("inserted",)
    assert set(history[2].operations) == {"deleted", "inserted"}
    assert history[0].message == "first load"
    assert history[1].message == "append gold.t"
    assert {s.author for s in history} == {"tester"}
    times = [s.time for s in history]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)


def test_time_travel_by_snapshot_id(lake_ws: Workspace, versions: list[int]) -> None:
    assert [_ids(lake_ws, "gold.t", at=v) for v in versions] == [[1, 2], [1, 2, 3], [7]]
    assert _ids(lake_ws, "gold.t") == [7]
    # a later snapshot that did not touch the table still shows its latest version
    later = lake_ws.history("gold.other")[-1].snapshot_id
    assert later > versions[-1]
    assert _ids(lake_ws, "gold.t", at=later) == [7]


def test_time_travel_by_timestamp(lake_ws: Workspace, versions: list[int]) -> None:
    history = lake_ws.history("gold.t")
    for snap, expected in zip(history, ([1, 2], [1, 2, 3], [7]), strict=True):
        assert _ids(lake_ws, "gold.t", at=snap.time) == expected
        assert _ids(lake_ws, "t", at=snap.time.isoformat()) == expected
    naive_utc = history[1].time.astimezone(dt.UTC).replace(tzinfo=None)
    assert _ids(lake_ws, "gold.t", at=naive_utc) == [1, 2, 3]


def test_overwrite_keeps_history_readable(lake_ws: Workspace, versions: list[int]) -> None:
    lake_ws.write("gold.t", pd.DataFrame({"id": [8]}), mode="overwrite")
    assert _ids(lake_ws, "gold.t") == [8]
    assert _ids(lake_ws, "gold.t", at=versions[0]) == [1, 2]
    lake_ws.drop("gold.t")
    lake_ws.write("gold.t", pd.DataFrame({"id": [99]}))
    assert _ids(lake_ws, "gold.t") == [99]
    assert "dropped" in {op for s in lake_ws.history("gold.t") for op in s.operations}


def test_bad_at_is_refused_clearly(lake_ws: Workspace, versions: list[int]) -> None:
    first = lake_ws.history("gold.t")[0]
    cases: list[tuple[object, str]] = [
        (versions[0] - 1, "no version at snapshot"),
        (0, "no version at snapshot"),
        (first.time - dt.timedelta(days=1), "did not exist yet"),
        ("2001-01-01T00:00:00+00:00", "did not exist yet"),
        ("last tuesday", "neither a snapshot id nor an ISO timestamp"),
        (1.5, "must be a snapshot id"),
        (True, "must be a snapshot id"),
    ]
    for at, message in cases:
        with pytest.raises(SnapshotNotFoundError, match=message):
            lake_ws.table("gold.t", at=at)  # type: ignore[arg-type]


def test_sql_binds_parameters(lake_ws: Workspace) -> None:
    lake_ws.write("silver.people", pd.DataFrame({"id": [1, 2, 3], "name": ["ada", "bob", "cy"]}))
    named = lake_ws.sql("SELECT id FROM silver.people WHERE id >= $lo ORDER BY id", {"lo": 2})
    assert named.execute()["id"].tolist() == [2, 3]
    positional = lake_ws.sql("SELECT id FROM silver.people WHERE name = ?", ["bob"])
    assert positional.execute()["id"].tolist() == [2]
    with pytest.raises(QueryError, match=r"(?i)parameter"):
        lake_ws.sql("SELECT id FROM silver.people WHERE id = $missing", {"other": 1})


def test_sql_injection_through_a_parameter_does_nothing(lake_ws: Workspace) -> None:
    lake_ws.write("silver.people", pd.DataFrame({"id": [1, 2], "name": ["ada", "bob"]}))
    before = lake_ws.history("silver.people")
    attacks = [
        "ada'; DROP TABLE silver.people; --",
        "x' OR '1'='1",
        "'); DELETE FROM silver.people; --",
    ]
    for attack in attacks:
        result = lake_ws.sql("SELECT * FROM silver.people WHERE name = $n", {"n": attack})
        assert result.count().execute() == 0
    assert lake_ws.table("silver.people").count().execute() == 2
    assert lake_ws.history("silver.people") == before
    assert lake_ws.tables() == ["silver.people"]


def test_sql_errors_are_query_errors(lake_ws: Workspace) -> None:
    with pytest.raises(QueryError, match="no_such_table"):
        lake_ws.sql("SELECT * FROM no_such_table")
    with pytest.raises(QueryError):
        lake_ws.sql("SELEC 1", {"x": 1})
