"""Analytics Workspace: a notebook-centric lakehouse on DuckLake, Ibis, ``%%sql`` and Dask.

Examples
--------
>>> import workspace
>>> ws = workspace.connect()                      # doctest: +SKIP
>>> ws.table("gold.revenue_by_nation").head()     # doctest: +SKIP
>>> client = workspace.cluster()                  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workspace.lake import Workspace, WorkspaceError, connect

if TYPE_CHECKING:
    from distributed import Client

__version__ = "0.1.0"


def cluster(**kwargs: Any) -> Client:
    """A ``distributed.Client``: see :func:`workspace.scale.cluster`."""
    from workspace.scale import cluster as _cluster

    return _cluster(**kwargs)


__all__ = ["Workspace", "WorkspaceError", "__version__", "cluster", "connect"]
