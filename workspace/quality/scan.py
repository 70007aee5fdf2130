"""``scan`` and ``status``: the monitors, the PII suggestions and the declared checks of the
shared tables, from the lake alone.

:func:`scan` brings the metrics history up to date, runs the monitors, judges freshness,
samples new text columns for PII and runs each table's declared checks. :func:`status`
gives every shared table one health word, cheaply enough for a thousand tables.

Design notes: docs/quality-monitors.md, "Module notes".
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel

from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef
from workspace.quality.checks_results import results_path
from workspace.quality.detect import Evaluation, evaluate
from workspace.quality.findings import Finding, ScanResult
from workspace.quality.freshness import judge
from workspace.quality.history import annotated_pii, fill, monitoring, shared_table
from workspace.quality.monitor_config import MonitorConfigs, load_configs
from workspace.quality.pii_review import pii_findings, scan_columns
from workspace.quality.store import Store

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

log = logging.getLogger(__name__)

Health = Literal["healthy", "warning", "failing", "stale", "no_history"]


class TableHealth(BaseModel):
    """One row of ``workspace quality status``."""

    table: str
    health: Health
    commits: int
    last_commit: dt.datetime | None
    due_by: dt.datetime | None
    findings: int
    message: str


def _now(as_of: dt.datetime | None) -> dt.datetime:
    if as_of is None:
        return dt.datetime.now(dt.UTC)
    return as_of if as_of.tzinfo else as_of.replace(tzinfo=dt.UTC)


def evaluations(
    store: Store, configs: MonitorConfigs, tables: Iterable[str], unsaved: dict[str, Any]
) -> dict[str, Evaluation]:
    """The monitors' results at each table's latest commit: cached in the store per commit
    and settings, computed (and cached) where missing."""
    cached = store.evaluations()
    latest = store.latest_snapshots()
    for name, commits in unsaved.items():
        latest[name] = max([latest.get(name, -1), *(c.snapshot_id for c in commits)])
    out: dict[str, Evaluation] = {}
    fresh: dict[str, tuple[int, str, dict[str, Any]]] = {}
    digests: dict[int, str] = {}
    for name in tables:
        config = configs.for_table(name)
        digest = digests.get(id(config)) or digests.setdefault(id(config), config.digest())
        key = (latest.get(name, -1), digest)
        hit = cached.get(name)
        if hit is not None and (hit[0], hit[1]) == key:
            out[name] = Evaluation.from_json(hit[2])
            continue
        history = {c.snapshot_id: c for c in store.commits(name)}
        for c in unsaved.get(name, []):
            history.setdefault(c.snapshot_id, c)
        result = evaluate(name, [history[k] for k in sorted(history)], config)
        out[name] = result
        fresh[name] = (key[0], key[1], result.to_json())
    store.save_evaluations(fresh)
    return out


def _checks() -> Callable[..., list[Finding]] | None:
    """The declared checks' runner, when that part of the package is installed."""
    try:
        from workspace.quality.checks import run_checks
    except ModuleNotFoundError as exc:  # only a missing module; a broken one must fail
        if exc.name != "workspace.quality.checks":
            raise
        return None
    return run_checks


def _run_checks(ws: Workspace, table: str, as_of: dt.datetime) -> list[Finding]:
    runner = _checks()
    if runner is None:
        return []
    try:
        return runner(ws, table, as_of=as_of)
    except WorkspaceError as exc:  # a malformed contract: say so, as an error of the check
        return [Finding(table=table, kind="check", severity="error", message=str(exc))]


def scan(
    ws: Workspace, tables: Iterable[str] | None = None, as_of: dt.datetime | None = None
) -> ScanResult:
    """Run the monitors, the PII detection and the declared checks of shared tables.

    Parameters
    ----------
    tables:
        ``layer.name`` of shared tables; default every one of bronze, silver and gold.
    as_of:
        When freshness is judged (default: now; naive times are UTC).

    Examples
    --------
    >>> scan(ws, ["gold.customer_segments"]).model_dump()["findings"][0]["kind"]
    'volume'
    >>> result = scan(ws, ["gold.revenue_by_nation_month"])
    >>> [(f.kind, f.severity, f.message) for f in result.findings]  # doctest: +NORMALIZE_WHITESPACE
    [('volume', 'info', 'gold.revenue_by_nation_month: not enough history (1 of 5 commits) to
      judge volume, freshness, nulls and distribution')]
    >>> [(h.table, h.health) for h in status(ws)][:1]
    [('gold.customer_segments', 'no_history')]
    """
    when = _now(as_of)
    wanted = None if tables is None else [shared_table(ws, t) for t in tables]
    configs = load_configs(ws.settings)
    findings: list[Finding] = []
    with monitoring(ws) as store:
        filled = fill(ws, store, wanted)
        names = filled.tables if wanted is None else wanted
        results = evaluations(store, configs, names, filled.unsaved)
        latest = store.latest_snapshots()
        for name in names:
            result = results[name]
            findings += result.findings
            if result.freshness is not None:
                late = judge(name, result.freshness, when)
                findings += [late] if late is not None else []
            scan_columns(ws, store, name, only_new=True)
            findings += pii_findings(ws, store, name)
    checked = {name: _run_checks(ws, name, when) for name in names}
    with monitoring(ws) as store:
        for name, found in checked.items():
            store.save_scan(name, latest.get(name, -1), [f.model_dump(mode="json") for f in found])
            findings += found
    return ScanResult(tables=names, findings=findings)


def _last_check_outcomes(ws: Workspace) -> dict[str, str]:
    """Per table, the outcome of its last recorded check run (see checks_results)."""
    folder = results_path(ws.settings, TableRef("lake", "gold", "any")).parent
    try:
        files = [f for f in os.listdir(folder) if f.endswith(".jsonl")]
    except OSError:
        return {}
    out: dict[str, str] = {}
    for name in files:
        try:
            with open(folder / name, "rb") as fh:
                fh.seek(max(0, os.fstat(fh.fileno()).st_size - 65536))
                lines = fh.read().splitlines()
            out[name.removesuffix(".jsonl")] = str(json.loads(lines[-1])["outcome"])
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return out


def status(ws: Workspace, *, as_of: dt.datetime | None = None) -> list[TableHealth]:
    """The health of every shared table: ``failing`` (a declared check fails or blocks
    its writes), ``stale`` (a commit is overdue), ``warning`` (a monitor or an unconfirmed
    PII suggestion), ``no_history`` (too few commits to judge) or ``healthy``.

    Examples
    --------
    >>> {h.health for h in status(ws)}
    {'no_history'}
    """
    when = _now(as_of)
    configs = load_configs(ws.settings)
    with monitoring(ws) as store:
        filled = fill(ws, store)
        results = evaluations(store, configs, filled.tables, filled.unsaved)
        scans = store.scans()
        latest = store.latest_snapshots()
        detected = store.detected_pii()
        dismissed = store.all_dismissals()
        assert store.lake is not None
        flagged = annotated_pii(store.lake, filled.versions, list(detected))
    outcomes = _last_check_outcomes(ws)
    out = []
    for name in filled.tables:
        result = results[name]
        late = judge(name, result.freshness, when) if result.freshness else None
        scan_errors = [
            f for f in scans.get(name, (-2, []))[1]
            if f.get("severity") == "error" and scans[name][0] == latest.get(name)
        ]  # fmt: skip
        suggested = [
            c for c, kind in detected.get(name, {}).items()
            if c not in flagged.get(name, frozenset()) and (name, c, kind) not in dismissed
        ]  # fmt: skip
        warns = [f for f in result.findings if f.severity in ("warn", "error")]
        failed = outcomes.get(name) in ("failed", "blocked") or bool(scan_errors)
        health: Health
        if failed:
            health, message = "failing", f"declared checks fail ({outcomes.get(name, 'scan')})"
        elif late is not None:
            health, message = "stale", late.message.split(": ", 1)[1]
        elif warns or suggested:
            health = "warning"
            message = warns[0].message if warns else f"possible PII in {', '.join(suggested)}"
            more = len(warns) + len(suggested) - 1 if warns else 0  # all columns are named
            message += f" (+{more} more)" if more > 0 else ""
        elif not result.enough_history:
            health = "no_history"
            message = f"not enough history ({result.commits} of {result.needed} commits)"
        else:
            health, message = "healthy", "no anomaly"
        model = result.freshness
        out.append(
            TableHealth(
                table=name,
                health=health,
                commits=result.commits,
                last_commit=model.last if model else None,
                due_by=model.due() if model else None,
                findings=len(warns) + len(suggested) + int(failed) + int(late is not None),
                message=message,
            )
        )
    return out


def findings_frame(result: ScanResult) -> pd.DataFrame:
    """The findings of a scan as a dataframe (``table, kind, column, severity, message``)."""
    cols = ["table", "kind", "column", "severity", "message", "check"]
    return pd.DataFrame([f.model_dump(include=set(cols)) for f in result.findings], columns=cols)


def status_frame(rows: list[TableHealth]) -> pd.DataFrame:
    """:func:`status` as a dataframe, one row per table."""
    return pd.DataFrame([r.model_dump() for r in rows], columns=list(TableHealth.model_fields))
