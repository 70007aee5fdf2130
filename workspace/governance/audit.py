"""The audit trail: who did what to which object, in a store users cannot rewrite.

Services (all root) and root's commands call :func:`record`; entries go into
``$WORKSPACE_HOME/audit/audit.sqlite``, hash-chained (:mod:`workspace.governance.audit_store`),
in a folder only the home's owner can open (the OS enforces it). :func:`record` is a no-op
where the store cannot be written (a user's Lab); :func:`trail` reads it.
Design notes: docs/governance.md, "Audit trail" and "Module notes".

Examples
--------
>>> record("ana", "trigger", "pipeline:daily_sales", run_id="0190")  # doctest: +SKIP
AuditEvent(seq=42, ..., action='trigger', target='pipeline:daily_sales', ...)
"""

from __future__ import annotations

import logging
import os
import pwd
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workspace.governance.audit_store import (
    AuditEvent,
    AuditQuery,
    AuditStore,
    AuditStoreError,
    Verification,
)
from workspace.lake.settings import Settings

__all__ = [
    "AuditEvent",
    "AuditQuery",
    "AuditStoreError",
    "Verification",
    "audit_dir",
    "ensure_audit_dir",
    "os_actor",
    "record",
    "record_user",
    "security_alert",
    "trail",
    "writable_trail",
]

log = logging.getLogger(__name__)

#: The folder under the workspace home.
AUDIT_DIR = "audit"
DB_FILE = "audit.sqlite"
#: The action of a security alert (forwarded to the ``security:`` sinks by the scheduler).
SECURITY_ALERT = "security_alert"
#: The actor of entries the platform makes by itself.
SYSTEM = "workspace"


def audit_dir(settings: Settings | None = None) -> Path:
    """``$WORKSPACE_HOME/audit``."""
    return (settings or Settings.resolve()).home / AUDIT_DIR


def _home_owner(home: Path) -> int | None:
    try:
        return home.stat().st_uid
    except OSError:
        return None


def ensure_audit_dir(settings: Settings | None = None) -> Path | None:
    """Create ``audit/`` (0700) if this process may own it: it is root, or the owner of the
    workspace home. Returns the folder when this process can write the trail, else None.

    An existing folder is used only when it is 0700 and belongs to root or the home's owner,
    so an account that made the folder first could not have kept a way to rewrite it.
    """
    settings = settings or Settings.resolve()
    folder = audit_dir(settings)
    owner = _home_owner(settings.home)
    me = os.geteuid()
    trusted = {0, owner}
    if not folder.exists():
        if me not in trusted or owner is None:  # no home yet: nothing to record into
            return None
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError:
            return None
        os.chmod(folder, 0o700)
    st = folder.stat()
    if st.st_uid not in trusted or st.st_mode & 0o077:
        log.error(
            "audit folder %s belongs to uid %d with mode %o; the trail is kept only in a 0700 "
            "folder of root or the workspace home's owner: nothing recorded",
            folder, st.st_uid, st.st_mode & 0o777,
        )  # fmt: skip
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    return folder


def trail(settings: Settings | None = None) -> AuditStore:
    """The audit store of the workspace (for reading; writing goes through :func:`record`).

    Raises :class:`AuditStoreError` with what to do when this account cannot read it.
    """
    folder = audit_dir(settings)
    if folder.exists() and not os.access(folder, os.R_OK | os.X_OK):
        raise AuditStoreError(
            f"The audit trail in {folder} is readable by its owner only (root in a team "
            "deployment); run `sudo workspace audit`, or ask the security group."
        )
    return AuditStore(folder / DB_FILE)


def writable_trail(settings: Settings | None = None) -> AuditStore | None:
    """The audit store if this process may write it (services, root), else None."""
    folder = ensure_audit_dir(settings)
    return None if folder is None else AuditStore(folder / DB_FILE)


def os_actor() -> str:
    """The person behind a root command: ``$SUDO_USER`` when root ran it through sudo, else
    the account's name.

    Examples
    --------
    >>> isinstance(os_actor(), str)
    True
    """
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        return os.environ["SUDO_USER"]
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def record(
    actor: str, action: str, target: str, /, *, settings: Settings | None = None, **details: Any
) -> AuditEvent | None:
    """Append one entry (``details``: any JSON-able values) to the workspace's trail.

    Returns the entry, or None when this process cannot write the trail (a user's own
    process; their actions are recorded by the service that performs them) or the write
    failed (logged: an audit failure never undoes the action it describes).

    Examples
    --------
    >>> record("legal", "tier_change", "table:silver.customers",
    ...        old="internal", new="confidential")  # doctest: +SKIP
    """
    try:
        store = writable_trail(settings)
        if store is None:
            return None
        return store.append(actor, action, target, details)
    except Exception:
        log.exception("audit: could not record %s %s on %s", actor, action, target)
        return None


def security_alert(
    kind: str, summary: str, *, target: str, settings: Settings | None = None, **details: Any
) -> AuditEvent | None:
    """Record a security alert; the scheduler service sends it to the ``security:`` sinks of
    ``alerts.yaml`` (``workspace.jobs.alerts.security``)."""
    log.warning("security alert (%s): %s", kind, summary)
    return record(
        SYSTEM, SECURITY_ALERT, target, settings=settings, kind=kind, summary=summary, **details
    )


def record_user(
    name: str,
    now: dict[str, Any],
    was: dict[str, Any] | None,
    settings: Settings | None = None,
    **details: Any,
) -> None:
    """Record an added (``was`` None) or changed user, as ``workspace users add`` left it
    (``group``, ``admin``; never a password); a new admin also raises a security alert."""
    actor = os_actor()
    details |= {**now, **({} if was is None else {f"was_{k}": v for k, v in was.items()})}
    action = "user_add" if was is None else "user_change"
    record(actor, action, f"user:{name}", settings=settings, **details)
    if now.get("admin") and not (was or {}).get("admin"):
        security_alert("new_admin", f"{name} became a workspace admin (by {actor})",
                       target=f"user:{name}", settings=settings, by=actor)  # fmt: skip


def _since(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def failed_login_burst(
    name: str,
    *,
    threshold: int = 5,
    window: float = 900.0,
    settings: Settings | None = None,
) -> AuditEvent | None:
    """After a failed login of ``name``: alert once per window when ``threshold`` failures
    for that name (or ``4 * threshold`` for all names together) fell within ``window``
    seconds. Returns the alert recorded, if any."""
    store = writable_trail(settings)
    if store is None or threshold <= 0:
        return None
    since = _since(window)
    limit = 4 * threshold
    mine = store.query(AuditQuery(actor=name, action="login_failed", since=since, limit=limit))
    every = store.query(AuditQuery(action="login_failed", since=since, limit=limit))
    alerts = store.query(AuditQuery(action=SECURITY_ALERT, since=since, limit=1000))
    raised = {(a.target, a.details.get("kind")) for a in alerts}
    if len(mine) >= threshold and (f"user:{name}", "failed_logins") not in raised:
        return security_alert(
            "failed_logins",
            f"{len(mine)} failed logins for {name!r} within {window / 60:g} minutes",
            target=f"user:{name}", settings=settings, count=len(mine),
        )  # fmt: skip
    if len(every) >= limit and ("hub:login", "failed_logins_many") not in raised:
        names = sorted({e.actor for e in every})
        return security_alert(
            "failed_logins_many",
            f"{len(every)} failed logins for {len(names)} names within {window / 60:g} minutes",
            target="hub:login", settings=settings, names=names[:20],
        )  # fmt: skip
    return None
