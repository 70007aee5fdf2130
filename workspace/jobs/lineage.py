"""Which pipelines write a lake table, taken from the run records.

Every attempt of a pipeline task runs with ``WORKSPACE_WRITE_LOG`` pointing into its attempt
folder, so the lake records each write the notebook commits (:mod:`workspace.lake.writes`);
the run store keeps them with the attempt (:mod:`workspace.jobs.store_lineage`). The same
commits carry the run, pipeline and task in DuckLake's ``commit_extra_info``, so the lake's
snapshot history names the run too.

Examples
--------
>>> from workspace.lake import Settings
>>> [(w.pipeline, w.task) for w in table_writers(Settings.resolve(), "gold.revenue")]
... # doctest: +SKIP
[('daily_sales', 'aggregate')]
"""

from __future__ import annotations

from workspace.jobs.models import TableWriter
from workspace.jobs.store import RunStore, store_path
from workspace.lake.settings import Settings

__all__ = ["TableWriter", "table_writers"]


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
        workspace has no run store yet (it is not created by this call).

    Examples
    --------
    >>> writers = table_writers(Settings.resolve(), "silver.orders")  # doctest: +SKIP
    >>> writers[0].pipeline, writers[0].task, writers[0].runs  # doctest: +SKIP
    ('daily_sales', 'load', 12)
    """
    path = store_path(settings)
    if not path.exists():
        return []
    with RunStore.open(path) as store:
        return store.table_writers(table)
