"""The run store's SQLite file: its connection, its migrations and the one transaction.

:class:`RunDatabase` opens ``runs.sqlite`` in WAL mode (readers run beside the one writer),
with ``synchronous=FULL`` (a committed change survives a crash) and a busy timeout (a writer
waits for another process's transaction instead of failing), and migrates it to
:data:`~workspace.jobs.store.schema.SCHEMA_VERSION`. :meth:`RunDatabase.transaction` is the
only way to a connection: ``BEGIN IMMEDIATE`` for writes, so a check and the write it guards
are atomic across processes, and a killed process leaves all of it or none. Transactions do
not nest: the repositories work inside the caller's transaction and never open one, and
only :class:`~workspace.jobs.store.run_store.RunStore` opens them, one per public operation.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from workspace.jobs.models import RunStoreVersionError
from workspace.jobs.store.rows import ts
from workspace.jobs.store.schema import _MIGRATIONS, SCHEMA_VERSION, _statements


def _utc_now() -> datetime:
    return datetime.now(UTC)


class RunDatabase:
    """One SQLite run store file, shared by the threads of a process (and by processes).

    Parameters
    ----------
    path
        The ``runs.sqlite`` file.
    busy_timeout
        Seconds a write waits for another process's transaction before failing.
    clock
        UTC "now" for the times the store records (tests pass their own).

    Examples
    --------
    >>> import tempfile
    >>> db = RunDatabase.open(Path(tempfile.mkdtemp()) / "runs.sqlite")
    >>> with db.transaction(write=False) as con:
    ...     con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    True
    >>> db.close()
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.clock: Callable[[], datetime] = clock or _utc_now
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> RunDatabase:
        """Open the file at ``path``, creating and migrating it if needed (:meth:`migrate`).

        Raises :class:`~workspace.jobs.models.RunStoreVersionError` if the file was written
        by a newer version of the workspace.
        """
        db = cls(path, busy_timeout=busy_timeout, clock=clock)
        db.migrate()
        return db

    def now(self) -> str:
        """``clock()`` as the store writes times."""
        return ts(self.clock())

    def close(self) -> None:
        """Close this process's connection (the next transaction reopens it)."""
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction: ``BEGIN IMMEDIATE`` (``write``) or ``BEGIN``, then ``COMMIT``.

        Any exception rolls all of it back and propagates. Opening a transaction while this
        thread already has one open is a bug in the store and raises :class:`RuntimeError`
        (it would otherwise commit half of an operation).
        """
        with self._lock:
            con = self._connection()
            if con.in_transaction:
                raise RuntimeError(
                    f"A transaction on the run store {self.path} is already open in this "
                    "thread; a store operation must be exactly one transaction (a bug in "
                    "workspace.jobs.store: pass the open connection instead)."
                )
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    def migrate(self) -> None:
        """Create the file (and its folder) if needed and bring it to :data:`SCHEMA_VERSION`.

        One transaction; a no-op when the file is current.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.transaction() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunStoreVersionError(
                    f"Run store {self.path} has schema version {version}, newer than this "
                    f"version of the workspace understands ({SCHEMA_VERSION}). "
                    "Upgrade analytics-workspace."
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(_MIGRATIONS[step]()):
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _connection(self) -> sqlite3.Connection:
        if self._con is not None and self._pid != os.getpid():
            # inherited through fork: never use (or close) the parent's connection
            self._inherited.append(self._con)
            self._con = None
        if self._con is None:
            con = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            self._con, self._pid = con, os.getpid()
        return self._con
