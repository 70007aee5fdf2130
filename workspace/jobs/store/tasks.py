"""Tasks in the run store: adding them to a run, and moving them through their states.

A run's tasks are created with it (and, for fan-out, added while it runs); fan-out items are
tasks of their own (``report[2]``). Every change of state is checked against
:data:`~workspace.jobs.models.TASK_TRANSITIONS`. ``running`` is entered only by a claim and
left only by an attempt's end (:mod:`workspace.jobs.store.attempts`); a repair puts tasks
back to ``pending`` (:meth:`workspace.jobs.store.runs.RunRepository.repair`).
:class:`TaskRepository` works inside the caller's transaction
(:mod:`workspace.jobs.store.database`) and never opens one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from workspace.jobs.models import (
    TASK_TRANSITIONS,
    InvalidTransitionError,
    NewTask,
    Run,
    RunNotFoundError,
    Task,
    TaskNotFoundError,
    TaskState,
)
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.rows import task_record


class TaskRepository:
    """The ``tasks`` table; each method runs in ``con``, the caller's open transaction."""

    def __init__(self, db: RunDatabase) -> None:
        self._db = db

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def get(con: sqlite3.Connection, run_id: str, task_key: str) -> Task:
        """One task; :class:`RunNotFoundError` or :class:`TaskNotFoundError` otherwise."""
        row = con.execute(
            "SELECT * FROM tasks WHERE run_id = ? AND task_key = ?", (run_id, task_key)
        ).fetchone()
        if row is None:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(run_id)
            raise TaskNotFoundError(run_id, task_key)
        return task_record(row)

    @staticmethod
    def of_run(con: sqlite3.Connection, run_id: str) -> list[Task]:
        """A run's tasks in the order they were added."""
        rows = con.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,))
        return [task_record(r) for r in rows]

    @staticmethod
    def state_counts(con: sqlite3.Connection, run_id: str) -> dict[str, int]:
        """How many of a run's tasks are in each state."""
        rows = con.execute(
            "SELECT state, count(*) FROM tasks WHERE run_id = ? GROUP BY state", (run_id,)
        ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    @staticmethod
    def running_count(con: sqlite3.Connection, pipeline: str | None) -> int:
        """How many tasks are running, in one pipeline's runs or in all (``None``)."""
        row = con.execute(
            "SELECT count(*) FROM tasks t JOIN runs r USING (run_id) "
            "WHERE t.state = 'running' AND (? IS NULL OR r.pipeline = ?)",
            (pipeline, pipeline),
        ).fetchone()
        return int(row[0])

    # -- writing --------------------------------------------------------------------------

    def insert(self, con: sqlite3.Connection, run_id: str, tasks: Iterable[NewTask | str]) -> None:
        """Add tasks to a run; re-adding a task that is still pending updates it."""
        now = self._db.now()
        for spec in tasks:
            t = NewTask(key=spec, name=spec) if isinstance(spec, str) else spec
            value = None if t.item_value is None else json.dumps(t.item_value, default=str)
            con.execute(
                "INSERT INTO tasks (run_id, task_key, name, item_index, item_value, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, task_key) DO UPDATE SET "
                "name = excluded.name, item_index = excluded.item_index, "
                "item_value = excluded.item_value, updated_at = excluded.updated_at "
                "WHERE tasks.state = 'pending'",
                (run_id, t.key, t.name, t.item_index, value, now),
            )

    def add(self, con: sqlite3.Connection, run: Run, tasks: Iterable[NewTask | str]) -> list[Task]:
        """Add tasks to an unfinished run (fan-out items); returns all the run's tasks."""
        if run.state.finished:
            raise InvalidTransitionError(
                f"run {run.run_id!r}", run.state, "adding tasks", "Repair the run first."
            )
        self.insert(con, run.run_id, tasks)
        return self.of_run(con, run.run_id)

    @staticmethod
    def check(task: Task, state: TaskState) -> None:
        """Raise :class:`InvalidTransitionError` unless ``task`` may move to ``state``."""
        if state not in TASK_TRANSITIONS.get(task.state, frozenset()):
            raise InvalidTransitionError(
                f"task {task.task_key!r} of run {task.run_id!r}", task.state, state
            )

    def set_state(
        self, con: sqlite3.Connection, task: Task, state: TaskState, reason: str | None = None
    ) -> None:
        """Move ``task`` to ``state`` if :data:`TASK_TRANSITIONS` allows it, else raise."""
        self.check(task, state)
        con.execute(
            "UPDATE tasks SET state = ?, reason = ?, updated_at = ? "
            "WHERE run_id = ? AND task_key = ?",
            (state, reason, self._db.now(), task.run_id, task.task_key),
        )

    def move(
        self,
        con: sqlite3.Connection,
        run_id: str,
        task_key: str,
        state: TaskState,
        reason: str | None,
    ) -> Task:
        """Move a task that is not running, to a state other than running."""
        task = self.get(con, run_id, task_key)
        if TaskState.RUNNING in (task.state, state):
            raise InvalidTransitionError(
                f"task {task_key!r} of run {run_id!r}",
                task.state,
                state,
                "Use claim_task to start a task and finish_attempt to end it.",
            )
        self.set_state(con, task, state, reason)
        return self.get(con, run_id, task_key)

    def count_attempt(self, con: sqlite3.Connection, task: Task) -> None:
        """One more attempt of ``task`` was started."""
        con.execute(
            "UPDATE tasks SET attempts = attempts + 1 WHERE run_id = ? AND task_key = ?",
            (task.run_id, task.task_key),
        )

    def set_outputs(self, con: sqlite3.Connection, task: Task, outputs: Mapping[str, Any]) -> None:
        """Record the outputs of ``task`` (its succeeded attempt's)."""
        con.execute(
            "UPDATE tasks SET outputs = ? WHERE run_id = ? AND task_key = ?",
            (json.dumps(dict(outputs), default=str), task.run_id, task.task_key),
        )

    def cancel_unstarted(self, con: sqlite3.Connection, run_id: str, reason: str) -> None:
        """Cancel the run's pending and queued tasks (the run ends without them)."""
        con.execute(
            "UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ? "
            "WHERE run_id = ? AND state IN ('pending', 'queued')",
            (reason, self._db.now(), run_id),
        )

    def reset(self, con: sqlite3.Connection, run_id: str, keys: Iterable[str]) -> None:
        """Put tasks back to ``pending`` without outputs or reason (a repair)."""
        now = self._db.now()
        con.executemany(
            "UPDATE tasks SET state = 'pending', outputs = '{}', reason = NULL, "
            "updated_at = ? WHERE run_id = ? AND task_key = ?",
            [(now, run_id, k) for k in keys],
        )
