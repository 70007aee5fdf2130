"""Which attempts wrote which lake tables (a mixin of ``RunStore``).

The pipeline runner points each kernel's ``WORKSPACE_WRITE_LOG`` at its attempt folder;
the lake appends one line per committed write, and the writes come back in
:attr:`~workspace.jobs.execution.context.AttemptResult.writes`. :meth:`RunStore.finish_attempt`
records them here, in the same transaction as the attempt's end, in ``table_writes``
(``schema_2.sql``). :func:`workspace.jobs.lineage.table_writers` reads them back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from workspace.jobs.execution.context import TableWrite
from workspace.jobs.models import Attempt, TableWriter, Task
from workspace.jobs.store.rows import StoreRows, _ts


class TableWritesMixin(StoreRows):
    """Lake writes of attempts, and who writes a table, for :class:`RunStore`."""

    @staticmethod
    def _record_writes(
        con: sqlite3.Connection, attempt: Attempt, task: Task, writes: Iterable[TableWrite]
    ) -> None:
        """Insert an attempt's writes inside the caller's transaction (idempotent)."""
        rows = [
            (attempt.attempt_id, attempt.run_id, task.name, w.table, w.snapshot_id, w.rows,
             _ts(w.at), attempt.run_id)
            for w in writes
        ]  # fmt: skip
        con.executemany(
            "INSERT OR IGNORE INTO table_writes (attempt_id, run_id, pipeline, task_name, "
            "table_name, snapshot_id, rows, written_at) "
            "SELECT ?, ?, pipeline, ?, ?, ?, ?, ? FROM runs WHERE run_id = ?",
            rows,
        )

    def table_writers(self, table: str) -> list[TableWriter]:
        """The pipeline tasks that wrote ``table`` (``layer.name``), most recent first.

        One entry per pipeline and task name (fan-out items of a task count as the task).

        Examples
        --------
        >>> store.table_writers("silver.orders")  # doctest: +SKIP
        [TableWriter(pipeline='daily_sales', task='load', last_run_id='018f...', ...)]
        """
        with self._tx(write=False) as con:
            # SQLite: a bare column next to max() comes from the row holding the maximum.
            rows = con.execute(
                "SELECT pipeline, task_name AS task, run_id AS last_run_id, "
                "max(written_at) AS last_written, count(DISTINCT run_id) AS runs "
                "FROM table_writes WHERE table_name = ? "
                "GROUP BY pipeline, task_name ORDER BY last_written DESC, pipeline, task",
                (table,),
            ).fetchall()
        return [TableWriter.model_validate(dict(row)) for row in rows]
