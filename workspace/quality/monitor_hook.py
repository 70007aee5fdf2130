"""Record a shared table's metrics right after each write commits.

:class:`MonitorHook` is a :class:`workspace.lake.hooks.WriteHook` (entry point
``workspace.write_hooks: monitors``): after every committed write to bronze, silver or gold
it profiles the new commit into the metrics history. A failure to record is logged, never
raised. ``WORKSPACE_MONITOR_ON_WRITE=0`` turns it off in a process.

Design notes: docs/quality-monitors.md, "Module notes".
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from workspace.lake.engine import LAKE
from workspace.lake.hooks import WriteContext, WriteHook
from workspace.quality.history import record

if TYPE_CHECKING:
    from workspace.lake.writes import WriteResult

#: Set to ``0`` to not record metrics after writes in this process.
RECORD_ENV = "WORKSPACE_MONITOR_ON_WRITE"


class MonitorHook(WriteHook):
    """Records the metrics of each commit to a shared table (see the module docstring).

    Examples
    --------
    >>> import pandas as pd
    >>> _ = ws.write("gold.customer_segments", pd.DataFrame({"segment": ["X"], "customers": [1]}))
    >>> from workspace.quality.history import monitoring
    >>> with monitoring(ws) as store:  # recorded by the hook, before anyone read it
    ...     store.latest_snapshots()["gold.customer_segments"] == ws.history(
    ...         "gold.customer_segments")[-1].snapshot_id
    True
    """

    order = 30

    def after_commit(self, ctx: WriteContext, result: WriteResult) -> None:
        if ctx.ref.catalog != LAKE or os.environ.get(RECORD_ENV, "1") == "0":
            return
        record(ctx.ws, ctx.ref.display)
