"""Pool slots in the run store: named limits on how many attempts run at once.

A pool (``pools:`` in a pipeline's configuration) is shared by every pipeline. A slot is a
``pool_slots`` row held by a running attempt: taken with the claim that creates the attempt,
or by :meth:`PoolRepository.acquire`, and given back when the attempt ends or is declared
lost. Capacity comes from configuration and is checked inside the caller's ``BEGIN
IMMEDIATE`` transaction, so a limit holds across processes. Slots of attempts whose
heartbeat is older than ``stale_after`` count as free. :class:`PoolRepository` works inside
the caller's transaction (:mod:`workspace.jobs.store.database`) and never opens one.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.rows import ts


class PoolRepository:
    """The ``pool_slots`` table; each method runs in ``con``, the caller's open transaction."""

    def __init__(self, db: RunDatabase) -> None:
        self._db = db

    def used(self, con: sqlite3.Connection, pool: str, stale_after: timedelta | None) -> int:
        """Slots of ``pool`` held by running attempts (fresh ones, with ``stale_after``)."""
        fresh = None if stale_after is None else ts(self._db.clock() - stale_after)
        row = con.execute(
            "SELECT count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
            "WHERE s.pool = ? AND a.state = 'running' AND (? IS NULL OR a.heartbeat_at >= ?)",
            (pool, fresh, fresh),
        ).fetchone()
        return int(row[0])

    def has_room(
        self,
        con: sqlite3.Connection,
        pool: str,
        capacity: int | None,
        stale_after: timedelta | None,
    ) -> bool:
        """Whether one more slot of ``pool`` fits in ``capacity``."""
        if capacity is None or capacity < 0:
            raise ValueError(f"pool {pool!r} needs a slot count (pool_capacity >= 0)")
        return self.used(con, pool, stale_after) < capacity

    def acquire(
        self,
        con: sqlite3.Connection,
        pool: str,
        capacity: int | None,
        attempt_id: int,
        stale_after: timedelta | None,
    ) -> bool:
        """Take a slot of ``pool`` for ``attempt_id`` if one is free (idempotent)."""
        if capacity is None or capacity < 0:
            raise ValueError(f"pool {pool!r} needs a slot count (pool_capacity >= 0)")
        held = con.execute(
            "SELECT pool FROM pool_slots WHERE attempt_id = ?", (attempt_id,)
        ).fetchone()
        if held is not None:
            return bool(held[0] == pool)
        if not self.has_room(con, pool, capacity, stale_after):
            return False
        con.execute(
            "INSERT INTO pool_slots (pool, attempt_id, acquired_at) VALUES (?, ?, ?)",
            (pool, attempt_id, self._db.now()),
        )
        return True

    @staticmethod
    def release(con: sqlite3.Connection, attempt_id: int) -> None:
        """Give back the slot ``attempt_id`` holds (no-op if it holds none)."""
        con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt_id,))

    @staticmethod
    def usage(con: sqlite3.Connection) -> dict[str, int]:
        """Slots in use per pool (held by running attempts)."""
        rows = con.execute(
            "SELECT s.pool, count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
            "WHERE a.state = 'running' GROUP BY s.pool"
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}
