"""The catalog API on a real (embedded) lake: list, search, describe, preview, profile, annotate."""

from __future__ import annotations

import pandas as pd
import pytest

import workspace
from workspace.lake import Workspace, WorkspaceError
from workspace.lake.errors import TableNotFoundError


@pytest.fixture
def lake(ws: Workspace) -> Workspace:
    ws.write(
        "silver.customers",
        pd.DataFrame(
            {
                "customer_key": [1, 2, 3, 4],
                "phone": ["555-1", "555-2", None, "555-4"],
                "segment": ["a", "b", "b", "b"],
                "balance": [10.0, 20.0, 30.0, None],
            }
        ),
    )
    ws.write("gold.revenue", pd.DataFrame({"nation": ["FR", "DE"], "revenue": [1.5, 2.5]}))
    ws.write("scratch", pd.DataFrame({"x": [1]}))
    return ws


def test_list_all_layers_and_filters(lake: Workspace) -> None:
    names = [t.name for t in lake.catalog.list()]
    assert names == ["gold.revenue", "silver.customers", "sandbox.scratch"]
    assert [t.name for t in lake.catalog.list(layer="sandbox")] == ["sandbox.scratch"]
    assert [t.name for t in lake.catalog.list(like="cust")] == ["silver.customers"]
    assert [t.name for t in lake.catalog.list(like="rev%")] == ["gold.revenue"]
    with pytest.raises(WorkspaceError, match="Unknown layer 'platinum'"):
        lake.catalog.list(layer="platinum")


def test_metadata_tables_are_hidden(lake: Workspace) -> None:
    lake.catalog.annotate("gold.revenue", owner="finance")
    assert all("_workspace" not in t.name for t in lake.catalog.list())


def test_annotate_is_durable_and_merges(lake: Workspace) -> None:
    lake.catalog.annotate(
        "silver.customers",
        owner="crm",
        description="Customers, cleaned",
        tags=["CRM", "customers", "crm"],
        classification="confidential",
        columns={"phone": {"description": "Phone number", "pii": True}},
    )
    lake.catalog.annotate("silver.customers", description="One row per customer")
    settings = lake.settings
    lake.close()
    again = workspace.connect(settings.home, user=settings.user)
    d = again.catalog.describe("customers")
    assert (d.owner, d.description, d.classification) == (
        "crm",
        "One row per customer",
        "confidential",
    )
    assert d.tags == ["crm", "customers"]
    assert d.pii_columns == ["phone"]
    assert [c.description for c in d.columns if c.name == "phone"] == ["Phone number"]
    again.close()


def test_annotate_rejects_bad_input_without_changing_anything(lake: Workspace) -> None:
    lake.catalog.annotate("gold.revenue", classification="public")
    with pytest.raises(WorkspaceError, match="classification"):
        lake.catalog.annotate("gold.revenue", classification="top-secret")
    with pytest.raises(WorkspaceError, match="no column"):
        lake.catalog.annotate("gold.revenue", columns={"nope": {"pii": True}})
    assert lake.catalog.describe("gold.revenue").classification == "public"


def test_describe_reports_size_rows_snapshots_and_owner(lake: Workspace) -> None:
    lake.write("gold.revenue", pd.DataFrame({"nation": ["IT"], "revenue": [0.5]}))
    d = lake.catalog.describe("gold.revenue")
    assert d.row_count == 3
    assert d.size_bytes > 0 and d.file_count == 2
    assert [s.operations for s in d.snapshots] == [("created", "inserted"), ("inserted",)]
    assert d.owner == "tester"  # the creator, until an owner is annotated
    assert d.last_modified is not None and d.created is not None
    assert d.last_modified >= d.created
    assert [(c.name, c.type) for c in d.columns] == [("nation", "VARCHAR"), ("revenue", "DOUBLE")]


def test_search_ranks_names_tags_descriptions_and_columns(lake: Workspace) -> None:
    lake.catalog.annotate("gold.revenue", tags=["finance"], description="Revenue per customer")
    hits = lake.catalog.search("customer")
    assert [h.name for h in hits] == ["silver.customers", "gold.revenue"]
    assert hits[0].matched[0] == "name"
    assert "description" in hits[1].matched
    assert [h.name for h in lake.catalog.search("finance")] == ["gold.revenue"]
    assert [h.name for h in lake.catalog.search("PHONE")] == ["silver.customers"]
    assert lake.catalog.search("phone finance") == []
    with pytest.raises(WorkspaceError, match="empty"):
        lake.catalog.search("   ")


def test_preview_reads_only_the_limit(lake: Workspace) -> None:
    df = lake.catalog.preview("customers", limit=2)
    assert list(df.columns) == ["customer_key", "phone", "segment", "balance"]
    assert len(df) == 2
    with pytest.raises(WorkspaceError, match="limit"):
        lake.catalog.preview("customers", limit=-1)
    with pytest.raises(TableNotFoundError):
        lake.catalog.preview("nope")


def test_profile_statistics(lake: Workspace) -> None:
    p = lake.catalog.profile("silver.customers")
    assert p.row_count == 4 and not p.cached
    cols = {c.name: c for c in p.columns}
    assert cols["phone"].null_pct == pytest.approx(25.0)
    assert cols["balance"].min == "10.0" and cols["balance"].max == "30.0"
    assert float(cols["balance"].mean or 0) == pytest.approx(20.0)
    assert cols["segment"].top_values[0] == ("b", 3)
    assert cols["segment"].approx_distinct == 2


def test_profile_is_cached_per_snapshot(lake: Workspace) -> None:
    first = lake.catalog.profile("gold.revenue")
    assert lake.catalog.profile("gold.revenue").cached
    # another table's commit does not invalidate this table's profile
    lake.write(
        "silver.customers",
        pd.DataFrame({"customer_key": [9], "phone": ["x"], "segment": ["c"], "balance": [1.0]}),
    )
    assert lake.catalog.profile("gold.revenue").cached
    lake.write("gold.revenue", pd.DataFrame({"nation": ["IT"], "revenue": [9.0]}))
    after = lake.catalog.profile("gold.revenue")
    assert not after.cached
    assert after.snapshot_id > first.snapshot_id and after.row_count == 3
    assert lake.catalog.profile("gold.revenue", refresh=True).cached is False


def test_sql_errors_are_clean_and_point_at_the_users_sql(ws: Workspace) -> None:
    from workspace.lake.errors import QueryError

    with pytest.raises(QueryError) as bad_syntax:
        ws.sql("selec 1")
    text = str(bad_syntax.value)
    assert "DESCRIBE" not in text and "LINE 1: selec 1\n              ^" in text
    with pytest.raises(QueryError, match=r"ws\.catalog\.list\(\)") as unknown:
        ws.sql("SELECT * FROM nope")
    assert "pg_" not in str(unknown.value)
