"""Shared fixtures: a fresh workspace home per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import workspace
from workspace.lake import Settings, Workspace


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
