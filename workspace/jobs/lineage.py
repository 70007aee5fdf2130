"""Which pipelines write a lake table, taken from the run records.

Every attempt records the writes its notebook commits (``WORKSPACE_WRITE_LOG``), and the run
store keeps them. :func:`table_writers` reads a run store **read-only** (missing or old
store: no writers, not an error); :func:`workspace.api.lineage.visible_lineage` answers the
``GET lineage?table=`` route. Design notes: docs/pipelines.md, "Module notes".

Examples
--------
>>> from workspace.lake import Settings
>>> [(w.pipeline, w.task) for w in table_writers(Settings.resolve(), "gold.revenue")]
... # doctest: +SKIP
[('daily_sales', 'aggregate')]
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from workspace.jobs.models import TableWriter
from workspace.jobs.store.schema import store_path
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["TableWriter", "table_writers"]

#: The newest write of each pipeline task to a table (the run store's ``table_writes``).
#: SQLite: a bare column next to max() comes from the row holding the maximum.
WRITERS_SQL = (
    "SELECT pipeline, task_name AS task, run_id AS last_run_id, "
    "max(written_at) AS last_written, count(DISTINCT run_id) AS runs "
    "FROM table_writes WHERE table_name = ? "
    "GROUP BY pipeline, task_name ORDER BY last_written DESC, pipeline, task"
)


def table_writers(settings: Settings, table: str) -> list[TableWriter]:
    """The pipeline tasks that wrote ``table``, the most recently written first.

    Parameters
    ----------
    settings
        The workspace whose run store (``<home>/jobs/runs.sqlite``) to read.
    table
        The table as users name it, ``layer.name`` (``"silver.orders"``).

    Returns
    -------
    list[TableWriter]
        One per pipeline and task (fan-out items count as their task): the newest run that
        wrote it, when, and how many runs wrote it. Empty when nothing was recorded, or the
        run store is missing, unreadable by this account, or has no lineage records yet. The
        store is opened read-only: it is never created nor migrated by this call.

    Examples
    --------
    >>> writers = table_writers(Settings.resolve(), "silver.orders")  # doctest: +SKIP
    >>> writers[0].pipeline, writers[0].task, writers[0].runs  # doctest: +SKIP
    ('daily_sales', 'load', 12)
    """
    return _read_writers(store_path(settings), table)


def _read_writers(path: Path, table: str) -> list[TableWriter]:
    try:
        if not path.is_file():
            return []
    except OSError:  # this account may not look into jobs/ (the service's, under the hub)
        return []
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5)) as con:
            con.row_factory = sqlite3.Row
            known = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'table_writes'"
            ).fetchone()
            rows = con.execute(WRITERS_SQL, (table,)).fetchall() if known else []
    except sqlite3.Error as exc:  # unreadable (another account's store), locked, damaged
        log.info("no lineage for %s: the run store %s cannot be read: %s", table, path, exc)
        return []
    return [TableWriter.model_validate(dict(row)) for row in rows]
