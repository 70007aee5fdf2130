"""The catalog routes of the server extension on a real Jupyter server and a real lake."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from server_client import USER, Fetch, call, jp_server_config  # noqa: F401 - override
from tornado.httpclient import HTTPClientError

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


async def test_every_route_needs_a_logged_in_user(
    jp_fetch: Fetch, server_lake: dict[str, int]
) -> None:
    for path in ("catalog/layers", "catalog/tables", "catalog/tables/gold.sales/preview"):
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch("workspace", "api", *path.split("/"), headers={"Authorization": ""})
        assert err.value.code == 403, path


async def test_layers_in_order_with_counts(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    status, body = await call(jp_fetch, "GET", "catalog/layers")
    assert status == 200
    assert body["exists"] is True and body["user"] == USER and body["message"] is None
    counts = [(layer["name"], layer["tables"]) for layer in body["layers"]]
    assert counts == [("bronze", 1), ("silver", 12), ("gold", 2), ("sandbox", 0)]


async def test_no_lake_yet_is_not_an_error_and_creates_nothing(
    jp_fetch: Fetch, server_home: Path
) -> None:
    status, body = await call(jp_fetch, "GET", "catalog/layers")
    assert status == 200 and body["exists"] is False and body["layers"] == []
    assert "No lake yet" in body["message"] and "workspace demo" in body["message"]
    status, body = await call(jp_fetch, "GET", "catalog/tables")
    assert status == 404 and "No lake yet" in body["error"]
    assert not server_home.exists()


async def test_tables_are_paged_by_name(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    status, first = await call(jp_fetch, "GET", "catalog/tables", limit=5)
    assert status == 200 and first["total"] == 15 and first["query"] is None
    names = [t["name"] for t in first["tables"]]
    assert names == sorted(names) and len(names) == 5
    _, rest = await call(jp_fetch, "GET", "catalog/tables", offset=5, limit=100)
    assert len(rest["tables"]) == 10
    assert not set(names) & {t["name"] for t in rest["tables"]}
    _, silver = await call(jp_fetch, "GET", "catalog/tables", layer="silver", limit=3, offset=10)
    assert silver["total"] == 12 and [t["name"] for t in silver["tables"]] == [
        "silver.part_10",
        "silver.part_11",
    ]


async def test_search_every_word_must_match(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    status, body = await call(jp_fetch, "GET", "catalog/tables", q="phone")
    assert status == 200 and body["query"] == "phone" and body["total"] == 1
    hit = body["tables"][0]
    assert hit["name"] == "bronze.customers" and "column c_phone" in hit["matched"]
    assert hit["owner"] == "crm-team" and hit["classification"] == "confidential"
    assert "pii" in hit["tags"] and hit["score"] > 0
    _, none = await call(jp_fetch, "GET", "catalog/tables", q="phone sales")
    assert none["total"] == 0 and none["tables"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"offset": -1}, "offset"),
     ({"layer": "platinum"}, "layer"), ({"limit": "ten"}, "limit")],
)  # fmt: skip
async def test_bad_paging_is_a_400_naming_the_field(
    jp_fetch: Fetch, server_lake: dict[str, int], params: dict[str, object], field: str
) -> None:
    status, body = await call(jp_fetch, "GET", "catalog/tables", **params)
    assert status == 400 and body["status"] == 400
    assert [e["field"] for e in body["errors"]] == [field]


async def test_detail_has_description_snippets_and_writers(
    jp_fetch: Fetch, server_lake: dict[str, int]
) -> None:
    status, d = await call(jp_fetch, "GET", "catalog/tables/bronze.customers")
    assert status == 200
    assert d["name"] == "bronze.customers" and d["layer"] == "bronze" and d["row_count"] == 3
    cols = {c["name"]: c for c in d["columns"]}
    assert cols["c_phone"]["pii"] is True and cols["c_phone"]["description"] == "Phone number"
    assert d["description"] == "Customers as loaded from the CRM" and d["file_count"] >= 1
    assert d["snapshots"] and d["writers"] == []
    assert d["snippets"]["sql"] == "SELECT * FROM bronze.customers LIMIT 100"
    assert 't = ws.table("bronze.customers")' in d["snippets"]["ibis"]


async def test_detail_at_a_snapshot(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    _, now = await call(jp_fetch, "GET", "catalog/tables/gold.sales")
    _, then = await call(jp_fetch, "GET", "catalog/tables/gold.sales", at=server_lake["v1"])
    assert (now["row_count"], then["row_count"]) == (5, 3) and then["at"] == server_lake["v1"]
    status, body = await call(jp_fetch, "GET", "catalog/tables/gold.sales", at=0)
    assert status == 404 and "no version at snapshot 0" in body["error"]


async def test_preview_pages_are_json_safe(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    status, page = await call(jp_fetch, "GET", "catalog/tables/gold.sales/preview", limit=2)
    assert status == 200 and page["total"] == 5 and page["snapshot_id"] == server_lake["v2"]
    assert [c["name"] for c in page["columns"]] == ["day", "amount", "ratio", "blob", "at"]
    assert page["rows"][0][:4] == ["2024-01-01", 1.5, 0.5, "<2 bytes>"]
    assert page["rows"][0][4].startswith("2024-01-01T")
    assert page["rows"][1][2] is None  # NaN
    _, last = await call(jp_fetch, "GET", "catalog/tables/gold.sales/preview", offset=4, limit=2)
    assert [r[0] for r in last["rows"]] == ["2024-01-05"] and last["offset"] == 4


async def test_preview_time_travel(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    path = "catalog/tables/gold.sales/preview"
    _, old = await call(jp_fetch, "GET", path, at=server_lake["v1"], limit=500)
    assert old["total"] == 3 and old["snapshot_id"] == server_lake["v1"]
    assert [r[0] for r in old["rows"]] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    assert old["rows"][2][1] is None and old["rows"][2][4] is None
    status, body = await call(jp_fetch, "GET", path, limit=501)
    assert status == 400 and body["errors"][0]["field"] == "limit"


async def test_profile_is_cached_per_snapshot(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    route = "catalog/tables/gold.sales/profile"
    status, p = await call(jp_fetch, "GET", route, refresh="true")
    assert status == 200 and p["table"] == "gold.sales" and p["row_count"] == 5
    assert p["snapshot_id"] == server_lake["v2"] and p["cached"] is False
    cols = {c["name"]: c for c in p["columns"]}
    assert cols["ratio"]["null_pct"] > 0
    day = cols["day"]["histogram"]
    assert day and len(day) <= 12 and sum(b["count"] for b in day) == 5
    assert {"low", "high", "count"} == set(day[0])
    _, again = await call(jp_fetch, "GET", route)
    assert again["cached"] is True and again["columns"] == p["columns"]


@pytest.mark.parametrize("suffix", ["", "/preview", "/profile"])
async def test_unknown_table_is_404(
    jp_fetch: Fetch, server_lake: dict[str, int], suffix: str
) -> None:
    status, body = await call(jp_fetch, "GET", f"catalog/tables/gold.salez{suffix}")
    assert status == 404 and body["status"] == 404
    assert "gold.salez" in body["error"] and "gold.sales" in body["error"]  # a suggestion


async def test_bad_name_is_400(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    status, body = await call(jp_fetch, "GET", "catalog/tables/platinum.x")
    assert status == 400 and "unknown layer" in body["error"]


async def test_tables_changed_by_another_process_show_up(
    jp_fetch: Fetch, fresh_lake: dict[str, int], server_home: Path
) -> None:
    status, _ = await call(jp_fetch, "GET", "catalog/tables/gold.doomed")
    assert status == 200  # the server's connection is open now
    script = (
        "import workspace, pandas as pd\n"
        f"ws = workspace.connect({str(server_home)!r}, user={USER!r})\n"
        "ws.drop('gold.doomed')\n"
        "ws.write('gold.newcomer', pd.DataFrame({'y': [1, 2]}))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    for suffix in ("", "/preview", "/profile"):
        status, body = await call(jp_fetch, "GET", f"catalog/tables/gold.doomed{suffix}")
        assert status == 404, body
        assert body["error"].startswith("Table gold.doomed no longer exists (dropped?)")
    _, listed = await call(jp_fetch, "GET", "catalog/tables", layer="gold")
    assert [t["name"] for t in listed["tables"]] == ["gold.newcomer", "gold.sales"]
    status, page = await call(jp_fetch, "GET", "catalog/tables/gold.newcomer/preview")
    assert status == 200 and page["rows"] == [[1], [2]]


async def test_lab_cache_buster_is_ignored_but_unknown_parameters_are_refused(
    jp_fetch: Fetch, server_lake: dict[str, int]
) -> None:
    # JupyterLab's ServerConnection appends a bare ?<timestamp> to GETs by default
    response = await jp_fetch("workspace", "api", "catalog", "tables", params={"1700000000": ""})
    assert response.code == 200
    status, body = await call(jp_fetch, "GET", "catalog/tables", colour="blue")
    assert status == 400 and "colour" in body["error"]
