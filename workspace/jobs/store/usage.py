"""What the run store knows for cost roll-ups: finished attempts' resources and table writers.

One read transaction of a :class:`~workspace.jobs.store.database.RunDatabase`, used by
:mod:`workspace.jobs.costs`: the attempts that finished since a time with their run's
pipeline and owner (the run's, else the pipeline's), the pipelines' owners, and the last
pipeline that wrote each lake table (``table_writes``). Read only; nothing is written.

>>> import tempfile
>>> from datetime import UTC, datetime
>>> from pathlib import Path
>>> db = RunDatabase.open(Path(tempfile.mkdtemp()) / "runs.sqlite")
>>> read_usage(db, datetime(2025, 1, 1, tzinfo=UTC)).attempts
[]
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from workspace.jobs.models import AttemptResources
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.rows import ts

__all__ = ["AttemptUsage", "Usage", "read_usage"]


@dataclass(frozen=True)
class AttemptUsage:
    """One finished attempt: its run, pipeline, owner and resources."""

    attempt_id: int
    run_id: str
    pipeline: str
    owner: str | None
    resources: AttemptResources


@dataclass
class Usage:
    """Attempts finished in the window, owners of pipelines, and each table's last writer."""

    attempts: list[AttemptUsage] = field(default_factory=list)
    owners: dict[str, str | None] = field(default_factory=dict)
    writers: dict[str, str] = field(default_factory=dict)


def read_usage(db: RunDatabase, since: datetime | None) -> Usage:
    """Attempts finished at or after ``since`` (all if None), owners and table writers."""
    usage = Usage()
    with db.transaction(write=False) as con:
        rows = con.execute(
            "SELECT a.attempt_id, a.run_id, r.pipeline, coalesce(r.owner, p.owner) AS owner, "
            "a.resources FROM attempts a JOIN runs r USING (run_id) "
            "JOIN pipelines p ON p.name = r.pipeline "
            "WHERE a.finished_at IS NOT NULL AND (? IS NULL OR a.finished_at >= ?) "
            "ORDER BY a.attempt_id",
            (None if since is None else ts(since),) * 2,
        ).fetchall()
        usage.attempts = [
            AttemptUsage(
                attempt_id=row["attempt_id"],
                run_id=row["run_id"],
                pipeline=row["pipeline"],
                owner=row["owner"],
                resources=AttemptResources.model_validate(json.loads(row["resources"] or "{}")),
            )
            for row in rows
        ]
        usage.owners = {
            row["name"]: row["owner"] for row in con.execute("SELECT name, owner FROM pipelines")
        }
        usage.writers = {
            row["table_name"]: row["pipeline"]
            for row in con.execute(
                "SELECT table_name, pipeline FROM table_writes ORDER BY written_at, rowid"
            )
        }  # the last write wins
    return usage
