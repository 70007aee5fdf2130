"""Check results, kept durably beside the data: one JSON line per run of a table's checks.

``$WORKSPACE_HOME/lake/quality/check_results/<layer>.<table>.jsonl`` (sandbox tables: under
the user's sandbox folder). Each write that runs checks, and each ``workspace quality check``
or ``ws.quality.check``, appends one line (:func:`record_results`); :func:`read_results`
reads them back. A sidecar file, not a lake table: recording never adds a snapshot.

Design notes (the line's shape, outcomes, how lines are written): docs/quality.md,
"Module notes".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections import deque
from pathlib import Path
from typing import Any

from workspace.lake.names import TableRef
from workspace.lake.settings import Settings
from workspace.quality.checks_report import CheckReport
from workspace.quality.contract import beside_data

__all__ = ["read_results", "record_results", "results_path"]

log = logging.getLogger(__name__)


def results_path(settings: Settings, ref: TableRef) -> Path:
    """The results file of ``ref``.

    >>> s = Settings.resolve("/tmp/ws-doc", user="ada")
    >>> results_path(s, TableRef("lake", "gold", "revenue")).as_posix()
    '/tmp/ws-doc/lake/quality/check_results/gold.revenue.jsonl'
    """
    return beside_data(settings, ref) / "quality" / "check_results" / f"{ref.display}.jsonl"


def record_results(
    settings: Settings,
    ref: TableRef,
    report: CheckReport,
    *,
    trigger: str,
    outcome: str,
    mode: str | None = None,
    rows: int | None = None,
    snapshot_id: int | None = None,
) -> None:
    """Append one run's results to the table's results file (best effort)."""
    line = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        "table": ref.display,
        "trigger": trigger,
        "outcome": outcome,
        "mode": mode,
        "rows": rows,
        "snapshot_id": snapshot_id,
        "user": settings.user,
        "run_id": os.environ.get("WORKSPACE_RUN_ID") or None,
        **{k: v for k, v in report.to_json().items() if k in ("seconds", "checks", "findings")},
    }
    path = results_path(settings, ref)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line, default=str) + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        log.info("check results of %s not recorded in %s: %s", ref.display, path, exc)


def read_results(settings: Settings, ref: TableRef, *, limit: int = 50) -> list[dict[str, Any]]:
    """The last ``limit`` recorded runs of ``ref``'s checks, oldest first."""
    path = results_path(settings, ref)
    try:
        with path.open(encoding="utf-8") as fh:
            tail = deque(fh, maxlen=max(limit, 0))
    except FileNotFoundError:
        return []
    out = []
    for text in tail:
        try:
            out.append(json.loads(text))
        except json.JSONDecodeError:  # a line cut short by a full disk
            continue
    return out
