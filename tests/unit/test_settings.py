"""WORKSPACE_HOME and the catalog URL are resolved in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.lake.errors import ConfigurationError
from workspace.lake.settings import CatalogURL, Settings, sanitize_user


def test_home_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("WORKSPACE_CATALOG", raising=False)
    monkeypatch.delenv("WORKSPACE_DATA_PATH", raising=False)
    s = Settings.resolve(user="Ada")
    assert s.home == tmp_path / "h"
    assert s.catalog.kind == "sqlite"
    assert s.catalog.path == tmp_path / "h" / "lake" / "catalog.sqlite"
    assert s.data_path == tmp_path / "h" / "lake" / "data"
    assert s.sandbox_path == tmp_path / "h" / "sandboxes" / "ada"


def test_env_round_trip(tmp_path: Path) -> None:
    s = Settings.resolve(tmp_path, user="bob")
    assert (
        Settings.resolve(
            s.env()["WORKSPACE_HOME"],
            catalog=s.env()["WORKSPACE_CATALOG"],
            user=s.env()["WORKSPACE_USER"],
        )
        == s
    )


def test_hub_user_is_the_default_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WORKSPACE_USER", raising=False)
    monkeypatch.setenv("JUPYTERHUB_USER", "grace.hopper@navy.mil")
    assert Settings.resolve(tmp_path).user == "grace_hopper_navy_mil"


def test_postgres_url_becomes_libpq_keywords() -> None:
    url = CatalogURL.parse("postgresql://ws:s3cret@127.0.0.1:5433/lake")
    assert url.kind == "postgres"
    assert url.ducklake_target() == (
        "postgres:dbname=lake host=127.0.0.1 port=5433 user=ws password=s3cret"
    )
    assert "s3cret" not in url.redacted()


@pytest.mark.parametrize("bad", ["mysql://x/y", "lake.db", "sqlite://"])
def test_unsupported_catalog_urls_are_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="WORKSPACE_CATALOG"):
        CatalogURL.parse(bad)


def test_bad_timeout(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WORKSPACE_WRITE_TIMEOUT", "soon")
    with pytest.raises(ConfigurationError, match="WORKSPACE_WRITE_TIMEOUT"):
        Settings.resolve(tmp_path)


def test_sanitize_user() -> None:
    assert sanitize_user("Jo-Ann") == "jo_ann"
    with pytest.raises(ConfigurationError):
        sanitize_user("@@@")
