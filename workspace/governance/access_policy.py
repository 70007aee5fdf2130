"""Who may hold, ask for and decide access, and the names the access lifecycle uses.

The pieces of :mod:`workspace.governance.access` that are not the lifecycle itself: its
errors (400, 403 and 404 through the API's one error mapping), the :class:`Caller` a front
end authenticated, a :class:`Target` (``table:layer.name`` / ``tier:name``), the
:class:`GrantView` that ``workspace access list`` and the API show, and the
:class:`Directory` that refuses grants to unknown users and stakeholders and lists the
members of a hub group (``group:NAME`` grants). It reads the hub's registry
(``hub/users.yaml``) directly: this package sits below the hub.

Examples
--------
>>> Target.parse("table:silver.customers").name
'silver.customers'
"""

from __future__ import annotations

import pwd
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import yaml
from pydantic import BaseModel

from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = [
    "DEFAULT_DAYS",
    "GROUP_PREFIX",
    "LEGAL_GROUP",
    "MAX_DAYS",
    "SECURITY_GROUP",
    "AccessDenied",
    "AccessError",
    "AccessNotFound",
    "Caller",
    "Directory",
    "GrantView",
    "Target",
    "check_days",
    "group_of_principal",
]

#: The hub group that classifies data and approves access (besides each table's owner).
LEGAL_GROUP = "legal"
#: The hub group that reads the audit trail and sees every grant.
SECURITY_GROUP = "security"
DEFAULT_DAYS = 30
MAX_DAYS = 365
#: A grant's principal is a user name, or ``group:NAME`` for every member of a hub group.
GROUP_PREFIX = "group:"


def group_of_principal(principal: str) -> str | None:
    """The group a ``group:NAME`` principal names (None for a user).

    Examples
    --------
    >>> group_of_principal("group:analysts"), group_of_principal("ana")
    ('analysts', None)
    """
    return principal[len(GROUP_PREFIX) :] if principal.startswith(GROUP_PREFIX) else None


class AccessError(WorkspaceError):
    """A request, decision, grant or revocation that cannot be done (400)."""


class AccessDenied(AccessError, PermissionError):
    """The caller may not do this (403)."""


class AccessNotFound(AccessError, LookupError):
    """An unknown user, table, tier, request or grant (404)."""


@dataclass(frozen=True)
class Caller:
    """Who asks, as the front end authenticated them.

    Examples
    --------
    >>> Caller("lee", frozenset({"legal"})).legal, Caller("ana").legal
    (True, False)
    """

    name: str
    groups: frozenset[str] = frozenset()
    admin: bool = False

    @property
    def legal(self) -> bool:
        return self.admin or LEGAL_GROUP in self.groups

    @property
    def overseer(self) -> bool:
        """Sees every request and grant: admins, legal and security."""
        return self.legal or SECURITY_GROUP in self.groups


@dataclass(frozen=True)
class Target:
    """A protected table or a tier, as stored: ``table:silver.customers``, ``tier:restricted``.

    Examples
    --------
    >>> Target.parse("tier:restricted").name, Target("table", "silver.x").key
    ('restricted', 'table:silver.x')
    """

    kind: Literal["table", "tier"]
    name: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> Target:
        kind, _, name = key.partition(":")
        return cls("tier" if kind == "tier" else "table", name)

    def __str__(self) -> str:
        return self.name if self.kind == "table" else f"tier {self.name}"


class GrantView(BaseModel):
    """One grant as ``workspace access list`` shows it: who has what, until when, from whom."""

    id: int
    user: str
    target: str
    tables: list[str]
    granted_by: str
    request_id: int | None = None
    reason: str | None = None
    created_at: datetime
    expires_at: datetime
    active: bool
    ended: str | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    #: the user's latest use of the target in the audit trail (None: never seen)
    last_used: datetime | None = None
    #: a row filter: the user reads only the rows this condition keeps
    rows: str | None = None
    #: a ``group:NAME`` grant: the accounts it reaches now (None for a user's grant)
    members: list[str] | None = None


class Directory:
    """Who may hold a grant: an OS account, registered in the hub (when there is one), in a
    group with a server (``server_groups``; None skips that check)."""

    def __init__(self, settings: Settings, server_groups: Iterable[str] | None = None) -> None:
        self.settings = settings
        self.server_groups = None if server_groups is None else frozenset(server_groups)

    def _registry(self) -> dict[str, dict[str, object]] | None:
        path = self.settings.home / "hub" / "users.yaml"  # workspace.hub.deployment's registry
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        users = data.get("users") if isinstance(data, dict) else None
        return users if isinstance(users, dict) else None

    def group_of(self, user: str) -> str | None:
        """``user``'s hub group in the registry (None without a hub or a registry entry)."""
        entry = (self._registry() or {}).get(user)
        return str(entry.get("group")) if isinstance(entry, dict) else None

    def members(self, group: str | None = None) -> list[str]:
        """The registered users of ``group`` (None: of every group) with an OS account."""
        found = []
        for user, entry in sorted((self._registry() or {}).items()):
            if isinstance(entry, dict) and group in (None, str(entry.get("group"))):
                try:
                    pwd.getpwnam(user)
                except KeyError:
                    continue
                found.append(str(user))
        return found

    def check_group(self, group: str) -> None:
        """Raise unless every member of ``group`` may hold a grant (a group with a Lab)."""
        users = self._registry()
        if users is None:
            raise AccessError(
                f"Cannot grant group {group!r}: groups are the hub's (`workspace users`), and "
                "this workspace has no hub users; grant each user instead."
            )
        known = {str(e.get("group")) for e in users.values() if isinstance(e, dict)}
        if group not in known | (self.server_groups or frozenset()):
            raise AccessNotFound(
                f"Unknown group {group!r}: no workspace user is in it; see `workspace users list`."
            )
        if self.server_groups is not None and group not in self.server_groups:
            raise AccessError(
                f"Cannot grant the {group} group access to tables: its members have no server "
                "and read reports only."
            )

    def check_principal(self, principal: str) -> None:
        """:meth:`check` a user, :meth:`check_group` a ``group:NAME``."""
        group = group_of_principal(principal)
        self.check(principal) if group is None else self.check_group(group)

    def check(self, user: str) -> None:
        """Raise unless ``user`` may hold a grant."""
        try:
            pwd.getpwnam(user)
        except KeyError:
            raise AccessNotFound(
                f"Unknown user {user!r}: there is no OS account of that name; see "
                "`workspace users list`."
            ) from None
        users = self._registry()
        if users is None:  # no hub: a single-user install, the account is enough
            return
        entry = users.get(user)
        if not isinstance(entry, dict):
            raise AccessNotFound(
                f"Unknown user {user!r}: not a workspace user; see `workspace users list`."
            )
        group = str(entry.get("group"))
        no_server = self.server_groups is not None and group not in self.server_groups
        if no_server and not entry.get("admin"):
            raise AccessError(
                f"Cannot grant {user} access to tables: {user} is in the {group} group, "
                "who have no server and read reports only, so there is nothing to read "
                "the data with; move them to a group with a Lab first."
            )


def check_days(days: int) -> int:
    """``days`` if it is a valid grant length, else a one-line error."""
    if not 1 <= int(days) <= MAX_DAYS:
        raise AccessError(f"Invalid --days {days}: a grant lasts 1 to {MAX_DAYS} days.")
    return int(days)
