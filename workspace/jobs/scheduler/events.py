"""Run events the scheduler emits once: failure, success and SLA misses.

:class:`EventTracker` records each event in the run's history before handing it to the alert
hook, so it is emitted at most once per run even across restarts, and checks the SLA rules
(``sla_start``, ``sla_duration``). :class:`AlertSender` turns an event into an alert.

Design notes (SLA rules): docs/alerts.md, "Module notes".
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from workspace.jobs.alerts.quality import quality_event
from workspace.jobs.models import Run, RunState
from workspace.jobs.spec.pipeline import Pipeline, Sla
from workspace.jobs.store.run_store import RunStore
from workspace.lake.errors import WorkspaceError

log = logging.getLogger(__name__)

EventKind = Literal["failure", "success", "sla_start", "sla_duration"]
EVENT_KINDS: tuple[EventKind, ...] = ("failure", "success", "sla_start", "sla_duration")
EVENT_PREFIX = "scheduler event "
Emit = Callable[[EventKind, Run, str], None]


def _late(seconds: float) -> str:
    return str(timedelta(seconds=round(seconds)))


class EventTracker:
    """Emits each (run, kind) event at most once, remembered in the run store.

    Examples
    --------
    >>> tracker = EventTracker(store, emit=lambda kind, run, detail: print(kind))  # doctest: +SKIP
    >>> tracker.check_sla(run, pipeline.sla, now=datetime.now(UTC))  # doctest: +SKIP
    sla_start
    """

    def __init__(self, store: RunStore, emit: Emit) -> None:
        self.store = store
        self.emit = emit
        self._emitted: dict[str, set[str]] = {}

    def _seen(self, run_id: str) -> set[str]:
        seen = self._emitted.get(run_id)
        if seen is None:
            events = self.store.get_run_detail(run_id).events
            seen = {
                e.message[len(EVENT_PREFIX) :].split(":", 1)[0]
                for e in events
                if e.message.startswith(EVENT_PREFIX)
            }
            self._emitted[run_id] = seen
        return seen

    def fire(self, kind: EventKind, run: Run, detail: str) -> bool:
        """Record and emit ``kind`` for ``run`` unless it was emitted before; True if emitted."""
        seen = self._seen(run.run_id)
        if kind in seen:
            return False
        level = "info" if kind == "success" else "warning"
        self.store.add_event(run.run_id, f"{EVENT_PREFIX}{kind}: {detail}", level=level)
        seen.add(kind)
        self.emit(kind, run, detail)
        return True

    def forget(self, run_id: str) -> None:
        """Drop the cache of a finished run (its history stays in the store)."""
        self._emitted.pop(run_id, None)

    def check_sla(self, run: Run, sla: Sla, *, now: datetime) -> list[EventKind]:
        """Fire the SLA events ``run`` has missed by ``now``; returns the kinds fired."""
        fired: list[EventKind] = []
        if sla.start_within is not None and run.scheduled_for is not None:
            started = run.started_at or (None if run.state.finished else now)
            if started is not None:
                waited = (started - run.scheduled_for).total_seconds()
                if waited > sla.start_within and self.fire(
                    "sla_start",
                    run,
                    f"run of {run.pipeline} scheduled for {run.scheduled_for.isoformat()} "
                    f"{'started' if run.started_at else 'has not started'} after "
                    f"{_late(waited)} (start_within {_late(sla.start_within)})",
                ):
                    fired.append("sla_start")
        if sla.max_duration is not None and run.started_at is not None:
            end = run.finished_at or now
            took = (end - run.started_at).total_seconds()
            if took > sla.max_duration and self.fire(
                "sla_duration",
                run,
                f"run of {run.pipeline} {'ran' if run.finished_at else 'has been running'} "
                f"for {_late(took)} (max_duration {_late(sla.max_duration)})",
            ):
                fired.append("sla_duration")
        return fired

    def finished(self, run: Run) -> EventKind | None:
        """Fire ``success`` or ``failure`` for a run that just ended (cancelled: nothing)."""
        kind: EventKind | None
        if run.state == RunState.SUCCEEDED:
            kind = "success"
        elif run.state in (RunState.FAILED, RunState.TIMED_OUT):
            kind = "failure"
        else:
            kind = None
        if kind is not None and not self.fire(kind, run, f"run of {run.pipeline} {run.state}"):
            kind = None
        return kind


class AlertSender:
    """Sends alerts off the scheduler loop: :meth:`send` only queues, never blocks.

    The loop builds the alert from the run's detail and puts it on a bounded queue; a worker
    thread hands it to :func:`workspace.jobs.alerts.config.notify` with the pipeline's ``alerts:``.
    Each alert has an overall ``deadline``: a sink still busy then (a webhook that accepts
    the connection and never answers) is abandoned and the next alert goes out; at most
    ``max_stuck`` abandoned deliveries may linger before further alerts are dropped (logged).
    A full queue drops the new alert (logged). Never raises.

    Sinks come from ``alerts.yaml``, re-read whenever the file changes (its mtime and size,
    like pipeline folders): a sink added while the scheduler runs is used by the next alert,
    and a file created later is found. A missing file means no sinks; an invalid one is
    logged and no alert is sent until it is fixed.
    """

    def __init__(
        self,
        store: RunStore,
        alerts_file: Path,
        *,
        deadline: float = 60.0,
        queue_size: int = 100,
        max_stuck: int = 4,
    ) -> None:
        self.store = store
        self.alerts_file = alerts_file
        self.deadline = deadline
        self.max_stuck = max_stuck
        self.delivered = 0  # alerts whose notify() finished (sinks may still have failed)
        self.abandoned = 0  # alerts past their deadline, or dropped
        self._queue: queue.Queue[tuple[Any, Any] | None] = queue.Queue(maxsize=queue_size)
        self._sinks: dict[str, Any] = {}
        self._signature: tuple[int, int, int] | bool | None = False  # False: never read
        self._stuck: list[threading.Thread] = []
        self._worker: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- alerts.yaml ------------------------------------------------------------------
    def sinks(self) -> dict[str, Any]:
        """The sinks of ``alerts.yaml``, re-read if the file changed since the last call."""
        try:
            st = self.alerts_file.stat()
            signature: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            signature = None
        if signature != self._signature:
            from workspace.jobs.alerts.config import load_sinks

            self._signature = signature
            try:
                self._sinks = load_sinks(self.alerts_file) if signature is not None else {}
            except WorkspaceError as exc:
                log.error("%s; alerts are not sent until it is fixed", exc)
                self._sinks = {}
            else:
                log.info("%s: %d alert sink(s)", self.alerts_file, len(self._sinks))
        return self._sinks

    # -- the loop's side --------------------------------------------------------------
    def send(self, kind: EventKind, run: Run, spec: Pipeline | None, *, now: datetime) -> None:
        """Build the alert for ``kind`` from the run's detail and queue it for its sinks."""
        if spec is None:
            return
        try:
            from workspace.jobs.alerts.event import event_from_run

            limit = {"sla_start": spec.sla.start_within, "sla_duration": spec.sla.max_duration}
            event = event_from_run(
                self.store.get_run_detail(run.run_id), kind, sla_limit=limit.get(kind), now=now
            )
        except Exception:  # an alert must never stop the scheduler
            log.exception("%s alert for run %s not sent", kind, run.run_id)
            return
        self._start()
        jobs: list[Any] = [event]
        if kind in ("success", "failure") and spec.alerts.on_quality and spec.alerts.sinks:
            jobs.append(functools.partial(quality_event, self.store.path, run))  # in the worker
        try:
            for job in jobs:
                self._queue.put_nowait((job, spec.alerts))
        except queue.Full:
            self.abandoned += 1
            log.error(
                "%s alert for run %s dropped: %d alerts are already waiting for their sinks",
                kind,
                run.run_id,
                self._queue.maxsize,
            )

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued for up to ``timeout`` seconds, then stop the worker."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is None:
            return
        end = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        worker.join(max(0.0, end - time.monotonic()))
        if worker.is_alive():
            log.warning("alerts still waiting for their sinks were not sent (shutdown)")

    # -- the worker's side ------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name="workspace-alerts", daemon=True
                )
                self._worker.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._deliver(*item)
            except Exception:
                log.exception("alert for run %s not sent", getattr(item[0], "run_id", "?"))

    def _deliver(self, event: Any, alerts: Any) -> None:
        from workspace.jobs.alerts import config as alerts_module

        if callable(event):  # built here, off the loop: e.g. a scan for the quality alert
            event = event()
            if event is None:
                return

        self._stuck = [t for t in self._stuck if t.is_alive()]
        if len(self._stuck) >= self.max_stuck:
            self.abandoned += 1
            log.error(
                "%s alert for run %s dropped: %d earlier alerts are still stuck in their sinks",
                event.kind,
                event.run_id,
                len(self._stuck),
            )
            return
        sinks = self.sinks()
        thread = threading.Thread(
            target=alerts_module.notify,
            args=(event,),
            kwargs={"pipeline_alerts": alerts, "sinks": sinks},
            name=f"workspace-alert-{event.run_id}",
            daemon=True,
        )
        thread.start()
        thread.join(self.deadline)
        if thread.is_alive():
            self._stuck.append(thread)
            self.abandoned += 1
            log.error(
                "%s alert for run %s: its sinks (%s) did not finish within %gs; abandoned",
                event.kind,
                event.run_id,
                ", ".join(alerts.sinks),
                self.deadline,
            )
        else:
            self.delivered += 1
