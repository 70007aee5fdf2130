"""Where the production pipelines live: :func:`scheduled_root`, kept here for its importers.

The rule (``$WORKSPACE_SCHEDULED``, else ``<root>/scheduled`` when it exists, else
``./scheduled``) and every other job path are defined once, in :mod:`workspace.jobs.paths`.

Examples
--------
>>> scheduled_root(environ={"WORKSPACE_SCHEDULED": "/srv/pipelines"}).as_posix()
'/srv/pipelines'
"""

from __future__ import annotations

from workspace.jobs.paths import DEFAULT_SCHEDULED, SCHEDULED_ENV, scheduled_root

__all__ = ["DEFAULT_SCHEDULED", "SCHEDULED_ENV", "scheduled_root"]
