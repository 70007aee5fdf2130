"""Where the workspace lives: the one place that resolves ``WORKSPACE_HOME``.

Every other module asks :class:`Settings` for paths and URLs, so that dev, staging and
prod are separate copies of the same code that differ only in environment variables.

The environment variables it reads (``WORKSPACE_HOME``, ``WORKSPACE_CATALOG``,
``WORKSPACE_DATA_PATH``, ``WORKSPACE_USER``, ``WORKSPACE_DASK_SCHEDULER``,
``WORKSPACE_WRITE_TIMEOUT``) and their defaults are listed in README.md, "Configuration".
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from workspace.lake.errors import ConfigurationError

_USER_RE = re.compile(r"[^A-Za-z0-9_]")


@dataclass(frozen=True)
class CatalogURL:
    """A parsed ``WORKSPACE_CATALOG`` URL.

    Examples
    --------
    >>> CatalogURL.parse("sqlite:////srv/lake/catalog.sqlite").path.as_posix()
    '/srv/lake/catalog.sqlite'
    >>> CatalogURL.parse("postgresql://ws@127.0.0.1:5432/lake").ducklake_target()
    'postgres:dbname=lake host=127.0.0.1 port=5432 user=ws'
    """

    kind: str
    raw: str
    path: Path | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, url: str) -> CatalogURL:
        """Parse a catalog URL, raising :class:`ConfigurationError` on anything else."""
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            # SQLAlchemy convention: sqlite:///relative.sqlite, sqlite:////absolute.sqlite
            raw_path = parsed.netloc + parsed.path if parsed.netloc else parsed.path[1:]
            path = unquote(raw_path)
            if not path:
                raise ConfigurationError(
                    f"WORKSPACE_CATALOG={url!r} has no file path; "
                    "use sqlite:////absolute/path/catalog.sqlite"
                )
            return cls("sqlite", url, path=Path(path))
        if parsed.scheme in {"postgres", "postgresql"}:
            params = {"dbname": (parsed.path or "/").lstrip("/") or "postgres"}
            if parsed.hostname:
                params["host"] = parsed.hostname
            if parsed.port:
                params["port"] = str(parsed.port)
            if parsed.username:
                params["user"] = unquote(parsed.username)
            if parsed.password:
                params["password"] = unquote(parsed.password)
            return cls("postgres", url, params=params)
        raise ConfigurationError(
            f"WORKSPACE_CATALOG={url!r} is not supported: use sqlite:///PATH for the embedded "
            "catalog or postgresql://USER:PASSWORD@HOST:PORT/DB for a shared one"
        )

    def ducklake_target(self) -> str:
        """The metadata-catalog part of a ``ducklake:`` ATTACH string."""
        if self.kind == "sqlite":
            return f"sqlite:{self.path}"
        return "postgres:" + " ".join(f"{k}={_libpq_value(v)}" for k, v in self.params.items())

    def redacted(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        if "password" not in self.params:
            return self.raw
        parsed = urlparse(self.raw)
        userinfo, host = parsed.netloc.rsplit("@", 1)
        return parsed._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}").geturl()


@dataclass(frozen=True)
class Settings:
    """Resolved workspace configuration.

    Examples
    --------
    >>> s = Settings.resolve(home="/tmp/ws-doc", user="ada")
    >>> s.lake_data_path.as_posix()
    '/tmp/ws-doc/lake/data'
    >>> s.sandbox_path.as_posix()
    '/tmp/ws-doc/sandboxes/ada'
    """

    home: Path
    catalog: CatalogURL
    data_path: Path
    user: str
    dask_scheduler: str | None = None
    write_timeout: float = 120.0

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        *,
        catalog: str | None = None,
        user: str | None = None,
    ) -> Settings:
        """Build settings from arguments, then environment variables, then defaults."""
        env = os.environ
        home_path = Path(
            home or env.get("WORKSPACE_HOME") or Path.home() / "analytics-workspace"
        ).expanduser()
        home_path = home_path.absolute()
        catalog_url = (
            catalog
            or env.get("WORKSPACE_CATALOG")
            or f"sqlite:///{home_path / 'lake' / 'catalog.sqlite'}"
        )
        data_path = Path(env.get("WORKSPACE_DATA_PATH") or home_path / "lake" / "data")
        raw_user = user or env.get("WORKSPACE_USER") or env.get("JUPYTERHUB_USER") or _os_user()
        try:
            timeout = float(env.get("WORKSPACE_WRITE_TIMEOUT", "120"))
        except ValueError as exc:
            raise ConfigurationError(
                f"WORKSPACE_WRITE_TIMEOUT={env['WORKSPACE_WRITE_TIMEOUT']!r} is not a number "
                "of seconds"
            ) from exc
        return cls(
            home=home_path,
            catalog=CatalogURL.parse(catalog_url),
            data_path=data_path.absolute(),
            user=sanitize_user(raw_user),
            dask_scheduler=env.get("WORKSPACE_DASK_SCHEDULER") or None,
            write_timeout=timeout,
        )

    def with_user(self, user: str) -> Settings:
        """The same workspace seen by another user (another sandbox)."""
        return replace(self, user=sanitize_user(user))

    @property
    def lake_data_path(self) -> Path:
        """Folder of the shared lake's Parquet files."""
        return self.data_path

    @property
    def sandbox_path(self) -> Path:
        """Folder of this user's sandbox lake (catalog and data when embedded)."""
        return self.home / "sandboxes" / self.user

    @property
    def cache_path(self) -> Path:
        """Folder for derived, rebuildable data (profiles)."""
        return self.home / "cache"

    def env(self) -> dict[str, str]:
        """Environment variables that reproduce these settings in another process."""
        out = {
            "WORKSPACE_HOME": str(self.home),
            "WORKSPACE_CATALOG": self.catalog.raw,
            "WORKSPACE_DATA_PATH": str(self.data_path),
            "WORKSPACE_USER": self.user,
            "WORKSPACE_WRITE_TIMEOUT": str(self.write_timeout),
        }
        if self.dask_scheduler:
            out["WORKSPACE_DASK_SCHEDULER"] = self.dask_scheduler
        return out


def _libpq_value(value: str) -> str:
    """Quote a value for a libpq ``key=value`` connection string when it needs it."""
    if value and not any(c in value for c in " '\\\t\n"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def sanitize_user(name: str) -> str:
    """Make a user name safe for folder and schema names.

    >>> sanitize_user("ada.lovelace@example.org")
    'ada_lovelace_example_org'
    """
    clean = _USER_RE.sub("_", name).strip("_").lower()
    if not clean:
        raise ConfigurationError(f"user name {name!r} has no usable characters")
    return clean


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - containers without a passwd entry
        return "user"
