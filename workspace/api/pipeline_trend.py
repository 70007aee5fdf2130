"""What the pipeline detail adds for the Pipelines panel: the trend of its runs and the
checks its tasks declare.

:func:`pipeline_trend` sums the measured resources and cost of a pipeline's last finished
runs; :func:`declared_checks` lists a task's ``checks:`` as flat rows. Both go into
:class:`~workspace.api.models.PipelineDetail`. Design notes: docs/api.md, "Module notes".

Examples
--------
>>> from workspace.quality.task_checks import parse_task_checks
>>> rows = declared_checks(parse_task_checks({"gold.kpi": [{"check": "row_count", "min": 1}]}))
>>> [(r.table, r.name, r.type, r.severity) for r in rows]
[('gold.kpi', 'row_count', 'row_count', 'error')]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from workspace.jobs.costs import CostPrices, attempt_cost
from workspace.jobs.models import RunState
from workspace.jobs.store.run_store import RunStore
from workspace.quality.contract import Contract

__all__ = ["TREND_RUNS", "PipelineTrend", "TaskCheckInfo", "TrendPoint", "declared_checks",
           "pipeline_trend"]  # fmt: skip

#: How many finished runs the trend covers.
TREND_RUNS = 20
_FINISHED = [s for s in RunState if s.finished]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskCheckInfo(_Payload):
    """One check a task declares for a table it writes (``checks:`` of ``pipeline.yaml``)."""

    table: str = Field(description="The table the check guards, e.g. silver.orders.")
    name: str = Field(description="The check's name, e.g. not_null(o_orderkey).")
    type: str = Field(description="not_null, unique, accepted_values, range, row_count, ...")
    severity: str = Field(description="'error' blocks the write; 'warn' records a finding.")


class TrendPoint(_Payload):
    """One finished run: how long it took, what it used and what it cost."""

    run_id: str
    state: RunState
    finished_at: datetime | None = None
    duration_seconds: float | None = Field(None, description="The run's start to its end.")
    cpu_seconds: float = Field(0.0, description="CPU seconds of its attempts, summed.")
    peak_rss_bytes: int | None = Field(None, description="The largest attempt's peak memory.")
    cost: float = Field(0.0, description="Its attempts' compute cost at costs.yaml's prices.")


class PipelineTrend(_Payload):
    """The last finished runs of a pipeline, oldest first."""

    runs: list[TrendPoint] = Field(default_factory=list)
    currency: str | None = Field(None, description="costs.yaml's currency (null: malformed).")


def declared_checks(checks: Mapping[str, Contract]) -> list[TaskCheckInfo]:
    """A task's declared checks (table -> contract) as rows, by table then declaration."""
    return [
        TaskCheckInfo(table=table, name=c.name, type=c.type, severity=c.severity)
        for table, contract in sorted(checks.items())
        for c in contract.checks
    ]


def pipeline_trend(
    store: RunStore, pipeline: str, prices: CostPrices | None, *, limit: int = TREND_RUNS
) -> PipelineTrend:
    """The last ``limit`` finished runs of ``pipeline``, oldest first, with their resources.

    ``prices`` None (a malformed ``costs.yaml``): costs are zero and ``currency`` null.

    Examples
    --------
    >>> import tempfile
    >>> from workspace.lake.settings import Settings
    >>> store = RunStore.open(Settings.resolve(home=tempfile.mkdtemp()))
    >>> pipeline_trend(store, "nightly", CostPrices()).runs
    []
    """
    points = []
    for run in reversed(store.list_runs(pipeline=pipeline, states=_FINISHED, limit=limit)):
        attempts = store.get_run_detail(run.run_id).attempts
        used = [a.resources for a in attempts]
        peaks = [r.peak_rss_bytes for r in used if r.peak_rss_bytes is not None]
        duration = None
        if run.started_at is not None and run.finished_at is not None:
            duration = max(0.0, (run.finished_at - run.started_at).total_seconds())
        points.append(
            TrendPoint(
                run_id=run.run_id,
                state=run.state,
                finished_at=run.finished_at,
                duration_seconds=duration,
                cpu_seconds=sum(r.cpu_seconds or 0.0 for r in used),
                peak_rss_bytes=max(peaks) if peaks else None,
                cost=sum(attempt_cost(r, prices).cost for r in used) if prices else 0.0,
            )
        )
    return PipelineTrend(runs=points, currency=prices.currency if prices else None)
