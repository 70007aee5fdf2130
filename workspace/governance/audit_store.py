"""The audit trail's storage: an append-only, hash-chained SQLite table.

Each entry carries ``seq`` (1, 2, 3, ... without gaps), ``time`` (UTC, ISO 8601),
``actor``, ``action``, ``target``, ``details`` (a JSON object), ``prev_hash`` (the previous
entry's hash; 64 zeros for the first) and ``hash``: the SHA-256 of the canonical JSON of all
the other fields (:func:`entry_hash`). Changing, removing or reordering an entry breaks the
chain at that entry, which :meth:`AuditStore.verify` names. Triggers refuse ``UPDATE`` and
``DELETE`` as a second line; root can drop them, which is why the chain exists. The latest
``(seq, hash)`` is also written to ``anchor.json`` beside the database, so that cutting
entries off the end is detected too. Indexes on actor, action, target and time keep a
filtered query fast (``tests/benchmarks/bench_audit.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from workspace.lake.errors import WorkspaceError

__all__ = ["AuditEvent", "AuditQuery", "AuditStore", "AuditStoreError", "Verification"]

#: ``prev_hash`` of the first entry.
GENESIS = "0" * 64
ANCHOR = "anchor.json"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_actor ON events (actor, seq);
CREATE INDEX IF NOT EXISTS events_action ON events (action, seq);
CREATE INDEX IF NOT EXISTS events_target ON events (target, seq);
CREATE INDEX IF NOT EXISTS events_time ON events (time);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be changed'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: entries cannot be deleted'); END;
"""
_COLUMNS = "seq, time, actor, action, target, details, prev_hash, hash"


class AuditStoreError(WorkspaceError):
    """The audit store cannot be opened, written or read."""


class AuditEvent(BaseModel):
    """One entry of the audit trail.

    Examples
    --------
    >>> e = AuditEvent(seq=1, time="2026-01-01T00:00:00.000000Z", actor="ana",
    ...                action="trigger", target="pipeline:daily", details={"run_id": "r1"},
    ...                prev_hash=GENESIS, hash="")
    >>> entry_hash(e) == entry_hash(e.model_copy(update={"hash": "x"}))
    True
    """

    seq: int
    time: str
    actor: str
    action: str
    target: str
    details: dict[str, Any] = Field(default_factory=dict)
    prev_hash: str
    hash: str


class AuditQuery(BaseModel):
    """A filter over the trail: exact ``actor``/``action``, ``target`` exact or a glob
    (``pipeline:*``), entries at or after ``since`` (ISO time), the newest ``limit``."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: str | None = None
    limit: int = Field(100, ge=1, le=100_000)


@dataclass(frozen=True)
class Verification:
    """What :meth:`AuditStore.verify` found: ``ok``, entries checked, the first broken
    entry's ``seq`` and why."""

    ok: bool
    checked: int
    last_seq: int
    broken_seq: int | None = None
    reason: str = ""


def canonical(data: Any) -> str:
    """The JSON text hashed and stored: sorted keys, no spaces, UTF-8.

    Examples
    --------
    >>> canonical({"b": 1, "a": [1, "é"]})
    '{"a":[1,"é"],"b":1}'
    """
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(event: AuditEvent) -> str:
    """SHA-256 (hex) of the canonical JSON of every field but ``hash``."""
    body = event.model_dump(exclude={"hash"})
    return hashlib.sha256(canonical(body).encode("utf-8")).hexdigest()


def now_text() -> str:
    """The current UTC time as stored (fixed width, so text order is time order)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _row(row: sqlite3.Row | tuple[Any, ...]) -> AuditEvent:
    seq, time, actor, action, target, details, prev_hash, digest = tuple(row)
    return AuditEvent(
        seq=seq, time=time, actor=actor, action=action, target=target,
        details=json.loads(details), prev_hash=prev_hash, hash=digest,
    )  # fmt: skip


class AuditStore:
    """The SQLite file of the trail (see the module docs); one connection per call.

    Examples
    --------
    >>> import tempfile
    >>> store = AuditStore(Path(tempfile.mkdtemp()) / "audit.sqlite")
    >>> store.append("ana", "trigger", "pipeline:daily", {"run_id": "r1"}).seq
    1
    >>> store.verify().ok
    True
    """

    _ready: set[Path] = set()
    _lock = threading.Lock()

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    @property
    def anchor_path(self) -> Path:
        return self.path.with_name(ANCHOR)

    @contextmanager
    def _connect(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        if not write and not self.path.exists():
            raise AuditStoreError(f"No audit trail at {self.path} yet: nothing was recorded.")
        try:
            con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        except sqlite3.OperationalError as exc:
            raise AuditStoreError(f"Cannot open the audit trail {self.path}: {exc}.") from None
        with closing(con):
            if write and self.path not in self._ready:
                with self._lock:
                    con.executescript(_SCHEMA)
                    con.execute("PRAGMA journal_mode=WAL")
                    os.chmod(self.path, 0o600)
                    self._ready.add(self.path)
            yield con

    # -- writing ----------------------------------------------------------------------------
    def append(
        self, actor: str, action: str, target: str, details: dict[str, Any] | None = None
    ) -> AuditEvent:
        """Add one entry at the end of the chain and return it."""
        return self.append_many([(actor, action, target, details or {})])[-1]

    def append_many(
        self, entries: Iterable[tuple[str, str, str, dict[str, Any]]], *, time: str | None = None
    ) -> list[AuditEvent]:
        """Add entries in one transaction (the benchmark fills the trail this way)."""
        made: list[AuditEvent] = []
        with self._connect(write=True) as con:
            con.execute("BEGIN IMMEDIATE")  # one writer at a time: the chain stays linear
            try:
                last = con.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
                seq, prev = last.fetchone() or (0, GENESIS)
                for actor, action, target, details in entries:
                    event = AuditEvent(
                        seq=seq + 1, time=time or now_text(), actor=actor, action=action,
                        target=target, details=json.loads(canonical(details)),
                        prev_hash=prev, hash="",
                    )  # fmt: skip
                    event.hash = entry_hash(event)
                    con.execute(
                        f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (event.seq, event.time, event.actor, event.action, event.target,
                         canonical(event.details), event.prev_hash, event.hash),
                    )  # fmt: skip
                    made.append(event)
                    seq, prev = event.seq, event.hash
                if made:  # written while this process holds the write lock
                    self._write_anchor(made[-1])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return made

    def _write_anchor(self, event: AuditEvent) -> None:
        tmp = self.anchor_path.with_name(f".{ANCHOR}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(canonical({"seq": event.seq, "hash": event.hash}) + "\n")
        os.replace(tmp, self.anchor_path)

    # -- reading ----------------------------------------------------------------------------
    def query(self, q: AuditQuery | None = None) -> list[AuditEvent]:
        """The newest entries matching ``q``, newest first."""
        q = q or AuditQuery()
        where, args = [], []
        for column in ("actor", "action"):
            value = getattr(q, column)
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if q.target is not None:
            glob = any(c in q.target for c in "*?[")
            where.append("target GLOB ?" if glob else "target = ?")
            args.append(q.target)
        if q.since is not None:
            where.append("time >= ?")
            args.append(q.since)
        sql = f"SELECT {_COLUMNS} FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        with self._connect(write=False) as con:
            rows = con.execute(sql, (*args, q.limit)).fetchall()
        return [_row(r) for r in rows]

    def count(self) -> int:
        with self._connect(write=False) as con:
            return int(con.execute("SELECT count(*) FROM events").fetchone()[0])

    def after(self, seq: int, action: str | None = None) -> list[AuditEvent]:
        """Entries after ``seq`` (of ``action``), oldest first."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE seq > ?"
        args: list[Any] = [seq]
        if action is not None:
            sql += " AND action = ?"
            args.append(action)
        with self._connect(write=False) as con:
            return [_row(r) for r in con.execute(sql + " ORDER BY seq", args).fetchall()]

    def verify(self) -> Verification:
        """Recompute the chain; the first entry whose seq, link or hash is wrong, and
        whether entries were cut off after the anchor's."""
        anchor = self._read_anchor()
        anchor_seq = int(anchor.get("seq", 0)) if anchor else 0
        checked, expected, prev = 0, 1, GENESIS
        with self._connect(write=False) as con:
            for raw in con.execute(f"SELECT {_COLUMNS} FROM events ORDER BY seq"):
                event = _row(raw)
                problem, bad = "", event.seq
                if event.seq != expected:
                    problem = (
                        f"entries {expected}..{event.seq - 1} are missing"
                        if event.seq > expected
                        else f"entry {event.seq} is out of order"
                    )
                    bad = min(expected, event.seq)
                elif event.prev_hash != prev:
                    problem = "its link to the previous entry does not match (changed or moved)"
                elif entry_hash(event) != event.hash:
                    problem = "its content does not match its hash (changed)"
                elif anchor and event.seq == anchor_seq and event.hash != anchor.get("hash"):
                    problem = "it does not match the anchor (the chain was rewritten from here)"
                if problem:
                    return Verification(False, checked, expected - 1, bad, problem)
                checked, expected, prev = checked + 1, expected + 1, event.hash
        last = expected - 1
        if anchor_seq > last:
            return Verification(
                False, checked, last, last + 1,
                f"entries {last + 1}..{anchor_seq} are missing "
                f"(the anchor records entry {anchor_seq})",
            )  # fmt: skip
        return Verification(True, checked, last)

    def _read_anchor(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.anchor_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"seq": 0, "hash": ""}
        return data if isinstance(data, dict) else None
