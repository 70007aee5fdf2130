"""The Quality tab's charts: Vega-Lite specs (built with Altair) from a table's metrics history.

:func:`quality_charts` builds the **rows**, **freshness** and **nulls** charts, with the
commits the monitors flag in red. Only counts, shares and times go into a spec, never a
value of a column; everything comes from the stored history (no scan of the data).
Design notes (what each chart shows): docs/quality-monitors.md, "Module notes".

Examples
--------
>>> [c.id for c in quality_charts("silver.t", [], MonitorConfig())]
[]
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from workspace.quality.detect import data_commits, nulls, volume
from workspace.quality.freshness import active_seconds, learn_freshness, updates
from workspace.quality.metrics import CommitMetrics
from workspace.quality.monitor_config import MonitorConfig

if TYPE_CHECKING:
    import altair as alt

ChartId = Literal["rows", "freshness", "nulls"]
#: Commits shown in the charts (the latest ones).
CHART_COMMITS = 60
#: Columns in the null-rate chart (those with the highest null share).
NULL_COLUMNS = 6
WIDTH, HEIGHT = 480, 140
_RED = "#d62728"


class QualityChart(BaseModel):
    """One chart of the Quality tab: a Vega-Lite v5 spec."""

    id: ChartId
    title: str
    spec: dict[str, Any] = Field(description="A Vega-Lite v5 specification (data inline).")


def quality_charts(
    table: str,
    history: list[CommitMetrics],
    config: MonitorConfig,
    *,
    as_of: dt.datetime | None = None,
    limit: int = CHART_COMMITS,
) -> list[QualityChart]:
    """The charts of ``table`` from its ``history`` (oldest first); charts without data are
    left out.

    Examples
    --------
    >>> charts = quality_charts("silver.t", history, MonitorConfig())  # doctest: +SKIP
    >>> [c.id for c in charts]  # doctest: +SKIP
    ['rows', 'freshness', 'nulls']
    """
    if not history:
        return []
    shown = history[-limit:]
    out = [
        QualityChart(
            id="rows", title="Rows per commit", spec=rows_chart(table, history, shown, config)
        )
    ]
    fresh = freshness_chart(history, config, as_of or dt.datetime.now(dt.UTC), limit)
    if fresh is not None:
        out.append(QualityChart(id="freshness", title="Hours between updates", spec=fresh))
    null = nulls_chart(table, history, shown, config)
    if null is not None:
        out.append(QualityChart(id="nulls", title="Null rate per column", spec=null))
    return out


def volume_anomalies(
    table: str, history: list[CommitMetrics], config: MonitorConfig
) -> dict[int, float | None]:
    """Per flagged commit (snapshot id), the robust z of the volume detector judging it
    against the commits before it (None where the z is not finite or not a z)."""
    data = data_commits(history)
    flagged: dict[int, float | None] = {}
    start = max(config.min_commits - 1, len(data) - CHART_COMMITS)
    for i in range(start, len(data)):
        for f in volume(table, data[: i + 1][-(config.window + 1) :], config):
            flagged[int(f.details["snapshot_id"])] = f.details.get("z")
    return flagged


def null_anomalies(
    table: str,
    history: list[CommitMetrics],
    config: MonitorConfig,
    columns: set[str] | None = None,
) -> set[tuple[int, str]]:
    """(snapshot id, column) of the commits whose null share the null monitor flags (of
    ``columns``, default all)."""
    inserts = [c for c in data_commits(history) if c.rows_added >= config.min_rows and c.columns]
    found: set[tuple[int, str]] = set()
    for i in range(max(1, len(inserts) - CHART_COMMITS), len(inserts)):
        latest, past = inserts[i], inserts[:i][-config.window :]
        for m in latest.columns:
            if m.name in config.ignore_columns or (columns is not None and m.name not in columns):
                continue
            # the monitor wants a rise of null_min_change over the median: skip what cannot
            if _may_rise(m.name, m.null_fraction, past, config.null_min_change) and nulls(
                table, m, past, config
            ):
                found.add((latest.snapshot_id, m.name))
    return found


def _may_rise(column: str, now: float | None, past: list[CommitMetrics], change: float) -> bool:
    """Whether ``now`` is ``change`` above the median null share of ``column`` in ``past``
    (a cheap test before the detector's robust z)."""
    if now is None or now < change:
        return False
    before = [
        c.null_fraction for p in past if (c := p.column(column)) and c.null_fraction is not None
    ]
    return not before or now - float(np.median(before)) >= change


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat()


def _time_axis(field: str, times: list[dt.datetime]) -> alt.X:
    """An x axis of times, labelled to the span it covers (seconds apart: clock time)."""
    import altair as alt

    span = (max(times) - min(times)).total_seconds() if times else 0.0
    fmt = "%H:%M:%S" if span < 600 else "%H:%M" if span < 2 * 86400 else "%b %d"
    return alt.X(f"{field}:T", title=None, axis=alt.Axis(format=fmt, labelOverlap=True))


def _spec(chart: alt.LayerChart, datasets: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """The Vega-Lite dict of ``chart``, whose layers read named data, with ``datasets``
    (values kept out of the schema validation, which would cost a second per chart)."""
    spec = chart.properties(width=WIDTH, height=HEIGHT).to_dict()
    spec["datasets"] = datasets
    return spec


def rows_chart(
    table: str, history: list[CommitMetrics], shown: list[CommitMetrics], config: MonitorConfig
) -> dict[str, Any]:
    """Total rows per commit over time; anomalous commits (volume detector) in red."""
    import altair as alt

    flagged = volume_anomalies(table, history, config)
    rows = [
        {
            "snapshot": c.snapshot_id,
            "committed_at": _iso(c.committed_at),
            "rows_total": c.rows_total,
            "rows_added": c.rows_added,
            "rows_deleted": c.rows_deleted,
            "anomaly": c.snapshot_id in flagged,
            "z": flagged.get(c.snapshot_id),
        }
        for c in shown
    ]
    data = alt.Data(name="rows")
    x = _time_axis("committed_at", [c.committed_at for c in shown])
    tips = [
        alt.Tooltip("committed_at:T", title="committed", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("snapshot:Q", title="snapshot"),
        alt.Tooltip("rows_total:Q", title="rows", format=","),
        alt.Tooltip("rows_added:Q", title="added", format=","),
        alt.Tooltip("rows_deleted:Q", title="deleted", format=","),
        alt.Tooltip("z:Q", title="robust z", format="+.1f"),
    ]
    y = alt.Y("rows_total:Q", title="rows")
    line = alt.Chart(data).mark_line(point=True).encode(x=x, y=y, tooltip=tips)
    marks = (
        alt.Chart(data)
        .transform_filter("datum.anomaly")
        .mark_point(color=_RED, filled=True, size=90)
        .encode(x=x, y=y, tooltip=tips)
    )
    return _spec(alt.layer(line, marks), {"rows": rows})


def freshness_chart(
    history: list[CommitMetrics], config: MonitorConfig, as_of: dt.datetime, limit: int
) -> dict[str, Any] | None:
    """Hours between updates, the usual interval and its not-late band, and "now"."""
    import altair as alt

    times = [c.committed_at for c in data_commits(history)]
    model = learn_freshness(times, config)
    starts = updates(times, config.burst_gap)[-(limit + 1) :]
    if len(starts) < 2:
        return None
    quiet = model.inactive_weekdays if model else ()
    gaps = [
        {"at": _iso(b), "hours": active_seconds(a, b, quiet) / 3600, "kind": "update"}
        for a, b in itertools.pairwise(starts)
    ]
    x = _time_axis("at", [*starts, as_of] if model is not None and as_of > model.last else starts)
    y = alt.Y("hours:Q", title="hours")
    tips = [
        alt.Tooltip("at:T", title="at", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("hours:Q", title="hours since the previous update", format=".1f"),
    ]
    layers: list[Any] = []
    datasets: dict[str, list[dict[str, Any]]] = {"gaps": gaps}
    if model is not None:
        band = alt.Data(name="band")
        datasets["band"] = [
            {"low": 0.0, "high": model.allowed / 3600, "expected": model.expected / 3600}
        ]
        layers += [
            alt.Chart(band).mark_rect(opacity=0.15, color="#2ca02c").encode(y="low:Q", y2="high:Q"),
            alt.Chart(band)
            .mark_rule(strokeDash=[4, 3], color="#2ca02c")
            .encode(
                y="expected:Q",
                tooltip=[alt.Tooltip("expected:Q", title="usual hours", format=".1f")],
            ),
        ]
    layers.append(
        alt.Chart(alt.Data(name="gaps")).mark_line(point=True).encode(x=x, y=y, tooltip=tips)
    )
    if model is not None and as_of > model.last:
        age = active_seconds(model.last, as_of, quiet)
        now = {"at": _iso(as_of), "hours": age / 3600, "overdue": age > model.allowed}
        now["label"] = "overdue" if now["overdue"] else "now"
        layers.append(
            alt.Chart(alt.Data(name="now"))
            .mark_point(shape="triangle-up", filled=True, size=110)
            .encode(
                x=x,
                y=y,
                color=alt.condition("datum.overdue", alt.value(_RED), alt.value("#7f7f7f")),
                tooltip=[alt.Tooltip("label:N", title="now"), *tips[1:]],
            )
        )
        datasets["now"] = [now]
    return _spec(alt.layer(*layers), datasets)


def nulls_chart(
    table: str, history: list[CommitMetrics], shown: list[CommitMetrics], config: MonitorConfig
) -> dict[str, Any] | None:
    """The null share per commit of the columns that had nulls; flagged jumps in red."""
    import altair as alt

    worst: dict[str, float] = {}
    for c in shown:
        for m in c.columns:
            if m.null_fraction:
                worst[m.name] = max(worst.get(m.name, 0.0), m.null_fraction)
    if not worst:
        return None
    columns = sorted(worst, key=lambda n: (-worst[n], n))[:NULL_COLUMNS]
    flagged = null_anomalies(table, history, config, set(columns))
    rows = [
        {
            "committed_at": _iso(c.committed_at),
            "snapshot": c.snapshot_id,
            "column": m.name,
            "null_rate": m.null_fraction,
            "anomaly": (c.snapshot_id, m.name) in flagged,
        }
        for c in shown
        if c.rows_added
        for m in c.columns
        if m.name in columns and m.null_fraction is not None
    ]
    data = alt.Data(name="nulls")
    x = _time_axis("committed_at", [c.committed_at for c in shown])
    y = alt.Y("null_rate:Q", title="null rate", axis=alt.Axis(format="%"))
    tips = [
        alt.Tooltip("column:N"),
        alt.Tooltip("committed_at:T", title="committed", format="%Y-%m-%d %H:%M"),
        alt.Tooltip("snapshot:Q"),
        alt.Tooltip("null_rate:Q", title="null rate", format=".1%"),
    ]
    color = alt.Color("column:N", title="column", sort=columns)
    line = alt.Chart(data).mark_line(point=True).encode(x=x, y=y, color=color, tooltip=tips)
    marks = (
        alt.Chart(data)
        .transform_filter("datum.anomaly")
        .mark_point(color=_RED, filled=True, size=90)
        .encode(x=x, y=y, tooltip=tips)
    )
    return _spec(alt.layer(line, marks), {"nulls": rows})
