"""Quality alerts: anomalies and failed checks on the tables a run wrote, to its sinks.

When a run ends, the scheduler's alert worker runs the monitors and declared checks of the
shared tables the run wrote and, if any finding is a warning or an error, sends one
``quality`` alert (one line per finding) through the pipeline's ``alerts.sinks``
(``alerts.on_quality``, on by default). Design notes: docs/alerts.md.

Examples
--------
>>> e = quality_event_from(run, [finding])  # doctest: +SKIP
>>> e.title  # doctest: +SKIP
'demo_refresh: quality findings on silver.orders'
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from workspace.jobs.alerts.event import AlertEvent
from workspace.jobs.models import Run
from workspace.lake.engine import LAYERS
from workspace.lake.settings import Settings
from workspace.quality.findings import Finding

__all__ = ["ALERTED_KINDS", "quality_event", "quality_event_from", "tables_written"]

log = logging.getLogger(__name__)

#: Finding kinds that make a quality alert (PII suggestions go to the catalog instead).
ALERTED_KINDS = frozenset({"volume", "freshness", "schema", "nulls", "distribution", "check"})


def tables_written(store_path: Path, run_id: str) -> list[str]:
    """Shared tables (``layer.name``) the run's attempts committed to, sorted."""
    con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = con.execute(
            "SELECT DISTINCT table_name FROM table_writes WHERE run_id = ?", (run_id,)
        ).fetchall()
    finally:
        con.close()
    return sorted(str(r[0]) for r in rows if str(r[0]).split(".", 1)[0] in LAYERS)


def quality_event_from(run: Run, findings: Iterable[Finding]) -> AlertEvent | None:
    """The ``quality`` alert for ``run``'s findings (None when none is worth an alert)."""
    worth = [f for f in findings if f.kind in ALERTED_KINDS and f.severity in ("warn", "error")]
    if not worth:
        return None
    tables = sorted({f.table for f in worth})
    lines = [
        f"{f.table}{'.' + f.column if f.column else ''}: {f.message} ({f.kind}, {f.severity})"
        for f in worth
    ]
    return AlertEvent(
        kind="quality",
        pipeline=run.pipeline,
        run_id=run.run_id,
        state=f"{len(worth)} finding{'s' if len(worth) != 1 else ''} on {', '.join(tables)}",
        scheduled_for=run.scheduled_for,
        started_at=run.started_at,
        finished_at=run.finished_at,
        findings=lines,
        report=run.report_path,
    )


def quality_event(store_path: Path, run: Run) -> AlertEvent | None:
    """Scan the tables ``run`` wrote and build its ``quality`` alert (None: nothing to say).

    Runs in the scheduler's alert worker: reads the lake read-only with the workspace of
    the run store (``<home>/jobs/runs.sqlite``); any error is logged, never raised.
    """
    try:
        tables = tables_written(store_path, run.run_id)
        if not tables:
            return None
        from workspace.lake.workspace import Workspace
        from workspace.quality.scan import scan

        settings = Settings.resolve(store_path.parent.parent)
        with Workspace(settings, read_only=True) as ws:
            result = scan(ws, tables)
        return quality_event_from(run, result.findings)
    except Exception:  # an alert must never stop the scheduler
        log.exception("quality alert for run %s not built", run.run_id)
        return None
