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
from pathlib import Path

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import Attempt, TableWriter, Task
from workspace.jobs.paths import JOBS_DIR
from workspace.jobs.store.rows import ts
from workspace.lake.engine import LAYERS


class LineageRepository:
    """The ``table_writes`` table; each method runs in ``con``, the caller's transaction."""

    @staticmethod
    def record(
        con: sqlite3.Connection, attempt: Attempt, task: Task, writes: Iterable[TableWrite]
    ) -> None:
        """Insert an attempt's writes (idempotent); the pipeline is copied from the run.
        Each new commit to a shared layer also goes into the audit trail, with its run."""
        for w in writes:
            new = con.execute(
                "INSERT OR IGNORE INTO table_writes (attempt_id, run_id, pipeline, task_name, "
                "table_name, snapshot_id, rows, written_at) "
                "SELECT ?, ?, pipeline, ?, ?, ?, ?, ? FROM runs WHERE run_id = ?",
                (attempt.attempt_id, attempt.run_id, task.name, w.table, w.snapshot_id, w.rows,
                 ts(w.at), attempt.run_id),
            ).rowcount  # fmt: skip
            if new and w.table.split(".", 1)[0] in LAYERS:
                _audit_commit(con, attempt, task, w)

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


def _audit_commit(con: sqlite3.Connection, attempt: Attempt, task: Task, w: TableWrite) -> None:
    """Record the commit in the audit trail of the workspace whose run store this is
    (``<home>/jobs/runs.sqlite``; a store elsewhere records nothing)."""
    from workspace.governance.audit import record
    from workspace.lake.settings import Settings

    store = Path(con.execute("PRAGMA database_list").fetchone()[2] or ".")
    if store.parent.name != JOBS_DIR:
        return
    row = con.execute("SELECT pipeline FROM runs WHERE run_id = ?", (attempt.run_id,)).fetchone()
    pipeline = row[0] if row is not None else "?"
    record(
        f"pipeline:{pipeline}", "commit", f"table:{w.table}",
        settings=Settings.resolve(store.parent.parent), run_id=attempt.run_id,
        attempt_id=attempt.attempt_id, task=task.name, snapshot_id=w.snapshot_id,
        rows=w.rows, mode=w.mode, at=w.at.isoformat(),
    )  # fmt: skip
