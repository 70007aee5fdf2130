"""Cron ticks in a time zone: DST transitions and catch-up of missed ticks."""

from __future__ import annotations

import datetime as dt

import pytest

from workspace.jobs.spec.schedule import CronSchedule, ScheduleError, due_ticks

UTC = dt.UTC


def _utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_daily_runs_once_on_both_dst_nights() -> None:
    s = CronSchedule("30 2 * * *", "Europe/Amsterdam")
    # spring forward (2026-03-29): 02:30 does not exist -> 03:00 CEST, once
    spring = s.next_times(_utc(2026, 3, 27, 12), 3)
    assert spring == [_utc(2026, 3, 28, 1, 30), _utc(2026, 3, 29, 1, 0), _utc(2026, 3, 30, 0, 30)]
    # fall back (2026-10-25): 02:30 happens twice -> once, at the first occurrence
    autumn = s.next_times(_utc(2026, 10, 23, 12), 3)
    assert autumn == [
        _utc(2026, 10, 24, 0, 30),
        _utc(2026, 10, 25, 0, 30),
        _utc(2026, 10, 26, 1, 30),
    ]


def test_hourly_runs_every_absolute_hour_across_fall_back() -> None:
    s = CronSchedule("0 * * * *", "Europe/Amsterdam")
    ticks = s.next_times(_utc(2026, 10, 24, 22, 30), 4)
    assert ticks == [
        _utc(2026, 10, 24, 23),
        _utc(2026, 10, 25, 0),
        _utc(2026, 10, 25, 1),
        _utc(2026, 10, 25, 2),
    ]


def test_weekday_schedule_in_new_york() -> None:
    s = CronSchedule("0 9 * * mon-fri", "America/New_York")
    ticks = s.next_times(_utc(2026, 11, 20, 15), 2)  # Friday 10:00 EST
    assert ticks == [_utc(2026, 11, 23, 14), _utc(2026, 11, 24, 14)]


def test_catchup_latest_all_and_bound_never_before_enabled() -> None:
    s = CronSchedule("0 * * * *")
    enabled = _utc(2026, 1, 1, 0, 30)
    now = _utc(2026, 1, 1, 5, 10)
    assert due_ticks(s, now=now, enabled_at=enabled, last_tick=None) == [_utc(2026, 1, 1, 5)]
    everything = due_ticks(s, now=now, enabled_at=enabled, last_tick=None, catchup="all")
    assert [t.hour for t in everything] == [1, 2, 3, 4, 5]
    bounded = due_ticks(
        s, now=now, enabled_at=enabled, last_tick=None, catchup="all", max_catchup=2
    )
    assert [t.hour for t in bounded] == [4, 5]
    after_last = due_ticks(
        s, now=now, enabled_at=enabled, last_tick=_utc(2026, 1, 1, 4), catchup="all"
    )
    assert [t.hour for t in after_last] == [5]
    assert due_ticks(s, now=now, enabled_at=now, last_tick=None) == []
    assert due_ticks(s, now=now, enabled_at=enabled, last_tick=_utc(2026, 1, 1, 5)) == []


def test_invalid_input() -> None:
    with pytest.raises(ScheduleError, match="5 fields"):
        CronSchedule("* * *")
    with pytest.raises(ScheduleError, match="time zone"):
        CronSchedule("0 * * * *", "Nowhere/City")
    with pytest.raises(ScheduleError, match="timezone-aware"):
        CronSchedule("0 * * * *").next_times(dt.datetime(2026, 1, 1))
