"""The catalog index on a few hundred tables, on SQLite and PostgreSQL catalogs.

Its answers must equal those of a direct query of DuckDB's own catalog
(``duckdb_tables()``/``duckdb_columns()`` plus the annotations), and follow tables created
or dropped by another process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from workspace.lake import Workspace, names
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
