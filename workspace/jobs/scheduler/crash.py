"""Named crash points, for the scheduler's crash-safety tests.

``WORKSPACE_SCHEDULER_CRASH_AT=NAME`` (or ``NAME:N``) makes the scheduler process kill itself
with SIGKILL at :func:`crash_point` ``NAME``; unset, :func:`crash_point` returns at once and
:func:`crash_store` returns the store unchanged. The points: docs/scheduler.md.

Examples
--------
>>> crash_point("after_create_run")  # no-op unless WORKSPACE_SCHEDULER_CRASH_AT is set
"""

from __future__ import annotations

import os
import signal
from typing import Any, cast

from workspace.jobs.store.run_store import RunStore

CRASH_ENV = "WORKSPACE_SCHEDULER_CRASH_AT"
CRASH_POINTS = ("after_create_run", "after_claim", "mid_attempt", "before_finish_run")

_name, _, _nth = (os.environ.get(CRASH_ENV) or "").partition(":")
_CRASH_AT: str | None = _name or None
_CRASH_NTH = int(_nth) if _nth.isdigit() else 1
_seen = 0


def crash_point(name: str) -> None:
    """SIGKILL this process if ``name`` is the configured crash point (tests only)."""
    global _seen
    if _CRASH_AT is None or name != _CRASH_AT:
        return
    _seen += 1
    if _seen >= _CRASH_NTH:
        os.kill(os.getpid(), signal.SIGKILL)


class _CrashingStore:
    """Delegates to a RunStore, passing through crash points around the driver's writes."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._beating: set[int] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def claim_task(self, *args: Any, **kwargs: Any) -> Any:
        attempt = self._store.claim_task(*args, **kwargs)
        if attempt is not None:
            crash_point("after_claim")
        return attempt

    def heartbeat(self, attempt_id: int) -> bool:
        if attempt_id not in self._beating:
            self._beating.add(attempt_id)
            crash_point("mid_attempt")
        return self._store.heartbeat(attempt_id)

    def finish_run(self, *args: Any, **kwargs: Any) -> Any:
        crash_point("before_finish_run")
        return self._store.finish_run(*args, **kwargs)


def crash_store(store: RunStore) -> RunStore:
    """The store RunDrivers should use: ``store`` itself unless a crash point is set."""
    if _CRASH_AT is None:
        return store
    return cast(RunStore, _CrashingStore(store))
