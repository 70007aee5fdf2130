"""The hub's own SQLite database: commits that do not stall the hub under load.

JupyterHub commits to its database from its one event loop (logins, tokens, spawns, server
states). In SQLite's default journal mode each commit fsyncs and deletes a journal; each of
those calls puts the hub to sleep, and on cores busy with starting servers it waits for a
slice to wake up. :func:`use_wal` switches the hub's file to write-ahead logging with
``synchronous=NORMAL`` (SQLite's recommended pair): a commit appends to the log without an
fsync, the log is synced at checkpoints. A power cut can lose the last commits (it does not
corrupt the file); the hub reconciles servers and tokens at its next start. Only the file
named is touched. Details: ``docs/hub.md``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["use_wal"]

_registered: set[str] = set()


def use_wal(db_file: Path) -> None:
    """Open every SQLAlchemy connection to ``db_file`` in WAL mode with ``synchronous=NORMAL``.

    Examples
    --------
    >>> import tempfile
    >>> from sqlalchemy import create_engine, text
    >>> path = Path(tempfile.mkdtemp()) / "hub.sqlite"
    >>> use_wal(path)
    >>> with create_engine(f"sqlite:///{path}").connect() as con:
    ...     con.execute(text("PRAGMA journal_mode")).scalar(), \\
    ...     con.execute(text("PRAGMA synchronous")).scalar()
    ('wal', 1)
    """
    target = os.path.realpath(db_file)
    if target in _registered:
        return
    _registered.add(target)

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_con: Any, _record: Any) -> None:
        if not isinstance(dbapi_con, sqlite3.Connection):
            return
        files = [row[2] for row in dbapi_con.execute("PRAGMA database_list")]
        if target not in {os.path.realpath(f) for f in files if f}:
            return
        dbapi_con.execute("PRAGMA journal_mode=WAL")
        dbapi_con.execute("PRAGMA synchronous=NORMAL")
