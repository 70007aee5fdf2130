"""The catalog index on a few hundred tables, on SQLite and PostgreSQL catalogs.

Its answers must equal those of a direct query of DuckDB's own catalog
(``duckdb_tables()``/``duckdb_columns()`` plus the annotations), and follow tables created
or dropped by another process.
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

import workspace
from workspace.lake import Workspace, names
from workspace.lake import catalog_index as ci
from workspace.lake import metadata as ann

TABLES = 300
WORDS = ["alpha", "beta", "gamma", "delta"]


def _build(ws: Workspace) -> None:
    con = ws.con
    con.execute("BEGIN")
    for i in range(TABLES):
        layer = ("bronze", "silver", "gold")[i % 3]
        word = WORDS[i % 4]
        con.execute(
            f"CREATE TABLE lake.{layer}.t{i:03d}_{word} "
            f"(id BIGINT, {word}_value DOUBLE, c{i % 7} VARCHAR)"
        )
    con.execute("COMMIT")
    con.execute("BEGIN")  # one transaction writes one catalog
    for i in range(0, 20):
        con.execute(f"CREATE TABLE sandbox.main.mine{i:02d} (x INTEGER)")
    con.execute("COMMIT")
    for i in range(0, TABLES, 25):
        layer = ("bronze", "silver", "gold")[i % 3]
        ws.catalog.annotate(
            f"{layer}.t{i:03d}_{WORDS[i % 4]}",
            tags=["kpi", WORDS[(i + 1) % 4]],
            description=f"Table number {i} about {WORDS[(i + 2) % 4]}",
            columns={"id": {"description": "gamma key"}},
        )
    con.execute("DROP TABLE lake.gold.t002_gamma")


def _reference_search(ws: Workspace, text: str) -> list[tuple[str, list[str], int]]:
    """The search as it was before the index: DuckDB's catalog functions, table by table."""
    words = text.lower().split()
    notes = {(c, k): v for c in ("lake", "sandbox") for k, v in ann.load_all(ws.con, c).items()}
    by_table: dict[tuple[str, str, str], list[str]] = {}
    for c, s, t, col in ws.con.execute(
        "SELECT database_name, schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name IN ('lake', 'sandbox') ORDER BY column_index"
    ).fetchall():
        by_table.setdefault((c, s, t), []).append(col)
    hits = []
    for ref in names.existing_tables(ws.con):
        a = notes.get((ref.catalog, f"{ref.schema}.{ref.name}"), ann.TableAnnotation())
        matched: list[str] = []
        score = 0
        ok = True
        for word in words:
            before = score
            if word in ref.display.lower():
                matched.append("name")
                score += 8
            for tag in a.tags:
                if word in tag:
                    matched.append(f"tag {tag}")
                    score += 4
            if a.description and word in a.description.lower():
                matched.append("description")
                score += 2
            for col in by_table.get((ref.catalog, ref.schema, ref.name), []):
                note = a.columns.get(col)
                if word in col.lower() or (
                    note and note.description and word in note.description.lower()
                ):
                    matched.append(f"column {col}")
                    score += 1
            ok = ok and score > before
        if ok:
            hits.append((ref.display, list(dict.fromkeys(matched)), score))
    return sorted(hits, key=lambda h: (-h[2], h[0]))


@pytest.mark.slow
def test_index_equals_a_direct_query(lake_ws: Workspace) -> None:
    _build(lake_ws)
    refs = names.existing_tables(lake_ws.con)
    listed = lake_ws.catalog.list()
    assert [t.name for t in listed] == [r.display for r in refs]
    assert len(listed) == TABLES - 1 + 20
    page = lake_ws.catalog.page(limit=1000)
    assert [t.name for t in page.tables] == sorted(r.display for r in refs)
    counts = {x.name: x.tables for x in lake_ws.catalog.layers()}
    assert counts == {"bronze": 100, "silver": 100, "gold": 99, "sandbox": 20}
    for layer in counts:
        got = lake_ws.catalog.page(layer=layer, offset=10, limit=30)
        expected = sorted(r.display for r in refs if r.layer == layer)[10:40]
        assert [t.name for t in got.tables] == expected
    for text in ["gamma", "alpha kpi", "t1", "value", "number about", "c3 beta", "nope"]:
        expected = _reference_search(lake_ws, text)
        got = lake_ws.catalog.page(query=text, limit=1000)
        assert got.total == len(expected), text
        assert [(t.name, t.matched, t.score) for t in got.tables] == expected, text
        assert [(h.name, h.matched, h.score) for h in lake_ws.catalog.search(text)] == expected


@pytest.mark.slow
def test_tables_of_another_process_show_up_on_the_next_call(lake_ws: Workspace) -> None:
    _build(lake_ws)
    assert lake_ws.catalog.page(layer="gold").total == 99
    # served from the cache: only the snapshot query ran, and it must not keep the SQLite
    # catalog locked (the other process's plain CREATE TABLE below does not retry)
    assert lake_ws.catalog.page(layer="gold").total == 99
    script = textwrap.dedent(
        """
        import workspace
        ws = workspace.connect()
        ws.con.execute("CREATE TABLE lake.gold.from_elsewhere (x INTEGER)")
        ws.drop("gold.t005_beta")
        ws.close()
        """
    )
    env = lake_ws.settings.env()
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    gold = lake_ws.catalog.page(layer="gold", limit=1000)
    names_now = [t.name for t in gold.tables]
    assert gold.total == 99 and "gold.from_elsewhere" in names_now
    assert "gold.t005_beta" not in names_now
    assert lake_ws.catalog.page(query="elsewhere").total == 1


# -- incremental refresh --------------------------------------------------------------------
def _content(part: ci.CatalogPart) -> list[tuple[str, str, str, tuple[str, ...], str]]:
    """What a part says about each table, in a fixed order."""
    return sorted(
        (e.ref.catalog, e.ref.schema, e.ref.name, e.columns, e.annotation.model_dump_json())
        for e in part.entries
    )


def _random_step(rng: random.Random, con: duckdb.DuckDBPyConnection, ws: Workspace, n: int) -> str:
    """One random change of the catalogs through ``con`` (of ``ws``); returns what it did."""
    tables = [
        (c, s, t)
        for c, s, t in con.execute(
            "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
            "WHERE database_name IN ('lake', 'sandbox') AND schema_name <> '_workspace'"
        ).fetchall()
    ]
    op = rng.choice(
        [
            *("create", "create", "drop", "rename", "add", "drop_col", "rename_col"),
            *("annotate", "annotate", "write", "view", "schema", "two"),
        ]
    )
    if not tables or op == "create":
        catalog, schema = rng.choice([("lake", "bronze"), ("lake", "gold"), ("sandbox", "main")])
        sql = f"CREATE TABLE {catalog}.{schema}.t{n} (a INTEGER, b VARCHAR)"
        con.execute(sql)
        return sql
    c, s, t = rng.choice(tables)
    full = f'{c}."{s}"."{t}"'
    if op == "drop":
        sql = f"DROP TABLE {full}"
    elif op == "rename":
        sql = f"ALTER TABLE {full} RENAME TO r{n}"
    elif op in ("add", "annotate"):
        sql = f"ALTER TABLE {full} ADD COLUMN c{n} DOUBLE"
    elif op in ("drop_col", "rename_col"):
        cols = [
            r[0]
            for r in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
                "AND schema_name = ? AND table_name = ?",
                [c, s, t],
            ).fetchall()
        ]
        if len(cols) < 2:
            sql = f"ALTER TABLE {full} ADD COLUMN c{n} DOUBLE"
        elif op == "drop_col":
            sql = f"ALTER TABLE {full} DROP COLUMN {rng.choice(cols)}"
        else:
            sql = f"ALTER TABLE {full} RENAME COLUMN {rng.choice(cols)} TO k{n}"
    elif op == "annotate" and (c == "sandbox" or s in ("bronze", "silver", "gold")):
        name = f"sandbox.{t}" if c == "sandbox" else f"{s}.{t}"
        ws.catalog.annotate(name, tags=[f"tag{n}"], description=rng.choice(["x", None, "y"]))
        return f"annotate {name}"
    elif op == "write":
        sql = f"INSERT INTO {full} DEFAULT VALUES"
    elif op == "view":
        sql = f'CREATE OR REPLACE VIEW {c}."{s}".v{n % 3} AS SELECT * FROM {full}'
    elif op == "schema":
        con.execute(f"CREATE SCHEMA lake.extra{n}")
        con.execute(f"CREATE TABLE lake.extra{n}.e (x INTEGER)")
        sql = f"DROP SCHEMA lake.extra{n - 4} CASCADE" if n % 2 else f"-- lake.extra{n}"
        if n % 2:
            con.execute(f"DROP SCHEMA IF EXISTS lake.extra{n - 4} CASCADE")
        return sql
    else:  # two changes in one commit
        con.execute("BEGIN")
        con.execute(f"ALTER TABLE {full} RENAME TO w{n}")
        con.execute(f'CREATE TABLE {c}."{s}".x{n} (y INTEGER)')
        con.execute("COMMIT")
        return f"rename {full} and create x{n} in one commit"
    con.execute(sql)
    return sql


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_refresh_equals_a_fresh_build(lake_ws: Workspace, seed: int) -> None:
    """After every random change, by either of two connections, the refreshed index equals
    one built from scratch at the same snapshot, and it was refreshed, not rebuilt."""
    rng = random.Random(seed)
    other = workspace.connect(
        lake_ws.settings.home, user=lake_ws.settings.user, catalog=lake_ws.settings.catalog.raw
    )
    try:
        lake_ws.write("gold.start", pd.DataFrame({"a": [1], "b": ["x"]}))
        lake_ws.catalog.annotate("gold.start", tags=["first"])
        lake_ws.catalog.page()
        reader = lake_ws.catalog._reader
        assert reader is not None
        hows: list[str] = []
        for n in range(40):
            writer = rng.choice([lake_ws, other])
            did = _random_step(rng, writer.con, writer, n)
            index = reader.index()
            for part in index.parts:
                fresh = ci.load_part(lake_ws.con, part.alias, part.token)
                assert _content(part) == _content(fresh), f"step {n}: {did} ({part.how})"
                hows.append(part.how)
            assert [e.display for e in index.by_name] == sorted(
                e.display for p in index.parts for e in p.entries
            )
        assert hows.count("incremental") >= 40, hows
    finally:
        other.close()
