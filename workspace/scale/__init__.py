"""``workspace.scale``: Dask compute for the workspace.

:func:`cluster` returns a ``distributed.Client``: connected to the scheduler named by
``WORKSPACE_DASK_SCHEDULER`` when it is set, else to a ``LocalCluster`` on this machine that is
started once per process and reused. Lake tables are read and written as Dask DataFrames
with ``ws.to_dask(name)`` and ``ws.write(name, ddf)``. A full example: docs/scale.md.

Examples
--------
>>> import workspace
>>> client = workspace.cluster()  # doctest: +SKIP
>>> ddf = workspace.connect().to_dask("gold.lineitem")  # doctest: +SKIP
"""

from __future__ import annotations

from workspace.scale.cluster import ClusterUnavailableError, cluster, shutdown

__all__ = ["ClusterUnavailableError", "cluster", "shutdown"]
