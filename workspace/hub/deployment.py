"""The team deployment's state: where the hub keeps its files, and the registry of users.

Everything lives in ``$WORKSPACE_HOME/hub/`` (:class:`HubPaths`): JupyterHub's database, the
secrets the hub and its proxy share, the admin service's token, the first admin's password,
the pipelines folder, and ``users.yaml``, the :class:`Registry` of workspace users (the
source of truth for hub groups and admins; ``workspace users add/remove`` edit it).

The files, one by one: docs/hub.md, "Module notes".
"""

from __future__ import annotations

import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workspace.api.auth import GROUPS, Group, InvalidUserNameError, validate_user_name
from workspace.lake.errors import ConfigurationError
from workspace.lake.settings import Settings


class UserEntry(BaseModel):
    """One workspace user in the registry."""

    model_config = ConfigDict(extra="forbid")

    group: Group
    admin: bool = False


class Registry(BaseModel):
    """The ``users.yaml`` document."""

    model_config = ConfigDict(extra="forbid")

    users: dict[str, UserEntry] = Field(default_factory=dict)

    @field_validator("users")
    @classmethod
    def _names(cls, users: dict[str, UserEntry]) -> dict[str, UserEntry]:
        for name in users:
            validate_user_name(name)
        return users

    def groups(self) -> dict[str, list[str]]:
        """Every group in :data:`GROUPS` with its members (sorted), for ``load_groups``."""
        out: dict[str, list[str]] = {g: [] for g in GROUPS}
        for name, entry in sorted(self.users.items()):
            out[entry.group].append(name)
        return out

    def admins(self) -> set[str]:
        return {name for name, entry in self.users.items() if entry.admin}


@dataclass(frozen=True)
class HubPaths:
    """Where the hub's state lives for one workspace home."""

    dir: Path

    @classmethod
    def resolve(cls, settings: Settings | None = None) -> HubPaths:
        settings = settings or Settings.resolve()
        return cls(settings.home / "hub")

    @property
    def db_file(self) -> Path:
        return self.dir / "jupyterhub.sqlite"

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_file}"

    @property
    def cookie_secret(self) -> Path:
        return self.dir / "jupyterhub_cookie_secret"

    @property
    def proxy_token(self) -> Path:
        return self.dir / "proxy-auth-token"

    @property
    def users_file(self) -> Path:
        return self.dir / "users.yaml"

    @property
    def api_token(self) -> Path:
        return self.dir / "api-token"

    @property
    def admin_password(self) -> Path:
        return self.dir / "admin-password"

    @property
    def pid_file(self) -> Path:
        return self.dir / "jupyterhub.pid"

    @property
    def scheduled_file(self) -> Path:
        """The pipelines folder the hub's services use, written by ``workspace hub`` (so that
        ``workspace users remove`` finds the same pipelines wherever it runs)."""
        return self.dir / "scheduled"

    def scheduled_root(self) -> Path | None:
        """The pipelines folder recorded by the last ``workspace hub`` (None: never started)."""
        try:
            text = self.scheduled_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return Path(text) if text else None

    @property
    def url_file(self) -> Path:
        """The hub's base URL (``http://127.0.0.1:8000``), written by ``workspace hub``."""
        return self.dir / "url"

    def ensure_dir(self) -> Path:
        """Create the hub folder (0700: it holds secrets)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)
        return self.dir


def load_registry(paths: HubPaths | None = None) -> Registry:
    """Read ``users.yaml`` (an empty registry when it does not exist yet)."""
    paths = paths or HubPaths.resolve()
    try:
        text = paths.users_file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Registry()
    try:
        data = yaml.safe_load(text) or {}
        return Registry.model_validate(data)
    except (yaml.YAMLError, ValidationError, InvalidUserNameError) as exc:
        raise ConfigurationError(f"{paths.users_file} is not a valid user registry: {exc}") from exc


def save_registry(registry: Registry, paths: HubPaths | None = None) -> None:
    """Write ``users.yaml`` atomically (temp file + rename), readable only by its owner."""
    paths = paths or HubPaths.resolve()
    paths.ensure_dir()
    data = {"users": {n: e.model_dump() for n, e in sorted(registry.users.items())}}
    _write_private(paths.users_file, yaml.safe_dump(data, sort_keys=False))


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """The secret in ``path``, created (0600, hex) when missing."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        value = ""
    if not value:
        value = secrets.token_hex(nbytes)
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, value + "\n")
    return value


def ensure_api_token(paths: HubPaths | None = None) -> str:
    """The ``workspace-cli`` admin service token, created on first use."""
    paths = paths or HubPaths.resolve()
    paths.ensure_dir()
    return ensure_secret(paths.api_token)


def _write_private(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
