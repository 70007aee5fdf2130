"""Where the metrics history lives: a SQLite file beside the lake, plus a personal overlay.

The shared store is ``$WORKSPACE_HOME/lake/quality/history.sqlite`` (``WORKSPACE_QUALITY_DIR``
moves the folder), written by whoever may write the lake and readable by everyone (it holds
no PII value). Users who cannot write it keep what they compute in
``sandboxes/<user>/cache/quality.sqlite`` and read both. Each store is tagged with its lake.

Design notes (rebuilding, expiry, journal mode): docs/quality-monitors.md, "Module notes".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from workspace.lake.settings import Settings
from workspace.quality.commits import LakeMeta
from workspace.quality.metrics import CommitMetrics

log = logging.getLogger(__name__)

#: Environment variable that moves the shared store's folder.
STORE_DIR_ENV = "WORKSPACE_QUALITY_DIR"
STORE_FILE = "history.sqlite"
FORMAT = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS commits (
  table_name TEXT NOT NULL, snapshot_id INTEGER NOT NULL, committed_at TEXT NOT NULL,
  operations TEXT NOT NULL, rows_added INTEGER NOT NULL, rows_total INTEGER NOT NULL,
  doc TEXT NOT NULL, PRIMARY KEY (table_name, snapshot_id));
CREATE TABLE IF NOT EXISTS watermarks (table_name TEXT PRIMARY KEY, snapshot_id INTEGER);
CREATE TABLE IF NOT EXISTS evaluations (
  table_name TEXT PRIMARY KEY, snapshot_id INTEGER, config TEXT, doc TEXT);
CREATE TABLE IF NOT EXISTS scans (
  table_name TEXT PRIMARY KEY, snapshot_id INTEGER, scanned_at TEXT, doc TEXT);
CREATE TABLE IF NOT EXISTS pii_columns (
  table_name TEXT, column_name TEXT, column_type TEXT, snapshot_id INTEGER, kind TEXT,
  share REAL, sampled INTEGER, example TEXT, scanned_at TEXT,
  PRIMARY KEY (table_name, column_name));
CREATE TABLE IF NOT EXISTS pii_dismissals (
  table_name TEXT, column_name TEXT, kind TEXT, dismissed_by TEXT, dismissed_at TEXT,
  PRIMARY KEY (table_name, column_name, kind));
"""
_TABLES = ("commits", "watermarks", "evaluations", "scans", "pii_columns", "pii_dismissals")


def store_dir(settings: Settings) -> Path:
    """The folder of the shared store (see the module docstring)."""
    override = os.environ.get(STORE_DIR_ENV)
    return Path(override) if override else settings.home / "lake" / "quality"


def personal_path(settings: Settings) -> Path:
    """This user's private overlay."""
    return settings.sandbox_path / "cache" / "quality.sqlite"


def _open(path: Path, *, shared: bool) -> tuple[sqlite3.Connection | None, bool]:
    """(connection, writable); ``(None, False)`` when the file is absent and cannot be made."""
    if path.exists():
        if os.access(path, os.W_OK) and os.access(path.parent, os.W_OK):
            return sqlite3.connect(path, timeout=30, isolation_level=None), True
        if os.access(path, os.R_OK):
            uri = f"file:{path}?mode=ro"
            return sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None), False
        return None, False
    try:
        if shared and not path.parent.exists():  # readable by every user, whatever the umask
            path.parent.mkdir(parents=True, exist_ok=True)
            path.parent.chmod(0o755)
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=30, isolation_level=None)
        con.executescript(_SCHEMA)
    except (OSError, sqlite3.Error) as exc:
        log.debug("cannot create the quality store %s: %s", path, exc)
        return None, False
    if shared:  # readable by every user: it holds no PII values (the module docstring)
        with contextlib.suppress(OSError):
            path.chmod(0o644)
    else:
        with contextlib.suppress(OSError):
            path.chmod(0o600)
    return con, True


class Store:
    """The shared store and, for users who cannot write it, their personal overlay.

    Reads merge both (the shared store wins); writes go to the first writable one. With
    neither writable, nothing is kept and every read recomputes what is missing.
    """

    def __init__(self, settings: Settings, lake_id: str, lake: LakeMeta | None = None) -> None:
        self.lake_id = lake_id
        self.lake = lake  # the lake's metadata as read in the current transaction
        self.shared_path = store_dir(settings) / STORE_FILE
        self._dbs: list[sqlite3.Connection] = []
        self._writer: sqlite3.Connection | None = None
        self.shared_writable = False
        self._memory_pii: dict[str, dict[str, dict[str, Any]]] = {}  # when nothing is writable
        for path, shared in ((self.shared_path, True), (personal_path(settings), False)):
            if not shared and self._writer is not None:
                break  # the shared store is writable: no overlay needed
            con, writable = _open(path, shared=shared)
            if con is None:
                continue
            if not self._adopt(con, writable):
                con.close()
                continue
            self._dbs.append(con)
            if writable and self._writer is None:
                self._writer = con
                self.shared_writable = shared

    def _adopt(self, con: sqlite3.Connection, writable: bool) -> bool:
        """Whether ``con`` describes this lake (a writable store of another lake is reset)."""
        try:
            if writable:
                con.executescript(_SCHEMA)
            row = con.execute("SELECT value FROM meta WHERE key = 'lake'").fetchone()
        except sqlite3.Error as exc:
            log.warning("ignoring an unreadable quality store: %s", exc)
            return False
        if row is not None and row[0] == self.lake_id:
            return True
        if not writable:
            return False
        with self.transaction(con):
            for table in _TABLES:
                con.execute(f"DELETE FROM {table}")
            con.execute("INSERT OR REPLACE INTO meta VALUES ('lake', ?)", [self.lake_id])
            con.execute("INSERT OR REPLACE INTO meta VALUES ('format', ?)", [FORMAT])
        return True

    @property
    def writable(self) -> bool:
        """Whether anything computed can be kept."""
        return self._writer is not None

    def close(self) -> None:
        """Close every connection."""
        for con in self._dbs:
            con.close()
        self._dbs.clear()
        self._writer = None

    @staticmethod
    @contextlib.contextmanager
    def transaction(con: sqlite3.Connection) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (ROLLBACK on error)."""
        con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        for con in self._dbs:
            out.extend(con.execute(sql, list(params)).fetchall())
        return out

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if self._writer is None or not rows:
            return
        with self.transaction(self._writer):
            self._writer.executemany(sql, rows)

    # -- commits ------------------------------------------------------------------------
    def watermarks(self) -> dict[str, int]:
        """Per table: every commit up to this snapshot id is stored."""
        out: dict[str, int] = {}
        for name, snap in self._rows("SELECT table_name, snapshot_id FROM watermarks"):
            out[name] = max(out.get(name, -1), int(snap))
        return out

    def save_commits(self, commits: list[CommitMetrics], marks: dict[str, int]) -> None:
        """Keep the metrics of these commits, and that every commit up to ``marks`` is kept
        (one transaction)."""
        con = self._writer
        if con is None:
            return
        with self.transaction(con):
            con.executemany(
                "INSERT OR REPLACE INTO commits VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.table,
                        c.snapshot_id,
                        c.committed_at.isoformat(),
                        ",".join(c.operations),
                        c.rows_added,
                        c.rows_total,
                        c.model_dump_json(),
                    )
                    for c in commits
                ],
            )
            con.executemany(
                "INSERT INTO watermarks VALUES (?, ?) ON CONFLICT (table_name) DO UPDATE SET "
                "snapshot_id = max(snapshot_id, excluded.snapshot_id)",
                sorted(marks.items()),
            )

    def commits(self, table: str) -> list[CommitMetrics]:
        """The stored history of a table, oldest first."""
        seen: dict[int, CommitMetrics] = {}
        for snap, doc in self._rows(
            "SELECT snapshot_id, doc FROM commits WHERE table_name = ?", [table]
        ):
            if int(snap) not in seen:
                seen[int(snap)] = CommitMetrics.model_validate_json(doc)
        return [seen[k] for k in sorted(seen)]

    def last_commit(self, table: str) -> CommitMetrics | None:
        """The latest stored commit of a table."""
        rows = self._rows(
            "SELECT snapshot_id, doc FROM commits WHERE table_name = ? "
            "ORDER BY snapshot_id DESC LIMIT 1",
            [table],
        )
        if not rows:
            return None
        return CommitMetrics.model_validate_json(max(rows)[1])

    def latest_snapshots(self) -> dict[str, int]:
        """Per table, the snapshot id of its last stored commit."""
        out: dict[str, int] = {}
        for name, snap in self._rows(
            "SELECT table_name, max(snapshot_id) FROM commits GROUP BY table_name"
        ):
            out[name] = max(out.get(name, -1), int(snap))
        return out

    # -- evaluations and scans ----------------------------------------------------------
    def evaluations(self) -> dict[str, tuple[int, str, dict[str, Any]]]:
        """Per table: (snapshot id, config hash, cached monitor result)."""
        out: dict[str, tuple[int, str, dict[str, Any]]] = {}
        for name, snap, config, doc in self._rows(
            "SELECT table_name, snapshot_id, config, doc FROM evaluations"
        ):
            if name not in out or int(snap) > out[name][0]:
                out[name] = (int(snap), str(config), json.loads(doc))
        return out

    def save_evaluations(self, rows: dict[str, tuple[int, str, dict[str, Any]]]) -> None:
        """Cache monitor results (one per table, at its latest commit)."""
        self._write(
            "INSERT OR REPLACE INTO evaluations VALUES (?, ?, ?, ?)",
            [(name, snap, cfg, json.dumps(doc)) for name, (snap, cfg, doc) in rows.items()],
        )

    def scans(self) -> dict[str, tuple[int, list[dict[str, Any]]]]:
        """Per table: (snapshot id, findings of the declared checks) of its last scan."""
        out: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        for name, snap, doc in self._rows("SELECT table_name, snapshot_id, doc FROM scans"):
            if name not in out or int(snap) > out[name][0]:
                out[name] = (int(snap), json.loads(doc))
        return out

    def save_scan(self, table: str, snapshot_id: int, findings: list[dict[str, Any]]) -> None:
        """Record the checks' findings of a scan of ``table`` at ``snapshot_id``."""
        now = dt.datetime.now(dt.UTC).isoformat()
        self._write(
            "INSERT OR REPLACE INTO scans VALUES (?, ?, ?, ?)",
            [(table, snapshot_id, now, json.dumps(findings))],
        )

    # -- PII ----------------------------------------------------------------------------
    def pii_columns(self, table: str) -> dict[str, dict[str, Any]]:
        """Per column of ``table``: its last PII scan (kind is None when nothing was found)."""
        out: dict[str, dict[str, Any]] = {}
        for col, ctype, snap, kind, share, sampled, example, at in self._rows(
            "SELECT column_name, column_type, snapshot_id, kind, share, sampled, example, "
            "scanned_at FROM pii_columns WHERE table_name = ?",
            [table],
        ):
            out.setdefault(
                col,
                {
                    "type": ctype,
                    "snapshot_id": snap,
                    "kind": kind,
                    "share": share,
                    "sampled": sampled,
                    "example": example,
                    "scanned_at": at,
                },
            )
        out.update(self._memory_pii.get(table, {}))
        return out

    def save_pii_columns(self, table: str, rows: dict[str, dict[str, Any]]) -> None:
        """Record PII scan results of some columns of ``table``."""
        now = dt.datetime.now(dt.UTC).isoformat()
        if self._writer is None:
            self._memory_pii.setdefault(table, {}).update(
                {col: {**r, "scanned_at": now} for col, r in rows.items()}
            )
        self._write(
            "INSERT OR REPLACE INTO pii_columns VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    table,
                    col,
                    r["type"],
                    r["snapshot_id"],
                    r["kind"],
                    r["share"],
                    r["sampled"],
                    r["example"],
                    now,
                )
                for col, r in rows.items()
            ],
        )

    def detected_pii(self) -> dict[str, dict[str, str]]:
        """Per table: the columns detected as PII and their kind (every table at once)."""
        out: dict[str, dict[str, str]] = {}
        for name, col, kind in self._rows(
            "SELECT table_name, column_name, kind FROM pii_columns WHERE kind IS NOT NULL"
        ):
            out.setdefault(name, {}).setdefault(col, kind)
        for name, cols in self._memory_pii.items():
            for col, r in cols.items():
                if r["kind"]:
                    out.setdefault(name, {})[col] = r["kind"]
        return out

    def all_dismissals(self) -> set[tuple[str, str, str]]:
        """(table, column, kind) of every dismissed PII suggestion."""
        rows = self._rows("SELECT table_name, column_name, kind FROM pii_dismissals")
        return {(str(t), str(c), str(k)) for t, c, k in rows}

    def dismissals(self, table: str) -> set[tuple[str, str]]:
        """(column, kind) pairs of ``table`` whose PII suggestion was dismissed."""
        return {
            (str(col), str(kind))
            for col, kind in self._rows(
                "SELECT column_name, kind FROM pii_dismissals WHERE table_name = ?", [table]
            )
        }

    def dismiss(self, table: str, column: str, kind: str, user: str) -> bool:
        """Record a dismissal in the shared store; False when this account cannot write it."""
        if self._writer is None or not self.shared_writable:
            return False
        self._write(
            "INSERT OR REPLACE INTO pii_dismissals VALUES (?, ?, ?, ?, ?)",
            [(table, column, kind, user, dt.datetime.now(dt.UTC).isoformat())],
        )
        return True
