"""Tiers on a tiny lake, as the account that owns it: classify, lower, masks, the write hook.

The OS-level proof (another account cannot read a confidential table) is in
tests/integration/test_tiers.py; here one lake is classified up and down once.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from workspace.governance import audit
from workspace.governance.classify import ClassifyError, classify
from workspace.governance.masking import MaskingError, masked_select, parse_pii
from workspace.governance.tiers import UnknownTierError, load_tiers, protected_root, tier_of
from workspace.lake import Settings, Workspace
from workspace.lake.errors import WorkspaceError


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings.resolve(tmp_path_factory.mktemp("tiers") / "home", user="owner")
    with Workspace(settings) as ws:
        ws.write("silver.people", pd.DataFrame({
            "id": [1, 2], "name": ["Zora Neale", "Ivo Andric"],
            "born": pd.to_datetime(["1891-01-07", "1892-10-09"]).date,
        }))  # fmt: skip
    yield settings


def test_unknown_tiers_and_tables_are_one_line_errors(lake: Settings) -> None:
    with pytest.raises(UnknownTierError, match="Unknown tier 'secret'"):
        classify(lake, "silver.people", "secret")
    with pytest.raises(ClassifyError, match="not a shared-lake table"):
        classify(lake, "people", "confidential")
    with pytest.raises(ClassifyError, match=r"No table silver\.nobody in the shared lake"):
        classify(lake, "silver.nobody", "confidential")
    assert not protected_root(lake, "silver.nobody").exists()
    with pytest.raises(MaskingError, match="Unknown mask 'blur'"):
        parse_pii(["name:blur"])
    with pytest.raises(MaskingError, match="Cannot generalise column name"):
        masked_select('"t"', [("name", "VARCHAR")], {"name": "generalise"})


def test_tier_names_come_from_tiers_yaml(tmp_path: Path) -> None:
    (tmp_path / "tiers.yaml").write_text("tiers: [open, team, secret, top_secret]\n")
    tiers = load_tiers(tmp_path / "tiers.yaml")
    assert tiers.protected("secret") and not tiers.protected("team")
    (tmp_path / "bad.yaml").write_text("tiers: [a, b]\n")
    with pytest.raises(Exception, match="must list 4 distinct names"):
        load_tiers(tmp_path / "bad.yaml")


def test_raise_mask_write_then_lower_with_approval(lake: Settings) -> None:
    result = classify(lake, "silver.people", "confidential",
                      pii={"name": "redact", "born": "generalise"})  # fmt: skip
    assert (result.old_tier, result.tier, result.moved) == ("internal", "confidential", "in")
    assert tier_of(lake, "silver.people") == "confidential"
    assert (protected_root(lake, "silver.people") / "catalog.sqlite").is_file()
    with Workspace(lake) as ws:
        masked = ws.table("silver.people_masked").to_pandas()
        assert set(masked["name"]) == {"[redacted]"}
        assert [str(d)[:10] for d in masked["born"]] == ["1891-01-01", "1892-10-01"]
        # a write to the table goes to its protected lake and republishes the projection
        ws.write("silver.people", pd.DataFrame({
            "id": [3], "name": ["New One"], "born": pd.to_datetime(["1990-05-17"]).date,
        }))  # fmt: skip
        assert ws.table("silver.people").count().execute() == 3
        again = ws.table("silver.people_masked").to_pandas()  # the append's rows, masked
        assert len(again) == 3 and set(again["name"]) == {"[redacted]"}
        assert sorted(str(d)[:10] for d in again["born"])[-1] == "1990-05-01"
        ws.write("silver.people", pd.DataFrame({
            "id": [4], "name": ["Only One"], "born": pd.to_datetime(["2000-01-31"]).date,
        }), mode="overwrite")  # fmt: skip
        assert ws.table("silver.people_masked").count().execute() == 1
        # its profile reads its own snapshots and is cached privately, never in the shared cache
        assert ws.catalog.profile("silver.people").row_count == 1
        assert not list((lake.cache_path / "profiles").glob("silver.people@*"))
    with pytest.raises(ClassifyError, match="needs approval: run it again with --approve"):
        classify(lake, "silver.people", "internal")
    back = classify(lake, "silver.people", "internal", approve=True)
    assert back.moved == "out"
    assert not protected_root(lake, "silver.people").exists()
    with Workspace(lake) as ws:
        assert ws.table("silver.people").count().execute() == 1
        assert "silver.people_masked" not in ws.tables()
    events = audit.trail(lake).query(audit.AuditQuery(target="table:silver.people"))
    actions = [(e.action, e.details.get("kind") or e.details.get("new")) for e in events]
    assert ("tier_change", "confidential") in actions
    assert ("tier_change", "internal") in actions
    assert ("security_alert", "tier_lowered") in actions


def test_restricted_tables_have_encrypted_data_files(lake: Settings) -> None:
    with Workspace(lake) as ws:
        ws.write("silver.keys", pd.DataFrame({"id": [1], "holder": ["Zora Neale"]}))
    result = classify(lake, "silver.keys", "restricted")
    assert result.encrypted, "DuckLake encryption needs the duckdb-ext-httpfs package"
    with Workspace(lake) as ws:  # later writes are encrypted too
        ws.write("silver.keys", pd.DataFrame({"id": [2], "holder": ["Ivo Andric"]}))
        assert ws.table("silver.keys").count().execute() == 2
    files = list(protected_root(lake, "silver.keys").rglob("*.parquet"))
    assert len(files) == 2
    assert {f.read_bytes()[:4] for f in files} == {b"PARE"}  # encrypted Parquet, not PAR1


def test_check_results_of_a_confidential_table_show_no_values(lake: Settings) -> None:
    with Workspace(lake) as ws:
        ws.write("silver.scores", pd.DataFrame({"name": ["Zora Neale"], "score": [5]}))
        ws.quality.contract("silver.scores", key="name",
                            checks=[{"type": "range", "column": "score", "max": 10,
                                     "severity": "warn"}])  # fmt: skip
    classify(lake, "silver.scores", "confidential")
    with Workspace(lake) as ws:  # the write's checks run on the protected table
        ws.write("silver.scores", pd.DataFrame({"name": ["Ivo Andric"], "score": [987654]}))
    results = (lake.home / "lake" / "quality" / "check_results" / "silver.scores.jsonl").read_text()
    assert '"violations": 1' in results and "Ivo Andric" not in results and "987654" not in results


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to another account needs root")
def test_the_masked_projection_belongs_to_the_shared_catalogs_owner(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path / "home", user="owner")
    with Workspace(settings) as ws:
        ws.write("silver.cards", pd.DataFrame({"id": [1], "pan": ["4111111111111111"]}))
    assert settings.catalog.path is not None
    nobody = pwd.getpwnam("nobody")
    os.chown(settings.catalog.path, nobody.pw_uid, nobody.pw_gid)  # as prepare_lake does
    old = os.umask(0o077)  # as the scheduler service runs
    try:
        classify(settings, "silver.cards", "confidential", pii={"pan": "partial"})
    finally:
        os.umask(old)
    masked = settings.lake_data_path / "silver" / "cards_masked"
    owners = {p.stat().st_uid for p in [masked, *masked.rglob("*")]}
    assert owners == {nobody.pw_uid}  # the runner appends there on the next write
    # and every account reads what the service wrote: the projection and the annotations
    written = [p for p in settings.lake_data_path.rglob("*") if p.stat().st_uid == nobody.pw_uid]
    assert any("annotations" in str(p) for p in written)
    assert {oct(p.stat().st_mode & 0o777) for p in written} <= {"0o644", "0o755"}


def test_history_and_time_travel_read_the_protected_lake(lake: Settings) -> None:
    with Workspace(lake) as ws:
        ws.write("silver.visits", pd.DataFrame({"who": ["Zora"], "n": [1]}))
    classify(lake, "silver.visits", "confidential", pii={"who": "hash"})
    with Workspace(lake) as ws:
        ws.write("silver.visits", pd.DataFrame({"who": ["Ivo"], "n": [2]}))
        history = ws.history("silver.visits")
        assert len(history) == 2  # the copy at classification, then the append
        first = ws.table("silver.visits", at=history[0].snapshot_id).to_pandas()
        assert first["who"].tolist() == ["Zora"]
        assert ws.to_dask("silver.visits").compute()["n"].sum() == 3
        d = ws.catalog.describe("silver.visits")  # its own lake's files and snapshots
        assert d.file_count >= 1 and d.size_bytes > 0 and len(d.snapshots) == 2
        with pytest.raises(WorkspaceError, match="lowers its tier first"):
            ws.drop("silver.visits")  # its data is in its own lake: a clear refusal
        # The catalog's Preview pages the protected table at its own snapshots.
        from workspace.server.preview import preview

        page = preview(ws, "silver.visits", limit=5)
        assert page.total == 2 and page.snapshot_id == history[-1].snapshot_id
        old = preview(ws, "silver.visits", at=history[0].snapshot_id)
        assert [r[0] for r in old.rows] == ["Zora"]


def test_moving_between_protected_tiers_encrypts_and_decrypts_every_file(lake: Settings) -> None:
    with Workspace(lake) as ws:
        ws.write("silver.cards", pd.DataFrame({"id": [1], "holder": ["Zora Neale"]}))
    classify(lake, "silver.cards", "confidential", pii={"holder": "redact"})
    root = protected_root(lake, "silver.cards")
    with Workspace(lake) as ws:  # a second snapshot: time travel could reach the first file
        ws.write("silver.cards", pd.DataFrame({"id": [2], "holder": ["Ivo Andric"]}))
    magic = lambda: sorted(f.read_bytes()[:4] for f in root.rglob("*.parquet"))  # noqa: E731
    assert magic() == [b"PAR1", b"PAR1"]
    up = classify(lake, "silver.cards", "restricted")
    assert (up.moved, up.encrypted, up.purged_files) == ("encrypted", True, 2)
    assert magic() == [b"PARE"]  # one new file; nothing unencrypted is left, old snapshots' too
    assert not list(root.parent.glob(".silver.cards.*"))
    assert root.stat().st_mode & 0o007 == 0  # others: nothing (grants are ACL entries)
    with Workspace(lake) as ws:
        rows = ws.sql("SELECT id, holder FROM silver.cards ORDER BY id").to_pandas()
        assert rows.values.tolist() == [[1, "Zora Neale"], [2, "Ivo Andric"]]
        assert set(ws.table("silver.cards_masked").to_pandas()["holder"]) == {"[redacted]"}
        ws.write("silver.cards", pd.DataFrame({"id": [3], "holder": ["New One"]}))
    assert magic() == [b"PARE", b"PARE"]
    with pytest.raises(ClassifyError, match="needs approval"):
        classify(lake, "silver.cards", "confidential")
    down = classify(lake, "silver.cards", "confidential", approve=True)
    assert (down.moved, down.encrypted) == ("decrypted", False)
    assert magic() == [b"PAR1"]
    with Workspace(lake) as ws:
        assert ws.table("silver.cards").count().execute() == 3


@pytest.mark.postgres
def test_a_postgresql_lake_keeps_nothing_of_a_confidential_table(
    tmp_path: Path, postgres_url: str
) -> None:
    import psycopg

    settings = Settings.resolve(tmp_path / "home", catalog=postgres_url, user="owner")
    with Workspace(settings) as ws:
        ws.write("silver.people", pd.DataFrame({"id": [1, 2], "name": ["Zora Neale", "Ivo"]}))
        ws.write("silver.people", pd.DataFrame({"id": [3], "name": ["Ana"]}), mode="append")
    result = classify(settings, "silver.people", "confidential", pii={"name": "redact"})
    assert (result.moved, result.purged_files) == ("in", 2)
    assert not (settings.lake_data_path / "silver" / "people").exists()
    with psycopg.connect(postgres_url) as pg:  # no value of it is left in the shared catalog
        for table in ("ducklake_file_column_stats", "ducklake_table_column_stats"):
            found = pg.execute(
                f"SELECT count(*) FROM {table} WHERE min_value = 'Ana' OR max_value = 'Zora Neale'"
            ).fetchone()
            assert found == (0,), table
    with Workspace(settings) as ws:  # root reads it through its own lake; writes go there
        ws.write("silver.people", pd.DataFrame({"id": [4], "name": ["Olu"]}), mode="append")
        assert ws.table("silver.people").count().execute() == 4
        assert set(ws.table("silver.people_masked").to_pandas()["name"]) == {"[redacted]"}
    assert (protected_root(settings, "silver.people") / "catalog.sqlite").is_file()
