"""The platform at a glance: pipelines, tables, compute, storage and the Dask cluster.

:func:`platform_health` gathers, in one read of each source, what an operator checks in the
morning: pipelines, tables' quality health, compute and storage with their cost, and access
grants. It serves ``workspace health [--json]`` and the reports service's ``health`` page.

What each part holds: docs/reports.md, "Module notes".
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from workspace.api.models import RunsQuery
from workspace.api.service import JobsService
from workspace.jobs.costs import GB, By, cost_report, load_prices
from workspace.jobs.models import RunState
from workspace.jobs.spec.pipeline import Sla
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = ["PipelineHealth", "PlatformHealth", "platform_health"]

log = logging.getLogger(__name__)

_BAD = {RunState.FAILED, RunState.TIMED_OUT}
_GRACE = timedelta(minutes=5)  # "late" for pipelines without an SLA start_within


class PipelineHealth(BaseModel):
    """One pipeline's recent health."""

    name: str
    status: str = Field(description="ok, failing, late, paused, pending or invalid")
    last_run_id: str | None = None
    last_state: str | None = None
    runs: int = Field(0, description="Runs created in the window.")
    failed: int = Field(0, description="Runs of the window that failed or timed out.")
    late_starts: int = Field(
        0,
        description="Scheduled runs that started late: after the SLA's start_within, "
        "or over 5 minutes without one.",
    )
    on_time_pct: float | None = Field(
        None, description="Share of the window's scheduled runs that started on time (%)."
    )
    sla_misses: int = Field(
        0, description="Runs that missed the pipeline's SLA (start_within or max_duration)."
    )
    next_run: datetime | None = None
    error: str | None = None


class TableHealthRow(BaseModel):
    """One shared table's quality health (see :func:`workspace.quality.scan.status`)."""

    table: str
    health: str = Field(description="failing, stale, warning, no_history or healthy")
    findings: int = 0
    last_commit: datetime | None = None
    message: str = ""


class ComputeRow(BaseModel):
    """What a pipeline's (or a user's) attempts used over the window."""

    pipeline: str = Field(description="The pipeline, or the user in ``compute_by_user``.")
    cpu_hours: float
    gb_hours: float
    cost: float


class StorageRow(BaseModel):
    """Bytes stored per layer (and ``sandboxes``), with their monthly cost."""

    layer: str
    bytes: int
    cost_per_month: float


class GrantsSummary(BaseModel):
    """Access grants to protected data (empty when governance keeps no grants yet)."""

    active: int = 0
    expiring_soon: list[dict[str, Any]] = Field(default_factory=list)
    never_used: list[dict[str, Any]] = Field(default_factory=list)


class PlatformHealth(BaseModel):
    """Everything :func:`platform_health` gathered (the ``--json`` shape)."""

    generated_at: datetime
    since: datetime
    pipelines: list[PipelineHealth]
    tables: list[TableHealthRow]
    compute: list[ComputeRow]
    storage: list[StorageRow]
    compute_by_user: list[ComputeRow] = Field(
        default_factory=list, description="Compute and sandbox storage cost per user."
    )
    currency: str = "USD"
    dask_workers: tuple[int, int] | None = Field(
        None, description="Fewest and most Dask workers seen by the window's attempts."
    )
    grants: GrantsSummary = Field(default_factory=GrantsSummary)
    problems: list[str] = Field(
        default_factory=list, description="Sources that could not be read, and why."
    )


def platform_health(
    settings: Settings,
    *,
    scheduled_root: Path,
    days: int = 7,
    now: datetime | None = None,
    service: JobsService | None = None,
) -> PlatformHealth:
    """Gather the health of pipelines, tables, compute and storage over the last ``days``.

    Examples
    --------
    >>> h = platform_health(ws.settings, scheduled_root=tmp_path)  # doctest: +SKIP
    >>> sorted(h.model_dump())  # doctest: +SKIP
    ['compute', 'generated_at', 'grants', 'pipelines', 'since', 'storage', 'tables']
    """
    now = now or datetime.now(UTC)
    since = now - timedelta(days=days)
    health = PlatformHealth(
        generated_at=now, since=since, pipelines=[], tables=[], compute=[], storage=[]
    )
    jobs = service or JobsService(settings, scheduled_root)
    try:
        health.pipelines, health.dask_workers = _pipelines(jobs, since)
    except (WorkspaceError, OSError) as exc:
        health.problems.append(f"pipelines: {exc}")
    try:
        health.tables = _tables(settings)
    except (WorkspaceError, OSError) as exc:
        health.problems.append(f"tables: {exc}")
    try:
        _costs(settings, health, since, now)
    except (WorkspaceError, OSError) as exc:
        health.problems.append(f"compute and storage: {exc}")
    try:
        health.grants = _grants(settings, now)
    except (WorkspaceError, OSError) as exc:
        health.problems.append(f"grants: {exc}")
    return health


def _pipelines(
    jobs: JobsService, since: datetime
) -> tuple[list[PipelineHealth], tuple[int, int] | None]:
    runs = jobs.runs(RunsQuery(since=since, limit=500)).runs
    by_pipeline: dict[str, list[Any]] = {}
    for run in runs:
        by_pipeline.setdefault(run.pipeline, []).append(run)
    workers: list[int] = []
    for run in runs[:50]:  # the newest runs' attempts: enough to see the cluster scale
        if run.state in (RunState.QUEUED, RunState.RUNNING):
            continue
        for attempt in jobs.run(run.run_id).attempts:
            used = attempt.resources
            if used is not None and used.dask_workers_min is not None:
                workers += [used.dask_workers_min, used.dask_workers_max or 0]
    out = []
    now = jobs.clock()
    for p in jobs.pipelines(n=1):
        mine = by_pipeline.get(p.name, [])
        failed = sum(1 for r in mine if r.state in _BAD)
        sla = _sla(jobs, p.name)
        grace = timedelta(seconds=sla.start_within) if sla and sla.start_within else _GRACE
        scheduled = [r for r in mine if r.scheduled_for is not None]
        late = sum(1 for r in scheduled if (r.started_at or now) - r.scheduled_for > grace)
        misses = 0
        if sla is not None:
            for r in mine:
                waited = r.scheduled_for is not None and (
                    sla.start_within is not None
                    and ((r.started_at or now) - r.scheduled_for).total_seconds() > sla.start_within
                )
                ran = r.started_at is not None and (
                    sla.max_duration is not None
                    and ((r.finished_at or now) - r.started_at).total_seconds() > sla.max_duration
                )
                misses += bool(waited or ran)
        if p.error:
            status = "invalid"
        elif p.approval == "pending":
            status = "pending"
        elif p.paused:
            status = "paused"
        elif p.last_run_state in _BAD:
            status = "failing"
        elif late or misses:
            status = "late"
        else:
            status = "ok"
        out.append(
            PipelineHealth(
                name=p.name,
                status=status,
                last_run_id=p.last_run_id,
                last_state=None if p.last_run_state is None else str(p.last_run_state.value),
                runs=len(mine),
                failed=failed,
                late_starts=late,
                on_time_pct=(
                    round(100 * (len(scheduled) - late) / len(scheduled), 1) if scheduled else None
                ),
                sla_misses=misses,
                next_run=p.next_runs[0] if p.next_runs else None,
                error=p.error,
            )
        )
    order = {"failing": 0, "invalid": 1, "late": 2, "pending": 3, "paused": 4, "ok": 5}
    out.sort(key=lambda h: (order.get(h.status, 9), h.name))
    span = (min(workers), max(workers)) if workers else None
    return out, span


def _sla(jobs: JobsService, name: str) -> Sla | None:
    try:
        return jobs.spec(name).sla
    except WorkspaceError:  # invalid or gone: no SLA to judge by
        return None


def _tables(settings: Settings) -> list[TableHealthRow]:
    from workspace.lake.workspace import Workspace
    from workspace.quality.scan import status

    if settings.catalog.kind == "sqlite" and not (
        settings.catalog.path and settings.catalog.path.exists()
    ):
        return []
    with Workspace(settings, read_only=True) as ws:
        rows = status(ws)
    order = {"failing": 0, "stale": 1, "warning": 2, "no_history": 3, "healthy": 4}
    out = [
        TableHealthRow(
            table=r.table,
            health=r.health,
            findings=r.findings,
            last_commit=r.last_commit,
            message=r.message,
        )
        for r in rows
    ]
    out.sort(key=lambda r: (order.get(r.health, 9), r.table))
    return out


def _costs(settings: Settings, health: PlatformHealth, since: datetime, now: datetime) -> None:
    prices = load_prices(settings)
    health.currency = prices.currency

    def compute(by: By) -> list[ComputeRow]:
        rows = cost_report(settings, by=by, since=since, now=now).rows
        return [
            ComputeRow(
                pipeline=r.key,
                cpu_hours=round(r.cpu_seconds / 3600, 4),
                gb_hours=round(r.gb_hours, 4),
                cost=r.cost,
            )
            for r in rows
            if by == "user" or r.cpu_seconds or r.gb_hours
        ]

    health.compute = compute("pipeline")
    health.compute_by_user = compute("user")
    by_layer = cost_report(settings, by="layer", since=since, now=now)
    health.storage = [
        StorageRow(
            layer=r.key,
            bytes=round(r.storage_gb * GB),
            cost_per_month=round(r.storage_gb * prices.storage_gb_month, 4),
        )
        for r in by_layer.rows
    ]


def _grants(settings: Settings, now: datetime) -> GrantsSummary:
    from workspace.governance.access import AccessService, store_path
    from workspace.governance.access_policy import Caller

    if not store_path(settings).exists():
        return GrantsSummary()
    service = AccessService(settings)
    views = service.grants(Caller("health", admin=True), active=True)
    soon = now + timedelta(days=7)

    def brief(v: Any) -> dict[str, Any]:
        return {"user": v.user, "target": v.target, "expires_at": v.expires_at.isoformat(),
                "granted_at": v.created_at.isoformat(), "granted_by": v.granted_by}  # fmt: skip

    return GrantsSummary(
        active=len(views),
        expiring_soon=[brief(v) for v in views if v.expires_at <= soon],
        never_used=[brief(v) for v in views if v.last_used is None],
    )
