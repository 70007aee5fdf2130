"""Connecting, read-only mode and name resolution, on the SQLite and PostgreSQL catalogs."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

import workspace
from workspace.lake import Settings, Workspace
from workspace.lake.errors import InvalidNameError, ReadOnlyError, TableNotFoundError
from workspace.lake.names import TableRef


def _schemas(ws: Workspace, catalog: str) -> set[str]:
    rows = ws.con.execute(
        "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ?", [catalog]
    ).fetchall()
    return {r[0] for r in rows}


def _reconnect(settings: Settings, **kw: object) -> Workspace:
    return workspace.connect(settings.home, user=settings.user, catalog=settings.catalog.raw, **kw)  # type: ignore[arg-type]


# -- connect ------------------------------------------------------------------------------
def test_new_home_has_layers_and_sandbox(lake_ws: Workspace, lake_settings: Settings) -> None:
    assert {"bronze", "silver", "gold"} <= _schemas(lake_ws, "lake")
    databases = {r[0] for r in lake_ws.con.execute("FROM duckdb_databases()").fetchall()}
    assert {"lake", "sandbox"} <= databases
    assert lake_ws.tables() == []
    assert lake_settings.lake_data_path.is_dir()
    assert lake_settings.sandbox_path.is_dir()
    if lake_settings.catalog.kind == "sqlite":
        assert lake_settings.catalog.path is not None
        assert lake_settings.catalog.path.is_file()


def test_reconnect_sees_committed_tables(lake_ws: Workspace, lake_settings: Settings) -> None:
    lake_ws.write("gold.kpis", pd.DataFrame({"k": ["a", "b"], "v": [1, 2]}))
    lake_ws.write("scratch", pd.DataFrame({"x": [1]}))
    with _reconnect(lake_settings) as other:
        assert sorted(other.tables()) == ["gold.kpis", "sandbox.scratch"]
        assert other.table("gold.kpis").count().execute() == 2


def test_sandboxes_are_per_user(lake_ws: Workspace, lake_settings: Settings) -> None:
    lake_ws.write("scratch", pd.DataFrame({"x": [1]}))
    lake_ws.write("silver.shared", pd.DataFrame({"x": [1]}))
    with _reconnect(lake_settings.with_user("grace")) as grace:
        assert grace.tables() == ["silver.shared"]
        with pytest.raises(TableNotFoundError):
            grace.table("scratch")


def test_read_only_refuses_writes(lake_ws: Workspace, lake_settings: Settings) -> None:
    lake_ws.write("gold.kpis", pd.DataFrame({"v": [1, 2, 3]}))
    with _reconnect(lake_settings, read_only=True) as ro:
        assert ro.table("gold.kpis").count().execute() == 3
        with pytest.raises(ReadOnlyError, match=r"gold\.kpis.*read-only"):
            ro.write("gold.kpis", pd.DataFrame({"v": [4]}))
        with pytest.raises(ReadOnlyError, match="read-only"):
            ro.drop("gold.kpis")
        with pytest.raises(duckdb.Error, match=r"(?i)read.only"):
            ro.con.execute("INSERT INTO lake.gold.kpis VALUES (5)")
    assert lake_ws.table("gold.kpis").count().execute() == 3
    assert len(lake_ws.history("gold.kpis")) == 1


def test_read_only_on_missing_sqlite_lake_is_a_clear_error(ws_settings: Settings) -> None:
    from workspace.lake.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="read-only"):
        workspace.connect(ws_settings.home, user="tester", read_only=True)


# -- names --------------------------------------------------------------------------------
def _layer_table(ws: Workspace, name: str, layer: str) -> None:
    ws.write(name, pd.DataFrame({"layer": [layer]}))


def _read_layer(ws: Workspace, name: str) -> str:
    return str(ws.table(name).execute()["layer"].iloc[0])


def test_search_path_prefers_sandbox_then_gold_silver_bronze(lake_ws: Workspace) -> None:
    for layer in ("bronze", "silver", "gold"):
        _layer_table(lake_ws, f"{layer}.t", layer)
    _layer_table(lake_ws, "t", "sandbox")
    order = []
    for drop in ("sandbox.t", "gold.t", "silver.t"):
        order.append((lake_ws.resolve("t").display, _read_layer(lake_ws, "t")))
        lake_ws.drop(drop)
    order.append((lake_ws.resolve("t").display, _read_layer(lake_ws, "t")))
    assert order == [
        ("sandbox.t", "sandbox"),
        ("gold.t", "gold"),
        ("silver.t", "silver"),
        ("bronze.t", "bronze"),
    ]


def test_sql_uses_the_same_search_path(lake_ws: Workspace) -> None:
    _layer_table(lake_ws, "gold.t", "gold")
    _layer_table(lake_ws, "silver.t", "silver")
    assert lake_ws.sql("SELECT layer FROM t").execute()["layer"].tolist() == ["gold"]


QUALIFIED = [
    ("gold.t", TableRef("lake", "gold", "t")),
    ("lake.silver.t", TableRef("lake", "silver", "t")),
    ("sandbox.t", TableRef("sandbox", "main", "t")),
    ("sandbox.main.t", TableRef("sandbox", "main", "t")),
    ('"bronze"."t"', TableRef("lake", "bronze", "t")),
    ("lake.bronze.t", TableRef("lake", "bronze", "t")),
]


def test_qualified_names(lake_ws: Workspace) -> None:
    for layer in ("bronze", "silver", "gold", "sandbox"):
        _layer_table(lake_ws, f"{layer}.t", layer)
    for name, expected in QUALIFIED:
        assert lake_ws.resolve(name) == expected, name
        assert _read_layer(lake_ws, name) == expected.layer, name


INVALID_NAMES = [
    "",
    "  ",
    "1abc",
    "gold.a-b",
    "platinum.t",
    "a.b.c.d",
    "lake.foo.t",
    "t; DROP TABLE x",
    42,
]


def test_invalid_names_are_refused(lake_ws: Workspace) -> None:
    for name in INVALID_NAMES:
        with pytest.raises(InvalidNameError) as info:
            lake_ws.table(name)  # type: ignore[arg-type]
        assert repr(name) in str(info.value)
        with pytest.raises(InvalidNameError):
            lake_ws.write(name, pd.DataFrame({"x": [1]}))  # type: ignore[arg-type]
    assert lake_ws.tables() == []


def test_unknown_table_lists_where_it_looked_and_suggests(lake_ws: Workspace) -> None:
    lake_ws.write("gold.revenue_by_nation", pd.DataFrame({"x": [1]}))
    with pytest.raises(TableNotFoundError) as info:
        lake_ws.table("revenue_by_natoin")
    err = info.value
    assert err.searched == [
        "sandbox.revenue_by_natoin",
        "gold.revenue_by_natoin",
        "silver.revenue_by_natoin",
        "bronze.revenue_by_natoin",
    ]
    assert "revenue_by_nation" in err.suggestions
    assert "Did you mean" in str(err)
    with pytest.raises(TableNotFoundError, match=r"silver\.revenue_by_nation"):
        lake_ws.table("silver.revenue_by_nation")


@pytest.mark.postgres
def test_postgres_url_with_special_password_attaches(postgres_server, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from urllib.parse import quote

    dbname = "lake_special_password"
    postgres_server.create_database(dbname)
    password = "p w'x\\@:/"
    host = f"127.0.0.1:{postgres_server.port}"
    url = f"postgresql://postgres:{quote(password, safe='')}@{host}/{dbname}"
    with workspace.connect(tmp_path / "home", catalog=url, user="tester") as ws:
        ws.write("gold.t", pd.DataFrame({"x": [1]}))
        assert ws.tables() == ["gold.t"]
        assert password not in ws.settings.catalog.redacted()
