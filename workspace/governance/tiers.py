"""Classification tiers: their names and order, and where each table's data lives.

Four tiers ship by default, lowest first: ``public``, ``internal``, ``confidential`` and
``restricted``. ``scheduled/tiers.yaml`` (or ``$WORKSPACE_SCHEDULED/tiers.yaml``) may rename
them, as a list in the same order::

    tiers: [open, team, secret, top_secret]

Tables at or above the third tier are *protected*: each lives in a DuckLake of its own under
``$WORKSPACE_HOME/protected/<layer>.<table>/`` that only root, the runner account and the
users granted it can open (:mod:`workspace.lake.protected`; grants are POSIX ACLs,
:mod:`workspace.governance.acl`). ``workspace classify`` (:mod:`workspace.governance.classify`)
moves tables between tiers. The access lifecycle grants on :func:`protected_root`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from workspace.lake.errors import ConfigurationError, WorkspaceError
from workspace.lake.protected import (
    AccessDeniedError,
    ProtectedEntry,
    read_index,
)
from workspace.lake.protected import protected_root as _protected_root
from workspace.lake.settings import Settings

__all__ = [
    "DEFAULT_TIERS",
    "AccessDeniedError",
    "ProtectedEntry",
    "Tiers",
    "UnknownTierError",
    "load_tiers",
    "protected_root",
    "tier_of",
]

#: Default tier names, lowest first.
DEFAULT_TIERS = ("public", "internal", "confidential", "restricted")
#: Index (in the list) of the first tier whose tables live in their own protected DuckLake.
PROTECTED_FROM = 2
#: Index of the tier whose data files are encrypted (when DuckLake encryption is available).
ENCRYPTED_FROM = 3
TIERS_FILE = "tiers.yaml"


class UnknownTierError(WorkspaceError, ValueError):
    """A tier name that is not in the configured list."""


@dataclass(frozen=True)
class Tiers:
    """The configured tier names, lowest first.

    Examples
    --------
    >>> t = Tiers(DEFAULT_TIERS)
    >>> t.rank("confidential") > t.rank("internal")
    True
    >>> t.protected("restricted"), t.protected("internal")
    (True, False)
    >>> t.check("secret")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    workspace.governance.tiers.UnknownTierError: Unknown tier 'secret': use one of public, ...
    """

    names: tuple[str, ...] = DEFAULT_TIERS

    def check(self, tier: str) -> str:
        """``tier`` if it is a configured name, else :class:`UnknownTierError`."""
        if tier not in self.names:
            raise UnknownTierError(f"Unknown tier {tier!r}: use one of {', '.join(self.names)}.")
        return tier

    def rank(self, tier: str) -> int:
        """Position of ``tier``, lowest (most open) first."""
        return self.names.index(self.check(tier))

    def protected(self, tier: str) -> bool:
        """Whether tables of ``tier`` live in their own OS-protected DuckLake."""
        return self.rank(tier) >= PROTECTED_FROM

    def encrypted(self, tier: str) -> bool:
        """Whether ``tier`` asks for encrypted data files."""
        return self.rank(tier) >= ENCRYPTED_FROM

    @property
    def default(self) -> str:
        """The tier of a table never classified (the second one: ``internal``)."""
        return self.names[1]


def load_tiers(path: str | os.PathLike[str] | None = None) -> Tiers:
    """The tiers of ``path``, else of ``$WORKSPACE_SCHEDULED/tiers.yaml`` or
    ``./scheduled/tiers.yaml``, else the defaults.

    Examples
    --------
    >>> load_tiers("/nonexistent/tiers.yaml").names
    ('public', 'internal', 'confidential', 'restricted')
    """
    file = Path(path) if path else Path(os.environ.get("WORKSPACE_SCHEDULED") or "scheduled")
    if not path:
        file = file / TIERS_FILE
    if not file.is_file():
        return Tiers()
    try:
        raw = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"Could not read the tiers file {file}: {exc}") from exc
    names = raw.get("tiers") if isinstance(raw, dict) else None
    if names is None:
        return Tiers()
    if (
        not isinstance(names, list)
        or len(names) != len(DEFAULT_TIERS)
        or len(set(map(str, names))) != len(names)
    ):
        raise ConfigurationError(
            f"{file}: 'tiers' must list {len(DEFAULT_TIERS)} distinct names, lowest first "
            f"(the defaults are {', '.join(DEFAULT_TIERS)})."
        )
    return Tiers(tuple(str(n) for n in names))


def protected_root(settings: Settings, table: str) -> Path:
    """The folder holding a protected table's own DuckLake: grant and revoke on this tree.

    ``table`` is ``layer.table`` (``silver.customers``). The folder exists only once the
    table was classified at or above the protected tiers (see :func:`tier_of`).

    Examples
    --------
    >>> s = Settings.resolve(home="/tmp/ws-doc", user="ada")
    >>> protected_root(s, "silver.customers").as_posix()
    '/tmp/ws-doc/protected/silver.customers'
    """
    return _protected_root(settings, table)


def tier_of(settings: Settings, table: str) -> str | None:
    """The tier ``workspace classify`` gave ``table`` (``layer.table``), None if never.

    Examples
    --------
    >>> tier_of(Settings.resolve(home="/tmp/ws-doc-empty"), "silver.customers") is None
    True
    """
    entry = read_index(settings).get(table)
    return None if entry is None else entry.tier
