"""Row plumbing shared by the parts of :class:`workspace.jobs.store.run_store.RunStore`.

This module owns what all parts of the run store need: how times and ids are stored
(``_ts``, ``_new_id``), how rows become records (``_run``, ``_task``, ``_attempt``), and
:class:`StoreRows`, the base of the store's mixins, with the lookups and history writes made
inside an already open transaction. Opening connections, migrations and the transaction
itself (``_tx``) belong to :mod:`workspace.jobs.store.run_store`; task, attempt and pool
transitions to :mod:`workspace.jobs.store.tasks` and :mod:`workspace.jobs.store.attempts`.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from abc import abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime

from workspace.jobs.models import (
    TASK_TRANSITIONS,
    Attempt,
    AttemptNotFoundError,
    InvalidTransitionError,
    Run,
    RunNotFoundError,
    Task,
    TaskNotFoundError,
    TaskState,
)


def _ts(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; pass a timezone-aware UTC datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _new_id() -> str:
    """A 32-hex-digit id that sorts by creation time (milliseconds, then 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def _run(row: sqlite3.Row) -> Run:
    return Run.model_validate({**dict(row), "parameters": json.loads(row["parameters"])})


def _task(row: sqlite3.Row) -> Task:
    value = row["item_value"]
    return Task.model_validate(
        {
            **dict(row),
            "outputs": json.loads(row["outputs"]),
            "item_value": None if value is None else json.loads(value),
        }
    )


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt.model_validate(dict(row))


class StoreRows:
    """Base of the :class:`~workspace.jobs.store.run_store.RunStore` mixins: in-transaction helpers.

    Every helper takes the connection of the caller's transaction and never opens one.
    """

    #: UTC "now"; set by ``RunStore.__init__``.
    clock: Callable[[], datetime]

    @abstractmethod
    def _tx(self, *, write: bool = True) -> AbstractContextManager[sqlite3.Connection]:
        """One transaction (``BEGIN IMMEDIATE`` when ``write``); provided by ``RunStore``."""

    def _now(self) -> str:
        return _ts(self.clock())

    @staticmethod
    def _require_run(con: sqlite3.Connection, run_id: str) -> Run:
        row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        return _run(row)

    @staticmethod
    def _require_task(con: sqlite3.Connection, run_id: str, task_key: str) -> Task:
        row = con.execute(
            "SELECT * FROM tasks WHERE run_id = ? AND task_key = ?", (run_id, task_key)
        ).fetchone()
        if row is None:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(run_id)
            raise TaskNotFoundError(run_id, task_key)
        return _task(row)

    @staticmethod
    def _require_attempt(con: sqlite3.Connection, attempt_id: int) -> Attempt:
        row = con.execute("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise AttemptNotFoundError(attempt_id)
        return _attempt(row)

    def _event(
        self,
        con: sqlite3.Connection,
        run_id: str,
        message: str,
        *,
        task_key: str | None = None,
        level: str = "info",
    ) -> None:
        con.execute(
            "INSERT INTO run_events (run_id, task_key, at, level, message) VALUES (?, ?, ?, ?, ?)",
            (run_id, task_key, self._now(), level, message),
        )

    @staticmethod
    def _running_tasks(con: sqlite3.Connection, pipeline: str | None) -> int:
        row = con.execute(
            "SELECT count(*) FROM tasks t JOIN runs r USING (run_id) "
            "WHERE t.state = 'running' AND (? IS NULL OR r.pipeline = ?)",
            (pipeline, pipeline),
        ).fetchone()
        return int(row[0])

    def _set_task(
        self, con: sqlite3.Connection, task: Task, state: TaskState, reason: str | None = None
    ) -> None:
        if state not in TASK_TRANSITIONS.get(task.state, frozenset()):
            raise InvalidTransitionError(
                f"task {task.task_key!r} of run {task.run_id!r}", task.state, state
            )
        con.execute(
            "UPDATE tasks SET state = ?, reason = ?, updated_at = ? "
            "WHERE run_id = ? AND task_key = ?",
            (state, reason, self._now(), task.run_id, task.task_key),
        )
