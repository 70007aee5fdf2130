"""What one scheduler pass did (:class:`TickReport`), and whether a scheduler process is alive."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from workspace.jobs.scheduler.events import EventKind


def _alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class TickReport:
    """What one :meth:`Scheduler.tick_once` did (run ids, attempt ids, counts)."""

    at: datetime
    reloaded: bool = False
    created: list[str] = field(default_factory=list)
    triggered: list[str] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)
    failed_orphans: list[int] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    dispatched: int = 0
    events: list[tuple[EventKind, str]] = field(default_factory=list)
    active: int = 0
    seconds: float = 0.0
