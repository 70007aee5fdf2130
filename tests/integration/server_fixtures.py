"""Fixtures of the server extension tests: a Jupyter server with ``workspace.server``
enabled (pytest-jupyter's ``jp_fetch``), a small real lake, and helpers for JSON calls.

A test module loads them with ``pytest_plugins = ["pytest_jupyter.jupyter_server",
"server_fixtures"]`` and imports ``jp_server_config`` from :mod:`server_client` (the
override enabling the extension only for that module).
"""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pandas as pd
import pytest
from server_client import USER

import workspace
from workspace.lake.settings import Settings


@pytest.fixture
def server_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty WORKSPACE_HOME the server's settings resolve to."""
    path = tmp_path / "workspace-home"  # pytest-jupyter uses tmp_path/"home" as $HOME
    monkeypatch.setenv("WORKSPACE_HOME", str(path))
    monkeypatch.setenv("WORKSPACE_USER", USER)
    monkeypatch.delenv("WORKSPACE_SCHEDULED", raising=False)
    return path


@pytest.fixture
def server_settings(server_home: Path) -> Settings:
    return Settings.resolve()


def build_lake(home: Path) -> dict[str, int]:
    """A small lake: 3 layers, annotations, and a table with two versions.

    Returns the snapshot ids of ``gold.sales``' versions (``v1``: 3 rows, ``v2``: 5 rows).
    """
    with workspace.connect(home, user=USER) as ws:
        ws.write(
            "bronze.customers",
            pd.DataFrame(
                {"c_id": [1, 2, 3], "c_phone": ["1-1", "2-2", "3-3"], "c_name": list("abc")}
            ),
        )
        ws.catalog.annotate(
            "bronze.customers",
            owner="crm-team",
            description="Customers as loaded from the CRM",
            tags=["pii", "crm"],
            classification="confidential",
            columns={"c_phone": {"description": "Phone number", "pii": True}},
        )
        for i in range(12):
            ws.write(f"silver.part_{i:02d}", pd.DataFrame({"k": [i]}))
        first = ws.write(
            "gold.sales",
            pd.DataFrame(
                {
                    "day": [dt.date(2024, 1, d) for d in (1, 2, 3)],
                    "amount": [decimal.Decimal("1.50"), decimal.Decimal("2.25"), None],
                    "ratio": [0.5, float("nan"), 1.0],
                    "blob": [b"ab", b"", b"xyz"],
                    "at": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 11:00", None], utc=True),
                }
            ),
        )
        second = ws.write(
            "gold.sales",
            pd.DataFrame(
                {
                    "day": [dt.date(2024, 1, 4), dt.date(2024, 1, 5)],
                    "amount": [decimal.Decimal("3"), decimal.Decimal("4")],
                    "ratio": [2.0, 3.0],
                    "blob": [b"a", b"b"],
                    "at": pd.to_datetime(["2024-01-04", "2024-01-05"], utc=True),
                }
            ),
        )
        ws.write("gold.doomed", pd.DataFrame({"x": [1]}))
    return {"v1": first.snapshot_id, "v2": second.snapshot_id}


@pytest.fixture(scope="session")
def _shared_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    home = tmp_path_factory.mktemp("shared-lake") / "workspace-home"
    return home, build_lake(home)


@pytest.fixture
def server_lake(
    _shared_lake: tuple[Path, dict[str, int]], monkeypatch: pytest.MonkeyPatch
) -> dict[str, int]:
    """The lake of :func:`build_lake`, built once per session: tests must not change it
    (use ``fresh_lake`` for that)."""
    home, snapshots = _shared_lake
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", USER)
    monkeypatch.delenv("WORKSPACE_SCHEDULED", raising=False)
    return snapshots


@pytest.fixture
def fresh_lake(server_home: Path) -> dict[str, int]:
    """A lake of its own in ``server_home``, for tests that change it."""
    return build_lake(server_home)
