"""``GET lineage?table=``: which pipeline tasks wrote a table, as the caller may see them.

The run store records each write of a pipeline attempt (:mod:`workspace.jobs.lineage`);
:func:`visible_lineage` returns the runs of pipelines the caller may see, and only the
pipeline and task names of the others. Behind JupyterHub the Lab server asks the scheduler
service's route (the run store belongs to the service's account).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from workspace.jobs.models import PipelineNotFoundError
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from workspace.api.service import JobsService

__all__ = ["LineageQuery", "TableLineage", "WriterInfo", "visible_lineage"]


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
