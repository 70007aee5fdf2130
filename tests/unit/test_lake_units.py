"""Lake building blocks that need no catalog server: URLs, attach strings, contention."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from support import postgres as pg_support

from workspace.lake.engine import attach_string, is_contention, new_duckdb, retry_on_contention
from workspace.lake.errors import ConfigurationError, WriteConflictError
from workspace.lake.settings import CatalogURL, Settings
from workspace.lake.writes import type_compatible


def test_postgres_url_becomes_a_libpq_ducklake_target() -> None:
    url = CatalogURL.parse("postgresql://ws:s%40cret@db.example:6543/lake")
    assert url.kind == "postgres"
    assert url.ducklake_target() == (
        "postgres:dbname=lake host=db.example port=6543 user=ws password=s@cret"
    )
    assert "s@cret" not in url.redacted() and "***" in url.redacted()
    assert CatalogURL.parse("postgres://127.0.0.1/").ducklake_target() == (
        "postgres:dbname=postgres host=127.0.0.1"
    )


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "lake.sqlite"])
def test_unsupported_catalog_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="WORKSPACE_CATALOG"):
        CatalogURL.parse(url)


def test_attach_strings_per_backend(tmp_path: Path) -> None:
    lite = Settings.resolve(tmp_path, user="ada")
    target, opts = attach_string(lite)
    assert target == f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}"
    assert opts == {"DATA_PATH": f"{tmp_path / 'lake' / 'data'}/"}
    target, opts = attach_string(lite, sandbox=True)
    assert target == f"ducklake:sqlite:{tmp_path / 'sandboxes' / 'ada' / 'catalog.sqlite'}"
    assert "METADATA_SCHEMA" not in opts

    pg = Settings.resolve(tmp_path, catalog="postgresql://u@127.0.0.1:5/db", user="ada")
    lake_target, lake_opts = attach_string(pg)
    sb_target, sb_opts = attach_string(pg, sandbox=True)
    assert lake_target == sb_target
    assert lake_target.startswith("ducklake:postgres:dbname=db host=127.0.0.1 port=5 user=u ")
    assert lake_target.endswith("options='-c lock_timeout=120000'")
    assert "METADATA_SCHEMA" not in lake_opts
    assert sb_opts["METADATA_SCHEMA"] == "sandbox_ada"
    assert sb_opts["DATA_PATH"] != lake_opts["DATA_PATH"]


def _duckdb_error(sql: str) -> duckdb.Error:
    con = new_duckdb()
    try:
        con.execute(sql)
    except duckdb.Error as exc:
        return exc
    raise AssertionError(f"{sql} did not fail")


def test_is_contention_separates_conflicts_from_user_errors() -> None:
    assert not is_contention(_duckdb_error("SELECT * FROM no_such_table"))
    assert not is_contention(_duckdb_error("SELECT CAST('x' AS INTEGER)"))
    assert not is_contention(ValueError("database is locked"))
    con = new_duckdb()
    con.execute("BEGIN")
    try:
        con.execute("BEGIN")
    except duckdb.TransactionException as exc:
        assert is_contention(exc)
    # the messages seen from real catalogs (see tests/integration/test_concurrent_writers.py)
    for text in (
        'Failed to query most recent snapshot for DuckLake: Failed to prepare query "SELECT 1": '
        "database is locked",
        'Failed to initialize DuckLake:Failed to execute query "CREATE TABLE "s"."ducklake_'
        'metadata"(...)": ERROR:  relation "ducklake_metadata" already exists',
        'ERROR:  duplicate key value violates unique constraint "pg_namespace_nspname_index"',
    ):
        assert is_contention(duckdb.Error(text)), text
    assert is_contention(duckdb.TransactionException("Failed to commit DuckLake transaction."))
    assert not is_contention(duckdb.Error('Table with name "t" already exists'))


def test_retry_on_contention_retries_then_gives_up() -> None:
    calls = []

    def busy() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise duckdb.Error("database is locked")
        return 7

    assert retry_on_contention(busy, timeout=10) == 7
    assert len(calls) == 3

    def always_busy() -> None:
        raise duckdb.Error("database is locked")

    with pytest.raises(WriteConflictError, match="Nothing was written"):
        retry_on_contention(always_busy, timeout=0.1, what="writing t")

    def user_error() -> None:
        raise duckdb.Error("syntax error")

    with pytest.raises(duckdb.Error, match="syntax"):
        retry_on_contention(user_error, timeout=10)


@pytest.mark.parametrize(
    ("src", "dst", "ok"),
    [
        ("INTEGER", "BIGINT", True),
        ("BIGINT", "INTEGER", False),
        ("FLOAT", "DOUBLE", True),
        ("DOUBLE", "FLOAT", False),
        ("UINTEGER", "BIGINT", True),
        ("UBIGINT", "BIGINT", False),
        ("VARCHAR", "INTEGER", False),
        ("DATE", "TIMESTAMP", True),
        ('"NULL"', "VARCHAR", True),
    ],
)
def test_type_compatible(src: str, dst: str, ok: bool) -> None:
    assert type_compatible(src, dst) is ok


def test_postgres_helper_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    message = pg_support.missing_message()
    assert "make test" in message and pg_support.SKIP_ENV in message
    monkeypatch.setenv(pg_support.SKIP_ENV, "1")
    assert pg_support.skip_requested()
    monkeypatch.setenv(pg_support.SKIP_ENV, "0")
    assert not pg_support.skip_requested()
    monkeypatch.setattr(pg_support, "find_bin_dir", lambda: None)
    with pytest.raises(pg_support.PostgresUnavailable, match="make test"):
        pg_support.PostgresServer.start()
