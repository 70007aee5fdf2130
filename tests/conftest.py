"""Shared fixtures: a fresh workspace home per test, on SQLite and on PostgreSQL.

``ws_home``/``ws_settings``/``ws`` give the embedded SQLite catalog (the default).
``lake_ws``/``lake_settings`` are parametrized over both catalog backends: the PostgreSQL
variant gets a fresh database (CREATE DATABASE) on a throwaway server started once per
session on 127.0.0.1 (see ``tests/support/postgres.py``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.postgres import (
    PostgresServer,
    PostgresUnavailable,
    find_bin_dir,
    missing_message,
    skip_requested,
)

import workspace
from workspace.lake import Settings, Workspace

#: Settings read from the environment; cleared so a developer's own lake is never touched.
_WORKSPACE_ENV = (
    "WORKSPACE_HOME",
    "WORKSPACE_CATALOG",
    "WORKSPACE_DATA_PATH",
    "WORKSPACE_USER",
    "WORKSPACE_WRITE_TIMEOUT",
)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

_databases = itertools.count(1)


@pytest.fixture(autouse=True)
def _isolated_workspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _WORKSPACE_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ws_home(tmp_path: Path) -> Path:
    """An empty WORKSPACE_HOME."""
    return tmp_path / "home"


@pytest.fixture
def ws_settings(ws_home: Path) -> Settings:
    """Settings for the test workspace (embedded SQLite catalog)."""
    return Settings.resolve(ws_home, user="tester")


@pytest.fixture
def ws(ws_settings: Settings) -> Iterator[Workspace]:
    """A connected workspace on a fresh home."""
    w = workspace.connect(ws_settings.home, user=ws_settings.user, catalog=ws_settings.catalog.raw)
    yield w
    w.close()


# -- PostgreSQL ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster for the whole session (fails if PostgreSQL is not installed)."""
    if skip_requested():
        pytest.skip("PostgreSQL tests skipped: WORKSPACE_TEST_SKIP_POSTGRES is set")
    if find_bin_dir() is None:
        pytest.fail(missing_message(), pytrace=False)
    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        pytest.fail(f"Could not start PostgreSQL for the tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a new, empty database on the session's PostgreSQL server."""
    return postgres_server.create_database(f"lake_{os.getpid()}_{next(_databases)}")


# -- both backends ------------------------------------------------------------------------
@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Catalog backend under test: ``sqlite`` or ``postgres``."""
    return str(request.param)


@pytest.fixture
def lake_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    """Settings of a fresh home whose catalog is on ``backend``."""
    home = tmp_path / "home"
    if backend == "postgres":
        url = request.getfixturevalue("postgres_url")
        return Settings.resolve(home, catalog=url, user="tester")
    return Settings.resolve(home, user="tester")


@pytest.fixture
def lake_ws(lake_settings: Settings) -> Iterator[Workspace]:
    """A connected workspace on a fresh home, on each catalog backend."""
    w = workspace.connect(
        lake_settings.home, user=lake_settings.user, catalog=lake_settings.catalog.raw
    )
    yield w
    w.close()
