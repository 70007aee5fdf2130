"""Which attempts wrote which lake tables (``table_writes``, store schema 2).

The pipeline runner points each kernel's ``WORKSPACE_WRITE_LOG`` at its attempt folder;
the lake appends one line per committed write, and the writes come back in
:attr:`~workspace.jobs.execution.context.AttemptResult.writes`.
:meth:`RunStore.finish_attempt <workspace.jobs.store.run_store.RunStore.finish_attempt>`
records them through :class:`LineageRepository`, in the same transaction as the attempt's
end, whatever that end is (a notebook that failed after committing still changed the
table). :func:`workspace.jobs.lineage.table_writers` reads them back. The repository works
inside the caller's transaction (:mod:`workspace.jobs.store.database`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import Attempt, TableWriter, Task
from workspace.jobs.store.rows import ts


class LineageRepository:
    """The ``table_writes`` table; each method runs in ``con``, the caller's transaction."""

    @staticmethod
    def record(
        con: sqlite3.Connection, attempt: Attempt, task: Task, writes: Iterable[TableWrite]
    ) -> None:
        """Insert an attempt's writes (idempotent); the pipeline is copied from the run."""
        rows = [
            (attempt.attempt_id, attempt.run_id, task.name, w.table, w.snapshot_id, w.rows,
             ts(w.at), attempt.run_id)
            for w in writes
        ]  # fmt: skip
        con.executemany(
            "INSERT OR IGNORE INTO table_writes (attempt_id, run_id, pipeline, task_name, "
            "table_name, snapshot_id, rows, written_at) "
            "SELECT ?, ?, pipeline, ?, ?, ?, ?, ? FROM runs WHERE run_id = ?",
            rows,
        )

    @staticmethod
    def writers(con: sqlite3.Connection, table: str) -> list[TableWriter]:
        """The pipeline tasks that wrote ``table``, most recent first (one per task name)."""
        # SQLite: a bare column next to max() comes from the row holding the maximum.
        rows = con.execute(
            "SELECT pipeline, task_name AS task, run_id AS last_run_id, "
            "max(written_at) AS last_written, count(DISTINCT run_id) AS runs "
            "FROM table_writes WHERE table_name = ? "
            "GROUP BY pipeline, task_name ORDER BY last_written DESC, pipeline, task",
            (table,),
        ).fetchall()
        return [TableWriter.model_validate(dict(row)) for row in rows]
