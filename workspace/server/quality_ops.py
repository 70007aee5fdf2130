"""What the ``quality/...`` routes do, without HTTP: the health and the Quality tab of tables.

:func:`health_all` gives every shared table its health from one call of
:func:`workspace.quality.scan.status` (cached monitor results, the last recorded check
results, stored PII suggestions; no scan). :func:`table_quality` adds, for one table, its
last check results, the monitors' active findings, the row count over its commits, the
charts of :mod:`workspace.quality.charts` (from the stored history) and its PII
suggestions. :func:`review_pii` confirms or dismisses a suggestion through
:mod:`workspace.quality.pii_review`; only the table's owner may (see :func:`may_review`).

Examples
--------
>>> {h.level for h in health_all(ws).tables} <= {"fail", "ok", "unknown", "warn"}
True
"""

from __future__ import annotations

import datetime as dt

from workspace.lake import metadata as ann
from workspace.lake.engine import LAKE
from workspace.lake.settings import Settings
from workspace.lake.workspace import Workspace
from workspace.quality.charts import quality_charts
from workspace.quality.checks_results import read_results
from workspace.quality.freshness import judge
from workspace.quality.history import fill, monitoring, shared_table
from workspace.quality.monitor_config import load_configs
from workspace.quality.pii_review import (
    confirm_pii,
    dismiss_pii,
    pii_findings,
    reviewed,
    scan_columns,
)
from workspace.quality.scan import evaluations, status
from workspace.server.quality_models import (
    SPARK_COMMITS,
    CheckResult,
    CountPoint,
    HealthResponse,
    HealthRow,
    PiiReview,
    PiiReviewResult,
    TableQuality,
    level_of,
)

__all__ = ["health_all", "level_of", "may_review", "review_pii", "table_quality"]


def health_all(ws: Workspace) -> HealthResponse:
    """The health of every shared table (``workspace quality status``, as badges).

    Examples
    --------
    >>> isinstance(health_all(ws).tables, list)
    True
    """
    return HealthResponse(tables=[HealthRow.of(r) for r in status(ws)])


def may_review(settings: Settings, owner: str | None) -> tuple[bool, str | None]:
    """Whether ``settings.user`` may confirm or dismiss PII on a table owned by ``owner``:
    the owner may, and anyone may on a table without one (the lake's own permissions still
    decide who can write the flag).

    Examples
    --------
    >>> may_review(Settings.resolve("/tmp/ws-doc", user="ada"), "bob")
    (False, 'Only the owner of this table (bob) can confirm or dismiss PII suggestions.')
    >>> may_review(Settings.resolve("/tmp/ws-doc", user="ada"), None)
    (True, None)
    """
    if owner in (None, "", settings.user):
        return True, None
    return False, f"Only the owner of this table ({owner}) can confirm or dismiss PII suggestions."


def _owner(ws: Workspace, name: str) -> str | None:
    return ann.load(ws.con, ws.resolve(name)).owner


def _checks(ws: Workspace, name: str) -> tuple[dt.datetime | None, str | None, list[CheckResult]]:
    runs = read_results(ws.settings, ws.resolve(name), limit=1)
    if not runs:
        return None, None, []
    run = runs[-1]
    checks = [CheckResult.model_validate(c) for c in run.get("checks", [])]
    at = run.get("at")
    return (dt.datetime.fromisoformat(at) if at else None), run.get("trigger"), checks


def table_quality(ws: Workspace, table: str, *, now: dt.datetime | None = None) -> TableQuality:
    """The Quality tab of one table: health, last check results, findings, history, PII.

    A sandbox table is not watched: it answers health ``unwatched`` and nothing else.

    Examples
    --------
    >>> q = table_quality(ws, "gold.revenue_by_nation_month")
    >>> q.health.level in ("ok", "warn", "fail", "unknown"), q.history[-1].rows_total > 0
    (True, True)
    """
    ref = ws.resolve(table)
    if ref.catalog != LAKE:
        return TableQuality(
            table=ref.display,
            health=HealthRow(
                table=ref.display,
                health="unwatched",
                level="unknown",
                message="Sandbox tables are not monitored; publish it to a shared layer.",
            ),
            can_review=False,
        )
    name = shared_table(ws, table)
    when = now or dt.datetime.now(dt.UTC)
    with monitoring(ws) as store:
        filled = fill(ws, store, [name])
        configs = load_configs(ws.settings)
        result = evaluations(store, configs, [name], filled.unsaved)[name]
        findings = [f for f in result.findings if f.severity in ("warn", "error")]
        late = judge(name, result.freshness, when) if result.freshness else None
        findings += [late] if late is not None else []
        scan_columns(ws, store, name, only_new=True)
        findings += pii_findings(ws, store, name)
        pii = reviewed(ws, store, name)
        commits = {c.snapshot_id: c for c in store.commits(name)}
        for c in filled.unsaved.get(name, []):
            commits.setdefault(c.snapshot_id, c)
    ordered = [commits[k] for k in sorted(commits)]
    charts = quality_charts(name, ordered, configs.for_table(name), as_of=when)
    history = [
        CountPoint(snapshot_id=c.snapshot_id, committed_at=c.committed_at, rows_total=c.rows_total)
        for c in ordered[-SPARK_COMMITS:]
    ]
    health = next((r for r in status(ws, as_of=when) if r.table == name), None)
    owner = _owner(ws, name)
    allowed, note = may_review(ws.settings, owner)
    at, trigger, checks = _checks(ws, name)
    return TableQuality(
        table=name,
        health=HealthRow.of(health)
        if health is not None
        else HealthRow(table=name, health="no_history", level="unknown", message="no history"),
        checks_at=at,
        checks_trigger=trigger,
        checks=checks,
        findings=findings,
        history=history,
        charts=charts,
        pii=pii,
        owner=owner,
        can_review=allowed,
        review_note=note,
    )


def review_pii(settings: Settings, table: str, review: PiiReview) -> PiiReviewResult:
    """Confirm (flag as PII in the catalog) or dismiss one suggestion, as this user.

    Opens a writable workspace for the call: the lake's permissions decide whether this
    user can write the flag, and only the table's owner is let through here.
    """
    with Workspace(settings) as ws:
        name = shared_table(ws, table)
        allowed, note = may_review(settings, _owner(ws, name))
        if not allowed:
            raise PermissionError(note)
        if review.action == "confirm":
            confirm_pii(ws, name, review.column)
        else:
            dismiss_pii(ws, name, review.column)
    return PiiReviewResult(table=name, column=review.column, action=review.action)
