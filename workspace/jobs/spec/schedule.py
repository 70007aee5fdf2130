"""Cron schedules in a time zone: tick times, DST rules and catch-up of missed ticks.

DST follows Vixie cron, which people expect:

* a local time skipped by the spring-forward change runs once, at the first valid time after
  the gap (02:30 on a 02:00→03:00 night runs at 03:00);
* a local time that occurs twice when clocks fall back runs once, at its first occurrence,
  for schedules with fixed hours (``30 2 * * *``); schedules whose hour field is a wildcard
  (``0 * * * *``) run every absolute hour, so both 02:00s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from workspace.lake.errors import WorkspaceError

Catchup = Literal["latest", "all"]


class ScheduleError(WorkspaceError):
    """A cron expression or time zone is invalid."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'Europe/Amsterdam'"
        ) from exc


def validate_cron(expr: str) -> str:
    """Return ``expr`` if it is a valid 5-field cron expression, else raise ScheduleError.

    >>> validate_cron("0 6 * * mon-fri")
    '0 6 * * mon-fri'
    """
    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        raise ScheduleError(
            f"{expr!r} is not a valid cron expression; use 5 fields: minute hour "
            "day-of-month month day-of-week, e.g. '0 6 * * *' for 06:00 every day"
        )
    return expr


@dataclass(frozen=True)
class CronSchedule:
    """A cron expression evaluated in a time zone.

    Examples
    --------
    >>> s = CronSchedule("0 6 * * *", "Europe/Amsterdam")
    >>> [t.isoformat() for t in s.next_times(dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC), 2)]
    ['2026-03-29T04:00:00+00:00', '2026-03-30T04:00:00+00:00']
    """

    cron: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        validate_cron(self.cron)
        _zone(self.timezone)

    @property
    def _hour_is_wildcard(self) -> bool:
        hours = croniter(self.cron).expanded[1]
        return hours == ["*"] or len(hours) == 24

    def _iter_local(self, after: dt.datetime) -> Iterator[dt.datetime]:
        zone = _zone(self.timezone)
        it = croniter(self.cron, after.astimezone(zone))
        seen_wall: set[dt.datetime] = set()
        while True:
            tick = it.get_next(dt.datetime)
            wall = tick.replace(tzinfo=None)
            if not self._hour_is_wildcard and wall in seen_wall:
                continue  # the repeated hour after clocks fall back: run once
            seen_wall.add(wall)
            if len(seen_wall) > 64:
                seen_wall = {wall}
            yield tick

    def next_times(self, after: dt.datetime, n: int = 1) -> list[dt.datetime]:
        """The next ``n`` tick times strictly after ``after``, in UTC."""
        if after.tzinfo is None:
            raise ScheduleError("times must be timezone-aware (e.g. datetime.now(UTC))")
        out = []
        for tick in self._iter_local(after):
            out.append(tick.astimezone(dt.UTC))
            if len(out) >= n:
                break
        return out

    def ticks_between(self, start: dt.datetime, end: dt.datetime) -> Iterator[dt.datetime]:
        """Tick times ``t`` with ``start < t <= end``, in UTC, oldest first."""
        for tick in self._iter_local(start):
            utc = tick.astimezone(dt.UTC)
            if utc > end:
                return
            yield utc


def due_ticks(
    schedule: CronSchedule,
    *,
    now: dt.datetime,
    enabled_at: dt.datetime,
    last_tick: dt.datetime | None,
    catchup: Catchup = "latest",
    max_catchup: int = 10,
) -> list[dt.datetime]:
    """The scheduled times that should get a run now, oldest first.

    Only ticks after the pipeline was enabled and after the last tick already created
    count. ``catchup="latest"`` (the default) returns at most the newest missed tick;
    ``"all"`` returns every missed tick, bounded to the newest ``max_catchup``.

    Examples
    --------
    >>> s = CronSchedule("0 * * * *")
    >>> t0 = dt.datetime(2026, 1, 1, 0, 30, tzinfo=dt.UTC)
    >>> now = dt.datetime(2026, 1, 1, 5, 10, tzinfo=dt.UTC)
    >>> [t.hour for t in due_ticks(s, now=now, enabled_at=t0, last_tick=None)]
    [5]
    >>> [t.hour for t in due_ticks(s, now=now, enabled_at=t0, last_tick=None, catchup="all")]
    [1, 2, 3, 4, 5]
    """
    if max_catchup < 1:
        raise ScheduleError("max_catchup must be at least 1")
    start = max(enabled_at, last_tick) if last_tick else enabled_at
    ticks: list[dt.datetime] = []
    for tick in schedule.ticks_between(start, now):
        ticks.append(tick)
        if len(ticks) > max_catchup:
            ticks.pop(0)
    if catchup == "latest":
        return ticks[-1:]
    return ticks
