"""The catalog index behind ``Catalog.page``/``layers``/``list``/``search``, and histograms."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

import workspace
from workspace.lake import Workspace, WorkspaceError
from workspace.lake import catalog_index as ci
from workspace.lake import profile as prof


@pytest.fixture
def lake(ws: Workspace) -> Workspace:
    ws.write(
        "silver.customers",
        pd.DataFrame({"customer_key": [1, 2], "phone": ["1", "2"], "segment": ["a", "b"]}),
    )
    ws.write("silver.orders", pd.DataFrame({"order_key": [1], "customer_key": [1]}))
    ws.write("gold.revenue", pd.DataFrame({"nation": ["FR"], "revenue": [1.5]}))
    ws.write("bronze.raw_customers", pd.DataFrame({"c_phone": ["x"]}))
    ws.write("scratch", pd.DataFrame({"x": [1]}))
    ws.catalog.annotate(
        "gold.revenue",
        tags=["finance"],
        description="Revenue per customer",
        columns={"nation": {"description": "Customer nation"}},
    )
    return ws


def test_layers_in_order_with_counts_and_descriptions(lake: Workspace) -> None:
    layers = lake.catalog.layers()
    assert [(x.name, x.tables) for x in layers] == [
        ("bronze", 1),
        ("silver", 2),
        ("gold", 1),
        ("sandbox", 1),
    ]
    assert [x.description for x in layers] == [
        "Raw data as loaded",
        "Cleaned, conformed",
        "Business-level marts",
        "Your private tables",
    ]


def test_page_without_query_is_sorted_by_name_and_paginated(lake: Workspace) -> None:
    page = lake.catalog.page()
    names = [t.name for t in page.tables]
    assert names == sorted(names) and page.total == 5 and page.query is None
    assert all(t.matched == [] and t.score == 0 for t in page.tables)
    second = lake.catalog.page(offset=2, limit=2)
    assert [t.name for t in second.tables] == names[2:4]
    assert (second.total, second.offset, second.limit) == (5, 2, 2)
    assert lake.catalog.page(offset=10).tables == []
    assert lake.catalog.page(limit=0).total == 5
    silver = lake.catalog.page(layer="silver")
    assert [t.name for t in silver.tables] == ["silver.customers", "silver.orders"]
    revenue = next(t for t in page.tables if t.name == "gold.revenue")
    assert (revenue.layer, revenue.tags, revenue.description) == (
        "gold",
        ["finance"],
        "Revenue per customer",
    )
    assert revenue.model_dump(mode="json")["classification"] == "internal"


def test_page_with_query_ranks_like_search(lake: Workspace) -> None:
    page = lake.catalog.page(query="customer")
    hits = lake.catalog.search("customer")
    assert [(t.name, t.matched, t.score) for t in page.tables] == [
        (h.name, h.matched, h.score) for h in hits
    ]
    # name (8) + column customer_key (1) beats name alone
    assert [t.name for t in page.tables][:2] == ["silver.customers", "bronze.raw_customers"]
    assert page.total == 4 and page.query == "customer"
    revenue = next(t for t in page.tables if t.name == "gold.revenue")
    assert revenue.matched == ["description", "column nation"]
    assert [t.name for t in lake.catalog.page(query="CUSTOMER phone").tables] == [
        "silver.customers",
        "bronze.raw_customers",
    ]
    assert [t.name for t in lake.catalog.page(layer="silver", query="customer").tables] == [
        "silver.customers",
        "silver.orders",
    ]
    assert lake.catalog.page(query="phone finance").total == 0
    assert lake.catalog.page(query="   ").total == 5  # blank text: no search
    assert lake.catalog.page(query="customer", offset=1, limit=1).tables[0].name == (hits[1].name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"offset": -1}, "offset must be an integer of 0 or more"),
        ({"limit": -1}, "limit must be an integer from 0 to 1000"),
        ({"limit": 1001}, "limit must be an integer from 0 to 1000, not 1001"),
        ({"limit": "10"}, "limit must be an integer"),
        ({"offset": True}, "offset must be an integer"),
        ({"layer": "platinum"}, "Unknown layer 'platinum'"),
    ],
)
def test_page_rejects_bad_arguments(lake: Workspace, kwargs: dict, message: str) -> None:
    with pytest.raises(WorkspaceError, match=message):
        lake.catalog.page(**kwargs)


def test_list_and_search_keep_their_behaviour(lake: Workspace) -> None:
    assert [t.name for t in lake.catalog.list()] == [
        "bronze.raw_customers",
        "gold.revenue",
        "silver.customers",
        "silver.orders",
        "sandbox.scratch",
    ]
    assert [t.name for t in lake.catalog.list(like="cust%")] == ["silver.customers"]
    assert [t.name for t in lake.catalog.list(like="_evenue")] == ["gold.revenue"]
    with pytest.raises(WorkspaceError, match="empty"):
        lake.catalog.search(" ")


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("cust", "raw_CUSTOMERS", True),
        ("cust%", "raw_customers", False),
        ("%ers", "raw_customers", True),
        ("r_w%", "raw_customers", True),
        ("a.b", "axb", False),
        ("(x)", "a(x)b", True),
    ],
)
def test_like_regex_matches_ilike(pattern: str, name: str, expected: bool) -> None:
    assert bool(ci.like_regex(pattern).fullmatch(name)) is expected


def test_views_are_listed_with_their_columns(lake: Workspace) -> None:
    lake.con.execute(
        "CREATE VIEW lake.gold.big_revenue AS SELECT nation AS big_nation FROM lake.gold.revenue"
    )
    assert "gold.big_revenue" in [t.name for t in lake.catalog.list(layer="gold")]
    assert lake.catalog.search("big_nation")[0].matched == ["column big_nation"]


def test_index_follows_commits_of_another_connection(lake: Workspace) -> None:
    other = workspace.connect(lake.settings.home, user=lake.settings.user)
    try:
        assert lake.catalog.page(layer="gold").total == 1
        other.write("gold.margin", pd.DataFrame({"m": [1]}))
        assert [t.name for t in lake.catalog.page(layer="gold").tables] == [
            "gold.margin",
            "gold.revenue",
        ]
        other.catalog.annotate("gold.margin", tags=["kpi"])
        assert [t.name for t in lake.catalog.page(query="kpi").tables] == ["gold.margin"]
        other.drop("gold.revenue")
        assert [t.name for t in lake.catalog.page(layer="gold").tables] == ["gold.margin"]
        other.write("scratch2", pd.DataFrame({"y": [1]}))  # the shared sandbox of this user
        assert lake.catalog.layers()[3].tables == 2
    finally:
        other.close()


def test_cache_is_reused_until_a_commit(lake: Workspace) -> None:
    first = lake.catalog.page()
    reader = lake.catalog._reader
    assert reader is not None
    index = reader.index()
    assert reader.index() is index  # nothing committed: the same index object
    lake.write("gold.revenue", pd.DataFrame({"nation": ["DE"], "revenue": [2.0]}))
    assert reader.index() is not index
    assert lake.catalog.page() == first  # data changes do not change the listing


# -- histograms -----------------------------------------------------------------------------
@pytest.fixture
def typed(ws: Workspace) -> Workspace:
    ws.write(
        "silver.typed",
        pd.DataFrame(
            {
                "small": pd.array([1, 2, 3, 3, None], dtype="Int64"),
                "wide": pd.array([0, 1000, 500, 999, 1], dtype="Int64"),
                "real": [0.0, 0.25, 1.0, float("nan"), None],
                "day": [dt.date(2024, 1, d) for d in (1, 2, 3, 31, 31)],
                "at": pd.to_datetime(["2024-01-01", "2024-01-02", None, "2024-01-03", None]),
                "text": list("abcde"),
            }
        ),
    )
    ws.con.execute("CREATE TABLE sandbox.main.empty (x INTEGER, d DATE)")
    return ws


def test_histograms_of_numbers_dates_and_timestamps(typed: Workspace) -> None:
    cols = {c.name: c for c in typed.catalog.profile("silver.typed").columns}
    small = cols["small"].histogram
    assert small is not None
    assert [(b.low, b.high, b.count) for b in small] == [
        ("1", "1", 1),
        ("2", "2", 1),
        ("3", "3", 2),
    ]
    wide = cols["wide"].histogram
    assert wide is not None and len(wide) == 12
    assert (wide[0].low, wide[-1].high, sum(b.count for b in wide)) == ("0", "1000", 5)
    assert wide[0].count == 2 and wide[-1].count == 2
    real = cols["real"].histogram
    assert real is not None and len(real) == 12
    assert (real[0].low, real[-1].high) == ("0.0", "1.0")
    assert sum(b.count for b in real) == 3  # NULL and NaN are not counted
    day = cols["day"].histogram
    assert day is not None and len(day) == 12
    assert (day[0].low, day[-1].high) == ("2024-01-01", "2024-01-31")
    assert sum(b.count for b in day) == 5 and day[-1].count == 2
    at = cols["at"].histogram
    assert at is not None and sum(b.count for b in at) == 3
    assert at[0].low.startswith("2024-01-01") and at[-1].high.startswith("2024-01-03")
    assert cols["text"].histogram is None


def test_histograms_of_an_empty_table_are_none(typed: Workspace) -> None:
    p = typed.catalog.profile("sandbox.empty")
    assert [c.histogram for c in p.columns] == [None, None]


def test_histograms_survive_the_cache_and_old_files_are_recomputed(typed: Workspace) -> None:
    first = typed.catalog.profile("silver.typed")
    again = typed.catalog.profile("silver.typed")
    assert again.cached and again.columns == first.columns
    # a cache file written before histograms existed still loads, without them
    old = json.loads(first.model_dump_json())
    for col in old["columns"]:
        del col["histogram"]
    assert prof.TableProfile.model_validate(old).columns[0].histogram is None
    # ...but is not used: the cache file name carries the format version
    path = prof.cache_file(
        typed.settings.cache_path, typed.resolve("silver.typed"), first.snapshot_id, "tester"
    )
    assert path.name.endswith(f".v{prof.CACHE_FORMAT}.json")
    legacy = path.with_name(path.name.replace(f".v{prof.CACHE_FORMAT}", ""))
    legacy.write_text(json.dumps(old))
    path.unlink()
    fresh = typed.catalog.profile("silver.typed")
    assert not fresh.cached and fresh.columns[0].histogram is not None


# -- incremental refresh ------------------------------------------------------------------
def _parts(ws: Workspace) -> dict[str, ci.CatalogPart]:
    reader = ws.catalog._reader
    assert reader is not None
    return {p.alias: p for p in reader.index().parts}


def test_refresh_after_a_commit_reads_only_the_changes(lake: Workspace) -> None:
    lake.catalog.page()
    lake.con.execute("ALTER TABLE lake.silver.orders RENAME TO purchases")
    lake.con.execute("ALTER TABLE lake.gold.revenue RENAME COLUMN nation TO country")
    lake.catalog.annotate("silver.purchases", tags=["sales"])
    lake.con.execute("INSERT INTO lake.silver.customers VALUES (3, '3', 'c')")
    part = _parts(lake)["lake"]
    assert part.how == "incremental"
    fresh = ci.load_part(lake.con, "lake", part.token)
    got = {e.display: (e.columns, e.annotation) for e in part.entries}
    assert got == {e.display: (e.columns, e.annotation) for e in fresh.entries}
    assert got["silver.purchases"][1].tags == ["sales"]
    assert got["gold.revenue"][0] == ("country", "revenue")
    assert [t.name for t in lake.catalog.page(query="sales").tables] == ["silver.purchases"]


def test_expired_snapshots_force_a_full_rebuild(lake: Workspace) -> None:
    lake.catalog.page()
    lake.drop("silver.orders")
    lake.write("gold.late", pd.DataFrame({"x": [1]}))
    # forgets the snapshots since the cached one: the rows of the dropped table go too
    lake.con.execute("CALL ducklake_expire_snapshots('lake', older_than => now())")
    part = _parts(lake)["lake"]
    assert part.how == "full"
    assert "silver.orders" not in [e.display for e in part.entries]
    assert "gold.late" in [e.display for e in part.entries]


def test_many_changes_force_a_full_rebuild(
    lake: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake.catalog.page()
    monkeypatch.setattr(ci, "REFRESH_MAX_ROWS", 3)
    lake.con.execute("CREATE TABLE lake.gold.wide (a INTEGER, b INTEGER, c INTEGER)")
    assert _parts(lake)["lake"].how == "full"
    lake.con.execute("CREATE TABLE lake.gold.narrow (a INTEGER)")
    assert _parts(lake)["lake"].how == "incremental"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("inserted_into_table:5", [("inserted_into_table", "5")]),
        (
            'created_table:"gold"."a,b:1",dropped_table:8',
            [("created_table", '"gold"."a,b:1"'), ("dropped_table", "8")],
        ),
        ('created_schema:"we""ird"', [("created_schema", '"we""ird"')]),
        ("no colon here", None),
    ],
)
def test_snapshot_changes_are_parsed(text: str, expected: list | None) -> None:
    assert ci._changes(text) == expected
