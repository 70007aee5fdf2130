"""Access to protected tables: request, approve or deny, grant, revoke, expire.

A grant adds the user to the protected table's POSIX ACL (:mod:`workspace.governance.acl`),
so the kernel lets them open it from the next ``open()`` on; a *tier* target covers every
table of the tier, later ones too (:meth:`AccessService.sync`). Anyone with a Lab requests
for themselves; the table's owner, ``legal`` and admins approve, deny, grant and revoke
(never their own request; a tier needs ``legal``); stakeholders get nothing. Every step is
audited (``access_request`` ... ``access_expire``, refusals as ``access_refused``), and the
scheduler service expires grants on time. Who may do what, in full: docs/governance.md.
"""

from __future__ import annotations

import logging
import pwd
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from workspace.governance import acl, row_filters
from workspace.governance.access_policy import (
    DEFAULT_DAYS,
    LEGAL_GROUP,
    SECURITY_GROUP,
    AccessDenied,
    AccessError,
    AccessNotFound,
    Caller,
    Directory,
    GrantView,
    Target,
    check_days,
    group_of_principal,
)
from workspace.governance.access_store import AccessRequest, AccessStore, Grant
from workspace.governance.audit import SYSTEM, AuditQuery, record, security_alert, trail
from workspace.governance.tiers import Tiers, UnknownTierError, load_tiers
from workspace.lake.errors import WorkspaceError
from workspace.lake.protected import ProtectedEntry, protected_root, read_index
from workspace.lake.settings import Settings

__all__ = ["AccessService", "store_path"]  # the rules and payloads: access_policy

log = logging.getLogger(__name__)
#: Audit actions that count as a use of a grant (reads of a table that went through a service).
READ_ACTIONS = frozenset({"read", "preview", "profile", "query", "export", "protected_open"})


class AccessService:
    """The access lifecycle of one workspace (runs as root: the service or root's command)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: AccessStore | None = None,
        tiers: Tiers | None = None,
        directory: Directory | None = None,
        server_groups: Iterable[str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self.tiers = tiers or load_tiers()
        self.directory = directory or Directory(settings, server_groups)
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def store(self) -> AccessStore:
        if self._store is None:
            self._store = AccessStore.of(self.settings)
        return self._store

    # -- targets ----------------------------------------------------------------------------
    def index(self) -> dict[str, ProtectedEntry]:
        return {k: e for k, e in read_index(self.settings).items() if e.protected}

    def _protected_tiers(self) -> list[str]:
        return [t for t in self.tiers.names if self.tiers.protected(t)]

    def resolve(self, name: str) -> Target:
        """The table or tier ``name`` names (``layer.table``, a tier, or a stored key)."""
        text = name.strip()
        kind, sep, rest = text.partition(":")
        if sep and kind in ("table", "tier"):
            text = rest
        if (sep and kind == "tier") or (not sep and "." not in text):
            try:
                self.tiers.check(text)
            except UnknownTierError:
                raise AccessNotFound(
                    f"Unknown table or tier {name!r}: name a protected table (layer.table) or "
                    f"a tier ({', '.join(self._protected_tiers())})."
                ) from None
            if not self.tiers.protected(text):
                raise AccessError(
                    f"Tier {text} is readable by every workspace user: nothing to request."
                )
            return Target("tier", text)
        entry = read_index(self.settings).get(text)
        if entry is None:
            raise AccessNotFound(
                f"Unknown table {text!r}: no protected table of that name (only tables "
                f"classified {' or '.join(self._protected_tiers())} need a grant)."
            )
        if not entry.protected:
            raise AccessError(
                f"{text} is {entry.tier}: every workspace user reads it already; no grant needed."
            )
        return Target("table", text)

    def tables(self, target: Target) -> list[ProtectedEntry]:
        """The protected tables a target covers now."""
        index = self.index()
        if target.kind == "table":
            return [index[target.name]] if target.name in index else []
        return [e for e in index.values() if e.tier == target.name]

    def approvers(self, target: Target) -> str:
        """Who may approve ``target``, in words."""
        owners = sorted({e.owner for e in self.tables(target) if e.owner})
        if target.kind == "table" and owners:
            return f"its owner {owners[0]}, the {LEGAL_GROUP} group or an admin"
        return f"the {LEGAL_GROUP} group or an admin"

    def may_approve(self, caller: Caller, target: Target) -> bool:
        if caller.legal:
            return True
        return target.kind == "table" and any(e.owner == caller.name for e in self.tables(target))

    def _require_approver(self, caller: Caller, target: Target, what: str) -> None:
        if not self.may_approve(caller, target):
            self._refused(caller, target, what)
            raise AccessDenied(
                f"{caller.name} may not {what} access to {target}: that is for "
                f"{self.approvers(target)}."
            )

    def _refused(self, caller: Caller, target: Target, what: str, **details: object) -> None:
        record(caller.name, "access_refused", target.key, settings=self.settings,
               attempted=what, **details)  # fmt: skip

    # -- the OS side ------------------------------------------------------------------------
    def sync(self, user: str) -> tuple[list[str], list[str]]:
        """Make the ACLs of every protected tree match ``user``'s active grants: add the
        trees they cover, remove the others, and keep row-filtered copies
        (:mod:`~workspace.governance.row_filters`) in step. Returns (added, removed)."""
        index = self.index()
        wanted: set[str] = set()
        filtered: dict[str, str] = {}
        for grant in self._grants_of(user):
            covered = [e.table for e in self.tables(Target.parse(grant.target))]
            if grant.rows:
                filtered.update(dict.fromkeys(covered, grant.rows))
            else:
                wanted.update(covered)
        filtered = {t: w for t, w in filtered.items() if t not in wanted}  # every row wins
        added, removed = [], []
        for table in sorted(index):
            root = protected_root(self.settings, table)
            if not root.exists():
                continue
            has = user in acl.readers(root)
            if table in wanted and not has:
                acl.grant_read(root, user)
                added.append(table)
            elif table not in wanted and has:
                acl.revoke_read(root, user)
                removed.append(table)
        from workspace.lake.workspace import Workspace

        changed = row_filters.sync_user(lambda: Workspace(self.settings), self.settings, user,
                                        filtered)  # fmt: skip
        added += [f"{t} (rows)" for t in changed if t in filtered]
        removed += [f"{t} (rows)" for t in changed if t not in filtered]
        return added, removed

    def _grants_of(self, user: str) -> list[Grant]:
        """``user``'s active grants: their own and their hub group's (``group:NAME``)."""
        group = self.directory.group_of(user)
        mine = self.store.grants(user=user)
        return mine + ([] if group is None else self.store.grants(user=f"group:{group}"))

    def holders(self, principal: str) -> list[str]:
        """The accounts a grant to ``principal`` reaches: the user, or the group's members."""
        group = group_of_principal(principal)
        return [principal] if group is None else self.directory.members(group)

    def _sync_holders(self, principal: str) -> None:
        for user in self.holders(principal):
            self.sync(user)

    def _alert(self, grant: Grant, by: str) -> None:
        top = self.tiers.names[-1]
        target = Target.parse(grant.target)
        tiers = {target.name} if target.kind == "tier" else {e.tier for e in self.tables(target)}
        if top in tiers:
            security_alert(
                "restricted_grant",
                f"{grant.user} was granted {top} data ({target}) by {by} until "
                f"{grant.expires_at:%Y-%m-%d %H:%M} UTC",
                target=grant.target, settings=self.settings, user=grant.user, by=by,
                grant_id=grant.id,
            )  # fmt: skip

    # -- the lifecycle ----------------------------------------------------------------------
    def request(
        self,
        caller: Caller,
        name: str,
        reason: str,
        days: int = DEFAULT_DAYS,
        *,
        rows: str | None = None,
    ) -> AccessRequest:
        """A pending request of ``caller`` for ``name`` (only the ``rows`` a condition keeps,
        when given); the approvers are notified through the ``access:`` sinks."""
        target = self.resolve(name)
        rows = row_filters.condition_for(self.settings, target.kind, target.name, rows)
        reason = (reason or "").strip()
        if len(reason) < 3:
            raise AccessError("Give a reason (--reason TEXT): the approvers decide on it.")
        days = check_days(days)
        self.directory.check(caller.name)
        for pending in self.store.requests(status="pending", user=caller.name):
            if pending.target == target.key:
                raise AccessError(
                    f"You already asked for {target} (request {pending.id}, pending); wait for "
                    f"{self.approvers(target)} to decide."
                )
        req = self.store.add_request(
            caller.name, target.key, reason, days, now=self.clock(), rows=rows
        )
        record(caller.name, "access_request", target.key, settings=self.settings,
               request_id=req.id, reason=reason, days=days, rows=rows,
               approvers=self.approvers(target))  # fmt: skip
        return req

    def _pending(self, request_id: int) -> AccessRequest:
        req = self.store.request(int(request_id))
        if req is None:
            raise AccessNotFound(
                f"No access request {request_id}: see `workspace access requests`."
            )
        if req.status != "pending":
            raise AccessError(
                f"Access request {request_id} was already {req.status} by {req.decided_by}."
            )
        return req

    def approve(self, caller: Caller, request_id: int) -> GrantView:
        """Approve a pending request: the grant is provisioned at once."""
        req = self._pending(request_id)
        target = Target.parse(req.target)
        if req.user == caller.name:
            self._refused(caller, target, "approve", request_id=req.id)
            raise AccessDenied(
                f"You cannot approve your own access request {req.id}: ask "
                f"{self.approvers(target)}."
            )
        self._require_approver(caller, target, "approve")
        self.directory.check(req.user)
        now = self.clock()
        _, grant = self.store.decide(
            req.id, "approved", caller.name, grant=(now, now + timedelta(days=req.days))
        )
        assert grant is not None
        self._provision(grant)
        record(caller.name, "access_approve", req.target, settings=self.settings,
               request_id=req.id, user=req.user, grant_id=grant.id,
               expires_at=grant.expires_at.isoformat())  # fmt: skip
        self._alert(grant, caller.name)
        return self.view(grant, reason=req.reason)

    def deny(self, caller: Caller, request_id: int, note: str | None = None) -> AccessRequest:
        """Deny a pending request (its user may withdraw it the same way)."""
        req = self._pending(request_id)
        target = Target.parse(req.target)
        if req.user != caller.name:
            self._require_approver(caller, target, "deny")
        note = note or ("withdrawn" if req.user == caller.name else None)
        decided, _ = self.store.decide(req.id, "denied", caller.name, note=note)
        record(caller.name, "access_deny", req.target, settings=self.settings,
               request_id=req.id, user=req.user, note=note)  # fmt: skip
        return decided

    def grant(
        self,
        caller: Caller,
        user: str,
        name: str,
        days: int = DEFAULT_DAYS,
        *,
        rows: str | None = None,
    ) -> GrantView:
        """The approvers' shortcut: grant ``user`` access (to the ``rows`` a condition keeps,
        when given) without a request."""
        target = self.resolve(name)
        days = check_days(days)
        rows = row_filters.condition_for(self.settings, target.kind, target.name, rows)
        self._require_approver(caller, target, "grant")
        if caller.name in (user, *self.holders(user)):
            self._refused(caller, target, "grant", user=user)
            who = "yourself" if user == caller.name else f"a group you are in ({user})"
            raise AccessDenied(
                f"You cannot grant {who} access to {target}: ask {self.approvers(target)}."
            )
        self.directory.check_principal(user)
        grant = self.store.add_grant(
            user, target.key, caller.name, days, now=self.clock(), rows=rows
        )
        self._provision(grant)
        record(caller.name, "access_grant", target.key, settings=self.settings, user=user,
               grant_id=grant.id, expires_at=grant.expires_at.isoformat(),
               rows=rows,
               members=self.holders(user) if group_of_principal(user) else None)  # fmt: skip
        self._alert(grant, caller.name)
        return self.view(grant)

    def _provision(self, grant: Grant) -> None:
        try:
            self._sync_holders(grant.user)
        except (acl.AclError, OSError, WorkspaceError, duckdb.Error) as exc:  # no grant without it
            self.store.end([grant.id], SYSTEM, "failed")
            raise AccessError(
                f"Could not give {grant.user} access to {Target.parse(grant.target)}: {exc}"
            ) from None

    def revoke(self, caller: Caller, user: str, name: str) -> list[GrantView]:
        """End ``user``'s active grants on ``name``; the ACL goes at once."""
        key = self._grant_key(user, name)
        target = Target.parse(key)
        if user != caller.name:
            self._require_approver(caller, target, "revoke")
        grants = self.store.grants(user=user, target=key)
        now = self.clock()
        self.store.end([g.id for g in grants], caller.name, "revoked", now=now)
        self._sync_holders(user)
        record(caller.name, "access_revoke", key, settings=self.settings, user=user,
               grant_ids=[g.id for g in grants])  # fmt: skip
        ids = {g.id for g in grants}
        ended = self.store.grants(user=user, target=key, active=False)
        return [self.view(g) for g in ended if g.id in ids]

    def _grant_key(self, user: str, name: str) -> str:
        text = name.strip()
        active = {g.target for g in self.store.grants(user=user)}
        for key in (text, f"table:{text}", f"tier:{text}"):
            if key in active:
                return key
        target = self.resolve(text)  # unknown table or tier: that error
        raise AccessNotFound(
            f"{user} has no active grant on {target}: see `workspace access list --user {user}`."
        )

    def expire(self, now: datetime | None = None) -> list[Grant]:
        """Revoke every grant whose time is up (the scheduler service calls this)."""
        now = now or self.clock()
        ended = []
        for grant in self.store.due(now):
            if not self.store.end([grant.id], SYSTEM, "expired", now=now):
                continue  # revoked meanwhile
            try:
                self._sync_holders(grant.user)
            except (acl.AclError, OSError):
                log.exception("access: could not remove %s's expired ACL", grant.user)
            record(SYSTEM, "access_expire", grant.target, settings=self.settings,
                   user=grant.user, grant_id=grant.id,
                   expires_at=grant.expires_at.isoformat())  # fmt: skip
            ended.append(grant)
        return ended

    def sync_all(self) -> int:
        """:meth:`sync` every account a grant reaches and every registered user (tables
        newly classified into a granted tier, trees re-created by a reclassification,
        users who joined or left a granted group); returns the changes made."""
        changed = 0
        principals = {g.user for g in self.store.grants()}
        users = {u for p in principals for u in self.holders(p)}
        users.update(self.directory.members())  # who left a granted group loses its grants
        for user in sorted(users):
            try:
                pwd.getpwnam(user)
            except KeyError:  # the account was removed (`workspace users remove`)
                changed += self.forget(user) if user in principals else 0
                continue
            added, removed = self.sync(user)
            changed += len(added) + len(removed)
        for table in self.index():  # an account deleted while a group grant reached it
            root = protected_root(self.settings, table)
            if root.exists() and acl.has_orphans(root):
                acl.forget(root, "")
        return changed

    def forget(self, user: str) -> int:
        """End the grants of a removed account, delete its row-filtered copies and strip, from
        every protected tree, the ACL entries that name it or any uid without an account (a
        later account reusing the uid must not inherit them). Returns the grants ended."""
        grants = self.store.grants(user=user)
        self.store.end([g.id for g in grants], SYSTEM, "account removed")
        for table in self.index():
            acl.forget(protected_root(self.settings, table), user)
            row_filters.remove(self.settings, table, user)
        for grant in grants:
            record(SYSTEM, "access_expire", grant.target, settings=self.settings, user=user,
                   grant_id=grant.id, why="account removed")  # fmt: skip
        return len(grants)

    # -- reading ----------------------------------------------------------------------------
    def view(self, grant: Grant, *, reason: str | None = None) -> GrantView:
        if reason is None and grant.request_id is not None:
            req = self.store.request(grant.request_id)
            reason = None if req is None else req.reason
        return GrantView(
            **grant.model_dump(exclude={"revoked_by", "revoked_at", "ended"}),
            tables=[e.table for e in self.tables(Target.parse(grant.target))],
            reason=reason, active=grant.active, ended=grant.ended,
            revoked_at=grant.revoked_at, revoked_by=grant.revoked_by,
            last_used=self._last_used(grant),
            members=self.holders(grant.user) if group_of_principal(grant.user) else None,
        )  # fmt: skip

    def _last_used(self, grant: Grant) -> datetime | None:
        """The newest use of the grant's tables by its user in the audit trail (an entry of
        :data:`READ_ACTIONS` on ``table:NAME``): reads through services, and the file opens
        the scheduler service sees with fanotify (:mod:`workspace.governance.read_watch`),
        raw DuckDB in the user's own kernel included."""
        try:
            store = trail(self.settings)
            seen = [
                e.time
                for user in self.holders(grant.user)
                for table in self.tables(Target.parse(grant.target))
                for e in store.query(
                    AuditQuery(actor=user, target=f"table:{table.table}", limit=20)
                )
                if e.action in READ_ACTIONS and e.time >= _iso(grant.created_at)
            ]
        except WorkspaceError:
            return None
        if not seen:
            return None
        return datetime.strptime(max(seen), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)

    def grants(
        self,
        caller: Caller,
        *,
        user: str | None = None,
        table: str | None = None,
        active: bool = True,
    ) -> list[GrantView]:
        """Who has what: everything for admins, legal and security, one's own otherwise."""
        if not caller.overseer:
            if user not in (None, caller.name):
                raise AccessDenied(
                    f"{caller.name} may list only their own grants; the {LEGAL_GROUP} and "
                    f"{SECURITY_GROUP} groups see everyone's."
                )
            user = caller.name
        found = self.store.grants(user=user, active=active)
        group = None if user is None else self.directory.group_of(user)
        if group is not None:  # what reaches the user through their group
            found += self.store.grants(user=f"group:{group}", active=active)
        views = [self.view(g) for g in found]
        if table is not None:
            views = [v for v in views if table in v.tables or v.target.endswith(f":{table}")]
        return views

    def requests(
        self, caller: Caller, *, status: str | None = "pending", user: str | None = None
    ) -> list[AccessRequest]:
        """Requests the caller may decide (or sees as an overseer), and their own."""
        found = self.store.requests(status=status, user=user)
        if caller.overseer:
            return found
        return [
            r
            for r in found
            if r.user == caller.name or self.may_approve(caller, Target.parse(r.target))
        ]


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def store_path(settings: Settings) -> Path:
    """Where the store lives (for messages and docs)."""
    return settings.home / "governance" / "access.sqlite"
