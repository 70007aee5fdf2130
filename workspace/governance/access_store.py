"""The access requests and grants: a SQLite store only root (the services) can open.

``$WORKSPACE_HOME/governance/access.sqlite`` lives in a 0700 folder of root (or of the
home's owner in a single-user install), as the audit trail does: users cannot read who else
holds a grant, nor write one; they ask the scheduler service. Two tables, ``requests`` and
``grants`` (at most one active grant per user and target), each change in one
``BEGIN IMMEDIATE`` transaction (WAL journal). Columns: docs/governance.md.

>>> import tempfile
>>> store = AccessStore(Path(tempfile.mkdtemp()) / "access.sqlite")
>>> r = store.add_request("ana", "table:silver.customers", "churn study", 30)
>>> (r.id, r.status)
(1, 'pending')
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = [
    "AccessRequest",
    "AccessStore",
    "AccessStoreError",
    "Grant",
    "access_dir",
    "ensure_access_dir",
]

GOVERNANCE_DIR = "governance"
DB_FILE = "access.sqlite"
Status = Literal["pending", "approved", "denied"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL,
    days INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS requests_status ON requests (status, id);
CREATE TABLE IF NOT EXISTS grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user TEXT NOT NULL,
    target TEXT NOT NULL,
    granted_by TEXT NOT NULL,
    request_id INTEGER REFERENCES requests (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT,
    revoked_by TEXT,
    ended TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS grants_active ON grants (user, target) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS grants_expiry ON grants (expires_at) WHERE revoked_at IS NULL;
"""
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"


class AccessStoreError(WorkspaceError):
    """The access store cannot be opened (not root), written or read."""


def as_text(when: datetime) -> str:
    """A UTC time as stored (fixed width: text order is time order).

    >>> as_text(datetime(2026, 1, 2, tzinfo=UTC))
    '2026-01-02T00:00:00.000000Z'
    """
    return when.astimezone(UTC).strftime(_TIME)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.strptime(text, _TIME).replace(tzinfo=UTC)


class AccessRequest(BaseModel):
    """One request for access, as the store keeps it."""

    id: int
    user: str
    target: str
    reason: str
    days: int
    status: Status
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str | None = None
    #: a row filter asked for (None: every row)
    rows: str | None = None


class Grant(BaseModel):
    """One grant: active while ``revoked_at`` is None (and until ``expires_at``)."""

    id: int
    user: str
    target: str
    granted_by: str
    request_id: int | None = None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    #: why it ended: revoked, expired or replaced (a new grant of the same target)
    ended: str | None = None
    #: a row filter (None: every row)
    rows: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _request(row: sqlite3.Row) -> AccessRequest:
    d = dict(row)
    d["created_at"], d["decided_at"] = _time(d["created_at"]), _time(d["decided_at"])
    return AccessRequest.model_validate(d)


def _grant(row: sqlite3.Row) -> Grant:
    d = dict(row)
    for key in ("created_at", "expires_at", "revoked_at"):
        d[key] = _time(d[key])
    return Grant.model_validate(d)


def access_dir(settings: Settings) -> Path:
    """``$WORKSPACE_HOME/governance``."""
    return settings.home / GOVERNANCE_DIR


def ensure_access_dir(settings: Settings) -> Path:
    """The 0700 folder of the store, made when this process is root or owns the home.

    Raises :class:`AccessStoreError` (what to do) when this account may not open it: the OS
    keeps users out, they go through the scheduler service.
    """
    folder = access_dir(settings)
    try:
        owner = settings.home.stat().st_uid
    except OSError:
        raise AccessStoreError(
            f"No workspace home at {settings.home}: nothing to grant access to yet."
        ) from None
    trusted = {0, owner}
    denied = AccessStoreError(
        f"The access grants in {folder} are kept by root: run the command through the "
        "scheduler service (inside the hub) or as root."
    )
    if not folder.exists():
        if os.geteuid() not in trusted:
            raise denied
        folder.mkdir(mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    st = folder.stat()
    if st.st_uid not in trusted or st.st_mode & 0o077:
        raise AccessStoreError(
            f"{folder} belongs to uid {st.st_uid} with mode {st.st_mode & 0o777:o}; the access "
            "store is kept only in a 0700 folder of root or the workspace home's owner."
        )
    if not os.access(folder, os.R_OK | os.W_OK | os.X_OK):
        raise denied
    return folder


class AccessStore:
    """The SQLite file of requests and grants (see the module docs); one connection a call."""

    _ready: set[Path] = set()
    _lock = threading.Lock()

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    @classmethod
    def of(cls, settings: Settings) -> AccessStore:
        """The store of a workspace (checks this process may open it)."""
        return cls(ensure_access_dir(settings) / DB_FILE)

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise AccessStoreError(f"Cannot open the access store {self.path}: {exc}.") from None
        con.row_factory = sqlite3.Row
        with closing(con):
            if self.path not in self._ready:
                with self._lock:
                    con.executescript(_SCHEMA)
                    for table in ("requests", "grants"):  # stores made before row filters
                        have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                        if "rows" not in have:
                            con.execute(f"ALTER TABLE {table} ADD COLUMN rows TEXT")
                    con.execute("PRAGMA journal_mode=WAL")
                    os.chmod(self.path, 0o600)
                    self._ready.add(self.path)
            if not write:
                yield con
                return
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # -- requests ---------------------------------------------------------------------------
    def add_request(
        self,
        user: str,
        target: str,
        reason: str,
        days: int,
        *,
        now: datetime | None = None,
        rows: str | None = None,
    ) -> AccessRequest:
        """A new pending request."""
        created = as_text(now or datetime.now(UTC))
        with self._connect(write=True) as con:
            cur = con.execute(
                "INSERT INTO requests (user, target, reason, days, created_at, rows) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (user, target, reason, days, created, rows),
            )
            row = con.execute("SELECT * FROM requests WHERE id = ?", (cur.lastrowid,)).fetchone()
        return _request(row)

    def request(self, request_id: int) -> AccessRequest | None:
        with self._connect() as con:
            row = con.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
        return None if row is None else _request(row)

    def requests(
        self, *, status: str | None = None, user: str | None = None, limit: int = 500
    ) -> list[AccessRequest]:
        """Requests, newest first."""
        where, args = _where(status=status, user=user)
        sql = f"SELECT * FROM requests{where} ORDER BY id DESC LIMIT ?"
        with self._connect() as con:
            return [_request(r) for r in con.execute(sql, (*args, limit))]

    def decide(
        self,
        request_id: int,
        status: Status,
        by: str,
        *,
        note: str | None = None,
        grant: tuple[datetime, datetime] | None = None,
    ) -> tuple[AccessRequest, Grant | None]:
        """Mark a pending request approved or denied; with ``grant`` (created, expires) add
        its grant in the same transaction. Raises :class:`AccessStoreError` when the request
        was decided meanwhile."""
        with self._connect(write=True) as con:
            done = con.execute(
                "UPDATE requests SET status = ?, decided_by = ?, decided_at = ?, note = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, by, as_text(datetime.now(UTC)), note, request_id),
            )
            if done.rowcount != 1:
                raise AccessStoreError(f"Access request {request_id} was already decided.")
            row = con.execute("SELECT * FROM requests WHERE id = ?", (request_id,)).fetchone()
            made = None
            if grant is not None:
                made = self._insert_grant(
                    con, row["user"], row["target"], by, request_id, *grant, rows=row["rows"]
                )
        return _request(row), made

    # -- grants -----------------------------------------------------------------------------
    def _insert_grant(
        self,
        con: sqlite3.Connection,
        user: str,
        target: str,
        by: str,
        request_id: int | None,
        created: datetime,
        expires: datetime,
        *,
        rows: str | None = None,
    ) -> Grant:
        con.execute(  # a new grant of the same target replaces the active one
            "UPDATE grants SET revoked_at = ?, revoked_by = ?, ended = 'replaced' "
            "WHERE user = ? AND target = ? AND revoked_at IS NULL",
            (as_text(created), by, user, target),
        )
        cur = con.execute(
            "INSERT INTO grants (user, target, granted_by, request_id, created_at, expires_at, "
            "rows) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (user, target, by, request_id, as_text(created), as_text(expires), rows),
        )
        return _grant(con.execute("SELECT * FROM grants WHERE id = ?", (cur.lastrowid,)).fetchone())

    def add_grant(
        self,
        user: str,
        target: str,
        by: str,
        days: int,
        *,
        now: datetime | None = None,
        rows: str | None = None,
    ) -> Grant:
        """A grant without request (the admin shortcut), active for ``days``."""
        created = now or datetime.now(UTC)
        with self._connect(write=True) as con:
            return self._insert_grant(
                con, user, target, by, None, created, created + timedelta(days=days), rows=rows
            )

    def grants(
        self,
        *,
        user: str | None = None,
        target: str | None = None,
        active: bool = True,
        limit: int = 1000,
    ) -> list[Grant]:
        """Grants (only active ones unless ``active`` is False), newest first."""
        where, args = _where(user=user, target=target)
        if active:
            where += (" AND" if where else " WHERE") + " revoked_at IS NULL"
        sql = f"SELECT * FROM grants{where} ORDER BY id DESC LIMIT ?"
        with self._connect() as con:
            return [_grant(r) for r in con.execute(sql, (*args, limit))]

    def end(self, grant_ids: list[int], by: str, why: str, *, now: datetime | None = None) -> int:
        """End active grants (``why``: revoked or expired); returns how many ended."""
        if not grant_ids:
            return 0
        marks = ",".join("?" * len(grant_ids))
        with self._connect(write=True) as con:
            cur = con.execute(
                "UPDATE grants SET revoked_at = ?, revoked_by = ?, ended = ? "
                f"WHERE id IN ({marks}) AND revoked_at IS NULL",
                (as_text(now or datetime.now(UTC)), by, why, *grant_ids),
            )
            return int(cur.rowcount)

    def due(self, now: datetime | None = None) -> list[Grant]:
        """Active grants whose time is up, oldest expiry first."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT * FROM grants WHERE revoked_at IS NULL AND expires_at <= ? "
                "ORDER BY expires_at",
                (as_text(now or datetime.now(UTC)),),
            )
            return [_grant(r) for r in rows]


def _where(**filters: Any) -> tuple[str, list[Any]]:
    pairs = [(k, v) for k, v in filters.items() if v is not None]
    if not pairs:
        return "", []
    return " WHERE " + " AND ".join(f"{k} = ?" for k, _ in pairs), [v for _, v in pairs]
