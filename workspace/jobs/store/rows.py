"""How the run store writes values and reads rows back as records.

Times are stored as UTC ISO-8601 text with microseconds (:func:`ts`), so that text order is
time order; run ids sort by creation time (:func:`new_id`); JSON columns (parameters,
outputs, item values) are decoded here. The records themselves are the pydantic models of
:mod:`workspace.jobs.models`. Pure functions: no connection, no transaction.

>>> from datetime import UTC, datetime
>>> ts(datetime(2025, 1, 1, 6, tzinfo=UTC))
'2025-01-01T06:00:00.000000+00:00'
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from datetime import UTC, datetime

from workspace.jobs.models import Attempt, Run, Task


def ts(value: datetime) -> str:
    """``value`` as stored: UTC ISO-8601 with microseconds (naive datetimes are refused)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; pass a timezone-aware UTC datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def new_id() -> str:
    """A 32-hex-digit id that sorts by creation time (milliseconds, then 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def run_record(row: sqlite3.Row) -> Run:
    """A ``runs`` row as a :class:`Run`."""
    return Run.model_validate({**dict(row), "parameters": json.loads(row["parameters"])})


def task_record(row: sqlite3.Row) -> Task:
    """A ``tasks`` row as a :class:`Task`."""
    value = row["item_value"]
    return Task.model_validate(
        {
            **dict(row),
            "outputs": json.loads(row["outputs"]),
            "item_value": None if value is None else json.loads(value),
        }
    )


def attempt_record(row: sqlite3.Row) -> Attempt:
    """An ``attempts`` row as an :class:`Attempt`."""
    data = dict(row)
    data["resources"] = json.loads(data.get("resources") or "{}")
    return Attempt.model_validate(data)
