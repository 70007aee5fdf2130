"""Freshness: when the next commit of a table is due, learned from the intervals between its
past commits, and whether it is late at a given time.

:func:`learn_freshness` learns the usual interval between updates (commits in a burst count
as one; weekdays without commits are left out of the clock); :func:`judge` says whether the
table is late at a given time. The rule: docs/quality-monitors.md, "Module notes".
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from workspace.quality.findings import Finding
from workspace.quality.monitor_config import MonitorConfig

_DAY = 86400.0


@dataclass(frozen=True)
class FreshnessModel:
    """What a table's commit times taught: when the next one is due."""

    last: dt.datetime
    expected: float  # seconds between updates (of active time)
    allowed: float  # seconds after ``last`` before the table is stale (of active time)
    inactive_weekdays: tuple[int, ...]  # 0 = Monday
    updates: int

    def due(self) -> dt.datetime:
        """When the table becomes stale."""
        return add_active(self.last, self.allowed, self.inactive_weekdays)

    def to_json(self) -> dict[str, Any]:
        """For the store's cache."""
        return {
            "last": self.last.isoformat(),
            "expected": self.expected,
            "allowed": self.allowed,
            "inactive_weekdays": list(self.inactive_weekdays),
            "updates": self.updates,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> FreshnessModel:
        """From :meth:`to_json`."""
        return cls(
            dt.datetime.fromisoformat(doc["last"]),
            float(doc["expected"]),
            float(doc["allowed"]),
            tuple(doc["inactive_weekdays"]),
            int(doc["updates"]),
        )


def updates(times: list[dt.datetime], burst_gap: float) -> list[dt.datetime]:
    """The start of each burst of commits (commits within ``burst_gap`` seconds)."""
    out: list[dt.datetime] = []
    prev: dt.datetime | None = None
    for t in sorted(times):
        if prev is None or (t - prev).total_seconds() > burst_gap:
            out.append(t)
        prev = t
    return out


def inactive_weekdays(starts: list[dt.datetime]) -> tuple[int, ...]:
    """Weekdays without any update in three weeks or more of history (else none)."""
    if len(starts) < 10 or (starts[-1] - starts[0]).days < 21:
        return ()
    seen = {t.weekday() for t in starts}
    quiet = tuple(d for d in range(7) if d not in seen)
    return quiet if 0 < len(quiet) < 7 else ()


def active_seconds(t0: dt.datetime, t1: dt.datetime, inactive: tuple[int, ...]) -> float:
    """Seconds from ``t0`` to ``t1`` (UTC), not counting the ``inactive`` weekdays."""
    total = (t1 - t0).total_seconds()
    if not inactive or total <= 0:
        return total
    day = dt.datetime.combine(t0.date(), dt.time(), tzinfo=dt.UTC)
    while day < t1:
        nxt = day + dt.timedelta(days=1)
        if day.weekday() in inactive:
            total -= max(0.0, (min(nxt, t1) - max(day, t0)).total_seconds())
        day = nxt
    return total


def add_active(t: dt.datetime, seconds: float, inactive: tuple[int, ...]) -> dt.datetime:
    """The time ``seconds`` of active time after ``t``."""
    if not inactive:
        return t + dt.timedelta(seconds=seconds)
    left = seconds
    cur = t
    for _ in range(3660):  # at most ten years of days
        nxt = dt.datetime.combine(cur.date(), dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
        span = (nxt - cur).total_seconds()
        if cur.weekday() not in inactive:
            if span >= left:
                return cur + dt.timedelta(seconds=left)
            left -= span
        cur = nxt
    return cur


def learn_freshness(times: list[dt.datetime], config: MonitorConfig) -> FreshnessModel | None:
    """The freshness model of a table from its data commits' times (None: too few updates).

    Examples
    --------
    >>> import datetime as dt
    >>> days = [dt.datetime(2026, 1, d, 2, 0, tzinfo=dt.UTC) for d in range(1, 11)]
    >>> model = learn_freshness(days, MonitorConfig())
    >>> round(model.expected / 3600)
    24
    >>> judge("gold.t", model, days[-1] + dt.timedelta(hours=25)) is None
    True
    >>> judge("gold.t", model, days[-1] + dt.timedelta(days=3)).kind
    'freshness'
    """
    starts = updates(times, config.burst_gap)
    if len(starts) < config.min_commits:
        return None
    quiet = inactive_weekdays(starts) if config.seasonality else ()
    recent = starts[-(config.window + 1) :]
    gaps = [active_seconds(a, b, quiet) for a, b in itertools.pairwise(recent)]
    expected = float(np.median(gaps))
    mad = float(stats.median_abs_deviation(gaps, scale="normal"))
    allowed = expected + max(config.freshness_z * mad, config.freshness_min_slack * expected)
    return FreshnessModel(max(times), expected, allowed, quiet, len(starts))


def judge(table: str, model: FreshnessModel, as_of: dt.datetime) -> Finding | None:
    """A ``freshness`` finding when no commit came by the time the model predicted."""
    age = active_seconds(model.last, as_of, model.inactive_weekdays)
    if age <= model.allowed:
        return None
    due = model.due()
    return Finding(
        table=table,
        kind="freshness",
        severity="warn",
        message=f"{table}: stale: the last commit was {model.last:%Y-%m-%d %H:%M} UTC, "
        f"{human(age)} ago; commits usually come every {human(model.expected)}, the next "
        f"was due by {due:%Y-%m-%d %H:%M} UTC",
        details={
            "last_commit": model.last.isoformat(),
            "due_by": due.isoformat(),
            "expected_interval_s": model.expected,
            "age_s": age,
            "inactive_weekdays": list(model.inactive_weekdays),
        },
    )


def human(seconds: float) -> str:
    """A duration in words.

    >>> human(40), human(5400), human(3 * 86400 + 3600)
    ('40 s', '90 min', '3.0 days')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * _DAY:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / _DAY:.1f} days"
