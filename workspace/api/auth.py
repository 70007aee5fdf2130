"""Who is calling, and the names access rules are written in: identity, scopes, groups, names.

The one place for them; the front ends only check: :class:`Identity` (a hub user or service,
or the standalone scheduler's token, with groups and scopes), the hub's custom scopes
(:data:`RUN_SCOPE`, :data:`MANAGE_SCOPE`, :data:`VIEW_SCOPE`) and groups (:data:`GROUPS`), and
the name rules (:data:`PIPELINE_NAME`, :func:`validate_user_name`). Design notes: docs/api.md.

Examples
--------
>>> ada = Identity("ada", frozenset({ANALYSTS}), frozenset({RUN_SCOPE, VIEW_SCOPE}))
>>> ada.can_change("ada"), ada.can_change("bob"), ada.may_view_reports, ada.sees_everything
(True, False, True, False)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from workspace.jobs.spec.pipeline import NAME_PATTERN, PIPELINE_NAME
from workspace.lake.errors import WorkspaceError

__all__ = [
    "ADMINS",
    "ADMIN_SCOPES",
    "ANALYSTS",
    "CUSTOM_SCOPES",
    "ENGINEERS",
    "GROUPS",
    "LEGAL",
    "MANAGE_SCOPE",
    "NAME_PATTERN",
    "PIPELINE_NAME",
    "RESERVED_NAMES",
    "RESERVED_PREFIXES",
    "RUN_SCOPE",
    "SCIENTISTS",
    "SECURITY",
    "SERVER_GROUPS",
    "STAKEHOLDERS",
    "USER_NAME",
    "VIEW_SCOPE",
    "Group",
    "Identity",
    "InvalidUserNameError",
    "validate_user_name",
]

# -- scopes -----------------------------------------------------------------------------------
#: Own pipelines and trigger their runs (analysts, scientists).
RUN_SCOPE = "custom:pipelines:run"
#: Manage and trigger every pipeline, approve promotions (engineers, admins).
MANAGE_SCOPE = "custom:pipelines:manage"
#: View pipeline reports, subject to each pipeline's audience.
VIEW_SCOPE = "custom:reports:view"
#: The workspace's custom hub scopes and their descriptions (``c.JupyterHub.custom_scopes``).
CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    RUN_SCOPE: {"description": "Own pipelines and trigger runs of one's own pipelines."},
    MANAGE_SCOPE: {"description": "Manage and trigger every pipeline."},
    VIEW_SCOPE: {"description": "View pipeline reports (subject to each pipeline's audience)."},
}
#: Scopes only a hub admin holds: their holder counts as an admin.
ADMIN_SCOPES = ("admin:users",)

# -- groups -----------------------------------------------------------------------------------
ANALYSTS, SCIENTISTS = "analysts", "scientists"
ENGINEERS, STAKEHOLDERS = "engineers", "stakeholders"
#: Classifies data and approves access (legal); reads the audit trail and receives the
#: security alerts (security). Both work in a Lab of their own, as analysts do.
LEGAL, SECURITY = "legal", "security"
#: The extra hub group of the registry's admins (it carries the custom scopes).
ADMINS = "admins"
#: Hub groups, each mapped to an RBAC role by ``hub_config/jupyterhub_config.py``.
GROUPS: tuple[str, ...] = (ANALYSTS, SCIENTISTS, ENGINEERS, STAKEHOLDERS, LEGAL, SECURITY)
#: Groups whose members get a single-user server (stakeholders only view reports).
SERVER_GROUPS: tuple[str, ...] = (ANALYSTS, SCIENTISTS, ENGINEERS, LEGAL, SECURITY)
Group = Literal["analysts", "scientists", "engineers", "stakeholders", "legal", "security"]

# -- user names -------------------------------------------------------------------------------
#: A name valid both as a Linux account (useradd's portable set, lower case, at most 32
#: characters, not starting with a digit or dash) and as a JupyterHub user name (which
#: JupyterHub lower-cases and puts in URLs).
USER_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
#: Names that would collide with system accounts or hub routes.
RESERVED_NAMES = frozenset(
    {"root", "daemon", "bin", "sys", "nobody", "hub", "services", "user", "api", "jovyan",
     "ws-runner"}
)  # fmt: skip
#: Sandboxes named so belong to pipelines (``sandboxes/pipeline_<name>``), not to people.
RESERVED_PREFIXES = ("pipeline_", "pipeline-")


class InvalidUserNameError(WorkspaceError, ValueError):
    """A user name is not valid for both Linux and JupyterHub."""


def validate_user_name(name: str) -> str:
    """Return ``name`` if it is usable as a Linux account and a hub user, else raise.

    Examples
    --------
    >>> validate_user_name("ada_l")
    'ada_l'
    >>> validate_user_name("Ada")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    InvalidUserNameError: invalid user name 'Ada': ...
    """
    if not USER_NAME.fullmatch(name or ""):
        raise InvalidUserNameError(
            f"invalid user name {name!r}: use 1-32 characters, lower-case letters, digits, "
            "'_' or '-', starting with a letter or '_'"
        )
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIXES):
        raise InvalidUserNameError(f"user name {name!r} is reserved; pick another")
    return name


# -- identity ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Identity:
    """The caller of a request: a hub user (or service), or the static API token.

    Examples
    --------
    >>> sam = Identity.from_hub_model(
    ...     {"name": "sam", "groups": [STAKEHOLDERS], "scopes": [VIEW_SCOPE]})
    >>> sam.may_view_reports, sam.stakeholder, sam.can_read, sam.may_see_code("sam")
    (True, True, False, False)
    >>> Identity.from_hub_model({"name": "root", "admin": True}).sees_everything
    True
    """

    name: str
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    admin: bool = False
    kind: str = "user"

    @classmethod
    def from_hub_model(cls, model: Mapping[str, Any]) -> Identity:
        """From a hub user (or service) model: ``GET /hub/api/user`` for a token, or
        ``HubOAuthenticated.current_user`` (``name``, ``groups``, ``scopes``, ``admin``)."""
        scopes = frozenset(str(s) for s in model.get("scopes") or ())
        return cls(
            name=str(model.get("name") or ""),
            groups=frozenset(str(g) for g in model.get("groups") or ()),
            scopes=scopes,
            admin=model.get("admin") is True or any(s in scopes for s in ADMIN_SCOPES),
            kind=str(model.get("kind") or "user"),
        )

    def has(self, scope: str) -> bool:
        """Whether the identity holds ``scope`` (unfiltered; admins hold every scope)."""
        return self.admin or scope in self.scopes

    # -- the scheduler ---------------------------------------------------------------------
    @property
    def can_read(self) -> bool:
        """May use the scheduler at all (read pipelines and their own runs)."""
        return self.has(RUN_SCOPE) or self.has(MANAGE_SCOPE)

    @property
    def manager(self) -> bool:
        """Manages every pipeline: approves promotions, sees and changes every run."""
        return self.has(MANAGE_SCOPE)

    def can_change(self, owner: str | None) -> bool:
        """Whether the identity may trigger/pause/resume/repair/cancel a pipeline owned by
        ``owner``."""
        if self.manager:
            return True
        return self.has(RUN_SCOPE) and owner is not None and owner == self.name

    def can_see(self, owner: str | None) -> bool:
        """Whether the identity may see a pipeline owned by ``owner`` in full: its detail,
        runs, last run, parameters and history. The same people who may change it (its
        owner, engineers, admins); everyone else sees only its headline in listings
        (:mod:`workspace.hub.jobs_visibility`). A pipeline's audience reads its reports in
        the reports service, not its runs."""
        return self.can_change(owner)

    # -- the reports service ---------------------------------------------------------------
    @property
    def sees_everything(self) -> bool:
        """Admins and engineers see every pipeline's reports, whatever its audience."""
        return self.manager or ENGINEERS in self.groups

    @property
    def may_view_reports(self) -> bool:
        """Has the reports scope (or sees everything anyway)."""
        return self.sees_everything or VIEW_SCOPE in self.scopes

    @property
    def stakeholder(self) -> bool:
        """Stakeholders read results: they never get code."""
        return STAKEHOLDERS in self.groups and not self.sees_everything

    def may_see_code(self, owner: str | None) -> bool:
        """Code cells of a report on request: the pipeline's ``owner``, engineers and admins
        only, never a stakeholder."""
        if self.stakeholder:
            return False
        return self.sees_everything or (owner is not None and owner == self.name)
