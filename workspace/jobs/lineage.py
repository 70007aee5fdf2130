"""Which pipelines write a lake table, taken from the run records.

Every attempt of a pipeline task runs with ``WORKSPACE_WRITE_LOG`` pointing into its attempt
folder, so the lake records each write the notebook commits (:mod:`workspace.lake.writes`);
the run store keeps them with the attempt (:mod:`workspace.jobs.store.lineage`). The same
commits carry the run, pipeline and task in DuckLake's ``commit_extra_info``, so the lake's
snapshot history names the run too.

Two readers:

* :func:`table_writers` reads a run store directly, **read-only**: it never creates nor
  migrates the store (a reader may not own it), and a store that is missing, unreadable or
  older than the lineage records means "no writers", not an error;
* :func:`visible_lineage` answers the scheduler service's ``GET lineage?table=`` route: the
  runs of pipelines the caller may see, and only the pipeline and task of the others. Behind
  JupyterHub the Lab server asks that route (the run store belongs to the service's account).

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
from collections.abc import Callable
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from workspace.jobs.models import PipelineNotFoundError, TableWriter
from workspace.jobs.store.schema import store_path
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.jobs.service import JobsService

log = logging.getLogger(__name__)

__all__ = [
    "LineageQuery",
    "TableLineage",
    "TableWriter",
    "WriterInfo",
    "table_writers",
    "visible_lineage",
]

#: The newest write of each pipeline task to a table (the run store's ``table_writes``).
#: SQLite: a bare column next to max() comes from the row holding the maximum.
WRITERS_SQL = (
    "SELECT pipeline, task_name AS task, run_id AS last_run_id, "
    "max(written_at) AS last_written, count(DISTINCT run_id) AS runs "
    "FROM table_writes WHERE table_name = ? "
    "GROUP BY pipeline, task_name ORDER BY last_written DESC, pipeline, task"
)


class LineageQuery(BaseModel):
    """Query of ``GET lineage``: the table, as users name it (``silver.orders``)."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, max_length=300)


class WriterInfo(BaseModel):
    """A pipeline task that wrote the table. The run fields are ``None`` when the caller
    may not see that pipeline's runs (someone else's private pipeline)."""

    pipeline: str
    task: str
    last_run_id: str | None = None
    last_written: datetime | None = None
    runs: int | None = None


class TableLineage(BaseModel):
    """``GET lineage?table=``: the pipeline tasks that wrote a table, newest first."""

    table: str
    writers: list[WriterInfo]


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


def visible_lineage(
    service: JobsService, table: str, may_see: Callable[[str | None], bool]
) -> TableLineage:
    """The writers of ``table`` from the service's run store, as the caller may see them.

    ``may_see(owner)`` tells whether the caller may read the runs of a pipeline owned by
    ``owner`` (its owner, engineers, admins); for the other pipelines only the pipeline and
    task names are returned.

    Examples
    --------
    >>> visible_lineage(service, "gold.x", identity.can_change).writers  # doctest: +SKIP
    [WriterInfo(pipeline='daily', task='load', last_run_id=None, ...)]
    """
    owners: dict[str, str | None] = {}
    out: list[WriterInfo] = []
    for writer in service.store.table_writers(table):
        if writer.pipeline not in owners:
            try:
                owners[writer.pipeline] = service.store.governance(writer.pipeline).owner
            except (PipelineNotFoundError, WorkspaceError):  # a pipeline without a record
                owners[writer.pipeline] = None
        if may_see(owners[writer.pipeline]):
            out.append(WriterInfo.model_validate(writer.model_dump()))
        else:
            out.append(WriterInfo(pipeline=writer.pipeline, task=writer.task))
    return TableLineage(table=table, writers=out)
