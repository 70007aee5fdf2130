"""Detectors: each judges a table's latest commit against the table's own history.

:func:`evaluate` runs the **volume**, **freshness** (:mod:`workspace.quality.freshness`),
**schema**, **nulls** and **distribution** detectors and returns their findings. A table
with fewer than ``min_commits`` data commits gets one ``info`` finding ("not enough
history") instead of guesses. The statistics of each detector: docs/quality-monitors.md,
"Module notes".

Examples
--------
>>> evaluate("silver.t", [], MonitorConfig()).findings[0].message
'silver.t: not enough history (0 of 5 commits) to judge volume, freshness, nulls and distribution'
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from workspace.quality.findings import Finding, Severity
from workspace.quality.freshness import FreshnessModel, learn_freshness
from workspace.quality.metrics import QUANTILES, ColumnMetrics, CommitMetrics
from workspace.quality.monitor_config import MonitorConfig

_DATA_OPS = frozenset(("inserted", "deleted", "created"))
_EPS = 1e-4


@dataclass
class Evaluation:
    """What the history-based monitors found at a table's latest commit."""

    findings: list[Finding]
    commits: int
    needed: int
    freshness: FreshnessModel | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def enough_history(self) -> bool:
        """Whether the table has ``min_commits`` data commits."""
        return self.commits >= self.needed

    def to_json(self) -> dict[str, Any]:
        """For the store's cache."""
        return {
            "findings": [f.model_dump(mode="json") for f in self.findings],
            "commits": self.commits,
            "needed": self.needed,
            "freshness": None if self.freshness is None else self.freshness.to_json(),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Evaluation:
        """From :meth:`to_json`."""
        fresh = doc.get("freshness")
        return cls(
            findings=[Finding.model_validate(f) for f in doc["findings"]],
            commits=int(doc["commits"]),
            needed=int(doc["needed"]),
            freshness=None if fresh is None else FreshnessModel.from_json(fresh),
        )


def data_commits(history: list[CommitMetrics]) -> list[CommitMetrics]:
    """The commits that inserted or deleted rows (schema-only changes left out)."""
    return [c for c in history if _DATA_OPS & set(c.operations)]


def evaluate(table: str, history: list[CommitMetrics], config: MonitorConfig) -> Evaluation:
    """Run every enabled monitor but freshness on ``history`` (oldest first); freshness
    depends on the time of asking, so its learned model is returned for
    :func:`workspace.quality.freshness.judge`."""
    data = data_commits(history)
    found: list[Finding] = []
    if config.enabled("schema") and len(history) >= 2:
        # since the load before the latest one: an ALTER and the INSERT after it count as
        # one change, whether they were one commit or two
        before = [c for c in history[:-1] if _DATA_OPS & set(c.operations)]
        found += schema_changes(table, before[-1] if before else history[-2], history[-1])
    result = Evaluation(found, len(data), config.min_commits)
    if not result.enough_history:
        found.append(
            Finding(
                table=table,
                kind="volume",
                severity="info",
                message=f"{table}: not enough history ({len(data)} of {config.min_commits} "
                "commits) to judge volume, freshness, nulls and distribution",
                details={
                    "status": "not_enough_history",
                    "commits": len(data),
                    "needed": config.min_commits,
                },
            )
        )
        return result
    if config.enabled("freshness"):
        result.freshness = learn_freshness([c.committed_at for c in data], config)
    if config.enabled("volume"):
        found += volume(table, data, config)
    inserts = [c for c in data if c.rows_added >= config.min_rows and c.columns]
    if len(inserts) >= 2 and inserts[-1] is _last_insert(data):
        latest, past = inserts[-1], inserts[:-1][-config.window :]
        for m in latest.columns:
            if m.name in config.ignore_columns:
                continue
            if config.enabled("nulls"):
                found += nulls(table, m, past, config)
            if config.enabled("distribution"):
                found += distribution(table, m, latest, past, config)
    return result


def _last_insert(data: list[CommitMetrics]) -> CommitMetrics | None:
    return next((c for c in reversed(data) if c.rows_added > 0), None)


# -- schema ---------------------------------------------------------------------------------
def schema_changes(table: str, before: CommitMetrics, after: CommitMetrics) -> list[Finding]:
    """Columns ``after`` added, dropped or retyped relative to ``before``."""
    old, new = dict(before.table_schema), dict(after.table_schema)
    out = []
    for col in [c for c in new if c not in old]:
        out.append(_schema(table, col, "info", f"column {col} ({new[col]}) was added", after))
    for col in [c for c in old if c not in new]:
        out.append(_schema(table, col, "warn", f"column {col} ({old[col]}) was dropped", after))
    for col in [c for c in new if c in old and new[c] != old[c]]:
        what = f"column {col} changed type from {old[col]} to {new[col]}"
        out.append(_schema(table, col, "warn", what, after))
    return out


def _schema(table: str, col: str, severity: Severity, what: str, at: CommitMetrics) -> Finding:
    return Finding(
        table=table,
        kind="schema",
        column=col,
        severity=severity,
        message=f"{table}: {what} by the commit of {at.committed_at:%Y-%m-%d %H:%M} UTC "
        f"(snapshot {at.snapshot_id})",
        details={"snapshot_id": at.snapshot_id},
    )


# -- volume ---------------------------------------------------------------------------------
def robust_z(value: float, baseline: list[float]) -> tuple[float, float, float]:
    """(median, scaled MAD, z) of ``value`` against ``baseline``; z is infinite when the
    baseline never varies and the value differs from it.

    >>> robust_z(50, [100, 102, 98, 101, 99])[2] < -10
    True
    """
    med = float(np.median(baseline))
    mad = float(stats.median_abs_deviation(baseline, scale="normal"))
    if mad > 0:
        return med, mad, (value - med) / mad
    return med, mad, 0.0 if value == med else math.copysign(math.inf, value - med)


def seasonal_baseline(
    latest: CommitMetrics, past: list[CommitMetrics], values: list[float]
) -> tuple[list[float], bool]:
    """The baseline of ``latest``: past commits of the same weekday when the history holds
    three or more of them and they differ significantly from the other weekdays'
    (Mann-Whitney U, p < 0.01), else all."""
    weekday = latest.committed_at.weekday()
    same = [v for c, v in zip(past, values, strict=True) if c.committed_at.weekday() == weekday]
    other = [v for c, v in zip(past, values, strict=True) if c.committed_at.weekday() != weekday]
    if len(same) < 3 or len(other) < 3 or len(set(same) | set(other)) < 2:
        return values, False
    if stats.mannwhitneyu(same, other, alternative="two-sided").pvalue >= 0.01:
        return values, False
    return same, True


def volume(table: str, data: list[CommitMetrics], config: MonitorConfig) -> list[Finding]:
    """Rows added by the latest commit (or deleted, if it only deleted) against the history."""
    latest = data[-1]
    if latest.rows_added == 0 and latest.rows_deleted > 0:
        before = latest.rows_total + latest.rows_deleted
        share = latest.rows_deleted / before if before else 0.0
        shares = [
            c.rows_deleted / max(c.rows_total + c.rows_deleted, 1)
            for c in data[:-1]
            if c.rows_added == 0 and c.rows_deleted > 0
        ]
        typical = float(np.median(shares)) if shares else 0.0
        if share < 0.5 or share - typical < config.volume_min_change:
            return []
        what = f"the latest commit deleted {share:.0%} of the rows ({latest.rows_deleted:,} "
        return [_volume(table, latest, f"{what}of {before:,})", {"share": share})]
    inserts = [c for c in data if c.rows_added > 0 or "created" in c.operations]
    if not inserts or inserts[-1] is not latest:
        return []
    past = inserts[:-1][-config.window :]
    if len(past) < config.min_commits - 1:
        return []
    values = [float(c.rows_added) for c in past]
    baseline, seasonal = (
        seasonal_baseline(latest, past, values) if config.seasonality else (values, False)
    )
    med, mad, z = robust_z(float(latest.rows_added), baseline)
    change = abs(latest.rows_added - med) / max(med, 1.0)
    if abs(z) < config.volume_z or change < config.volume_min_change:
        return []
    usual = f"usually {med:,.0f}" + (f" on {latest.committed_at:%A}s" if seasonal else "")
    spread = f"robust z {z:+.1f}" if math.isfinite(z) else "which never varied"
    return [
        _volume(
            table,
            latest,
            f"the latest commit added {latest.rows_added:,} rows; {usual} (median of "
            f"{len(baseline)} commits, {spread})",
            {"rows_added": latest.rows_added, "median": med, "mad": mad, "z": _num(z),
             "seasonal": seasonal},
        )
    ]  # fmt: skip


def _volume(table: str, at: CommitMetrics, what: str, details: dict[str, Any]) -> Finding:
    return Finding(
        table=table,
        kind="volume",
        severity="warn",
        message=f"{table}: {what}",
        details={"snapshot_id": at.snapshot_id, **details},
    )


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


# -- nulls ----------------------------------------------------------------------------------
def nulls(
    table: str, m: ColumnMetrics, past: list[CommitMetrics], config: MonitorConfig
) -> list[Finding]:
    """A rise of ``m``'s null share against the same column in past commits."""
    if m.null_fraction is None:
        return []
    baseline = [
        c.null_fraction for p in past if (c := p.column(m.name)) and c.null_fraction is not None
    ]
    if len(baseline) < config.min_commits - 1:
        return []
    med, mad, z = robust_z(m.null_fraction, baseline)
    rise = m.null_fraction - med
    if rise < config.null_min_change or (mad > 0 and z < config.null_z):
        return []
    return [
        Finding(
            table=table,
            kind="nulls",
            column=m.name,
            severity="warn",
            message=f"{table}.{m.name}: {m.null_fraction:.0%} of the rows of the latest "
            f"commit are NULL; usually {med:.0%} (median of {len(baseline)} commits)",
            details={"null_fraction": m.null_fraction, "median": med, "mad": mad,
                     "z": _num(z)},
        )
    ]  # fmt: skip


# -- distribution ---------------------------------------------------------------------------
def _cdf(quantiles: list[float], x: np.ndarray) -> np.ndarray:
    """The CDF a quantile sketch implies, at ``x`` (linear between the sketch's points)."""
    q = np.maximum.accumulate(np.asarray(quantiles, dtype=float))
    levels = np.asarray(QUANTILES[: len(q)], dtype=float)
    return np.interp(x, q, levels, left=0.0, right=1.0)


def psi(actual: np.ndarray, expected: np.ndarray) -> float:
    """Population stability index of two share vectors (``scipy.special.rel_entr``)."""
    a = np.clip(actual, _EPS, None)
    e = np.clip(expected, _EPS, None)
    return float(np.sum(rel_entr(a, e) + rel_entr(e, a)))


def _bins(cdf: np.ndarray) -> np.ndarray:
    """Shares per bin (``(-inf, e1], ..., (ek, inf)``) from CDF values at the edges (rows)."""
    cdf = np.atleast_2d(cdf)
    ones = np.ones((cdf.shape[0], 1))
    return np.diff(np.hstack([0.0 * ones, cdf, ones]), axis=1)


def numeric_drift(latest: list[float], past: list[list[float]]) -> tuple[float, float, float]:
    """(PSI, KS distance, usual PSI) of a quantile sketch against past sketches.

    The bins are the pooled deciles of the past. The usual PSI is the median over the past
    sketches of each one's PSI against the others: how much the column moves between two
    ordinary commits.
    """
    history = np.asarray(past, dtype=float)
    edges = np.unique(np.median(history, axis=0)[2:-2:2])  # pooled deciles 10%..90%
    grid = np.unique(np.concatenate([np.asarray(latest), history.ravel()]))
    ks = float(np.max(np.abs(_cdf(latest, grid) - np.mean([_cdf(s, grid) for s in past], 0))))
    if edges.size == 0:
        return 0.0, ks, 0.0
    cdfs = np.asarray([_cdf(s, edges) for s in past])
    pooled = _bins(cdfs.mean(axis=0))[0]
    score = psi(_bins(_cdf(latest, edges))[0], pooled)
    others = (cdfs.sum(axis=0) - cdfs) / max(len(past) - 1, 1)
    usual = [psi(own, rest) for own, rest in zip(_bins(cdfs), _bins(others), strict=True)]
    return score, ks, float(np.median(usual))


def _shares(m: ColumnMetrics, values: list[str]) -> np.ndarray:
    got = dict(m.top_values or [])
    vec = [got.get(v, 0.0) for v in values]
    return np.asarray([*vec, max(0.0, 1.0 - sum(got.values()))])


def _categorical_drift(latest: ColumnMetrics, past: list[ColumnMetrics]) -> float:
    values = sorted({v for m in (latest, *past) for v, _ in m.top_values or []})
    base = np.mean([_shares(m, values) for m in past], axis=0)
    return float(jensenshannon(_shares(latest, values), base, base=2))


def distribution(
    table: str,
    m: ColumnMetrics,
    latest: CommitMetrics,
    past: list[CommitMetrics],
    config: MonitorConfig,
) -> list[Finding]:
    """Drift of ``m`` (numeric or low-cardinality text) against the same column in past
    commits, beyond its usual commit-to-commit drift."""
    rows = latest.sample_rows or latest.rows_added
    n = max(1.0, rows * (1.0 - (m.null_fraction or 0.0)))
    cols = [c for p in past if (c := p.column(m.name)) is not None and c.kind == m.kind]
    if m.quantiles and m.kind == "number":
        sketches = [c.quantiles for c in cols if c.quantiles and len(c.quantiles) == len(QUANTILES)]
        if len(sketches) < config.min_commits - 1 or len(m.quantiles) != len(QUANTILES):
            return []
        score, ks, usual_psi = numeric_drift(m.quantiles, sketches)
        noise = max(usual_psi, 9.0 / n)  # 9 / n: what sampling alone gives on 10 bins
        limit = max(config.psi_threshold, config.noise_factor * noise)
        if score < limit:
            return []
        usual = float(np.median([s[len(QUANTILES) // 2] for s in sketches]))
        now = m.quantiles[len(QUANTILES) // 2]
        return [_drift(table, m, f"distribution shifted (PSI {score:.2f}, KS {ks:.2f}): "
                       f"median {now:.4g}, usually {usual:.4g}",
                       {"psi": score, "ks": ks, "threshold": limit})]  # fmt: skip
    if m.top_values and m.kind in ("text", "boolean"):
        tops = [c for c in cols if c.top_values]
        if len(tops) < config.min_commits - 1:
            return []
        score = _categorical_drift(m, tops)
        usual_js = [_categorical_drift(c, tops[:i] + tops[i + 1 :]) for i, c in enumerate(tops)]
        k = len(m.top_values) + 1
        sampling = math.sqrt(max(k - 1, 1) / (8.0 * n * math.log(2)))  # from sampling alone
        noise = max(float(np.median(usual_js)), sampling)
        limit = max(config.js_threshold, config.noise_factor * noise)
        if score < limit:
            return []
        base: dict[str, float] = defaultdict(float)
        for c in tops:
            for v, s in c.top_values or []:
                base[v] += s / len(tops)
        shares = dict(m.top_values)
        top = max(set(shares) | set(base), key=lambda v: abs(shares.get(v, 0.0) - base.get(v, 0.0)))
        what = (
            f"value mix changed (Jensen-Shannon {score:.2f}): {top!r} is "
            f"{shares.get(top, 0.0):.0%} of the values, usually {base.get(top, 0.0):.0%}"
        )
        return [_drift(table, m, what, {"jensen_shannon": score, "threshold": limit})]
    return []


def _drift(table: str, m: ColumnMetrics, what: str, details: dict[str, Any]) -> Finding:
    return Finding(
        table=table,
        kind="distribution",
        column=m.name,
        severity="warn",
        message=f"{table}.{m.name}: {what}",
        details=details,
    )
