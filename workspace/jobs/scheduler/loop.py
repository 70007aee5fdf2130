"""The scheduler service: one long-running loop that turns pipelines into finished runs.

:class:`Scheduler` runs :meth:`Scheduler.tick_once` over and over (:meth:`~Scheduler.run_forever`):
reload ``scheduled/``, create the runs of due ticks and ``after:`` triggers, settle orphaned
attempts, start queued runs and step their drivers, and emit failure/success/SLA events
(sent by a worker thread). All state lives in the run store, so the process can be killed at
any point and restarted.

The steps of an iteration in detail: docs/scheduler.md.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workspace.jobs.execution.executors import DEFAULT_EXECUTOR, Executor, get_executor
from workspace.jobs.models import (
    Attempt,
    InvalidTransitionError,
    PipelinePausedError,
    Run,
    RunState,
    Trigger,
)
from workspace.jobs.models import Pipeline as PipelineRecord
from workspace.jobs.orchestration.orchestrator import (
    HANDLER_SUFFIX,
    INFRA_RETRIES,
    RunDriver,
    spent_retries,
)
from workspace.jobs.paths import JobPaths
from workspace.jobs.scheduler.crash import crash_point, crash_store
from workspace.jobs.scheduler.events import AlertSender, EventKind, EventTracker
from workspace.jobs.scheduler.load import PipelineCatalog, SchedulerError, spec_hash
from workspace.jobs.scheduler.ticks import TickReport, _alive
from workspace.jobs.spec.pipeline import Pipeline
from workspace.jobs.spec.schedule import due_ticks
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

__all__ = ["Scheduler", "SchedulerError", "TickReport"]

log = logging.getLogger(__name__)
_MANY = 10_000


class Scheduler:
    """Schedules and drives the pipelines under ``scheduled_root``.

    Parameters
    ----------
    settings
        The workspace (its run store is ``<home>/jobs/runs.sqlite``).
    scheduled_root
        The folder of pipeline folders (``scheduled/``), with an optional ``pools.yaml``.
    executor_name
        Where attempts run: ``"subprocess"`` (default), ``"dask"`` or a dotted path.
    poll_interval
        Seconds between iterations of :meth:`run_forever`.
    stale_after
        An attempt without a heartbeat for this long is orphaned (its scheduler died).
    clock
        Returns the current UTC time (tests inject one); it also drives the store.
    executor
        An executor instance to use instead of ``executor_name`` (tests, embedding).
    alert_deadline
        Seconds one alert may take to reach its sinks (they are sent off the loop).

    Examples
    --------
    >>> scheduler = Scheduler(settings, tmp / "scheduled")  # doctest: +SKIP
    >>> report = scheduler.tick_once()  # doctest: +SKIP
    >>> report.created, report.started  # doctest: +SKIP
    (['0190...'], ['0190...'])
    >>> scheduler.shutdown()  # doctest: +SKIP
    >>> import threading
    >>> scheduler = Scheduler(Settings.resolve(), Path("scheduled"))  # doctest: +SKIP
    >>> stop = threading.Event()
    >>> scheduler.run_forever(stop)  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        scheduled_root: Path,
        *,
        executor_name: str = DEFAULT_EXECUTOR,
        poll_interval: float = 0.2,
        stale_after: timedelta = timedelta(seconds=30),
        clock: Callable[[], datetime] | None = None,
        executor: Executor | None = None,
        alert_deadline: float = 60.0,
    ) -> None:
        self.settings = settings
        self.root = Path(scheduled_root)
        self.paths = JobPaths.of(settings, self.root)
        self.executor_name = executor_name
        self.poll_interval, self.stale_after = poll_interval, stale_after
        self.clock = clock or (lambda: datetime.now(UTC))
        self.store = RunStore.open(settings, clock=clock)
        self.catalog = PipelineCatalog(self.root)
        self._executor: Executor | None = executor
        self._drivers: dict[str, RunDriver] = {}
        self._draining: list[tuple[int, Any]] = []
        self._hashes: dict[str, str] = {}
        self._records: dict[str, PipelineRecord] = {}
        self._next_due: dict[str, tuple[tuple[Any, ...], datetime]] = {}
        self._handled: set[tuple[str, str]] = set()
        self._warned: set[str] = set()
        self._events = EventTracker(self.store, self.on_event)
        self._alerts = AlertSender(self.store, self.paths.alerts_file, deadline=alert_deadline)
        self._closed = False
        self._report = TickReport(at=self.clock())

    # -- public API ---------------------------------------------------------------------
    def run_forever(self, stop_event: threading.Event | None = None) -> None:
        """Iterate until ``stop_event`` is set, then :meth:`shutdown`. Errors are logged."""
        stop = stop_event or threading.Event()
        log.info("scheduler started on %s (executor %s)", self.root, self.executor_name)
        try:
            while not stop.is_set():
                try:
                    self.tick_once()
                except Exception:  # one bad iteration must not stop the service
                    log.exception("scheduler iteration failed; retrying")
                stop.wait(self.poll_interval)
        finally:
            self.shutdown()

    def tick_once(self) -> TickReport:
        """Run one iteration of the loop (see the module docs) and say what it did."""
        if self._closed:
            raise SchedulerError("The scheduler was shut down; create a new one.")
        t0 = time.perf_counter()
        now = self.clock()
        self._report = report = TickReport(at=now)
        report.reloaded = self._reload()
        self._fire_ticks(now)
        self._fire_after()
        running = self._settle_orphans_and_adopt()
        self._start_queued(now)
        self._step_drivers(running, now)
        self._drain()
        report.active = len(self._drivers)
        report.seconds = time.perf_counter() - t0
        return report

    def next_times(self, pipeline: str | Pipeline, n: int = 5) -> list[datetime]:
        """The next ``n`` scheduled times of a pipeline (UTC); [] without a schedule.

        Examples
        --------
        >>> scheduler.next_times("demo_refresh", 2)  # doctest: +SKIP
        [datetime.datetime(2026, 1, 2, 5, 0, tzinfo=datetime.timezone.utc), ...]
        """
        if isinstance(pipeline, str):
            self.catalog.refresh()
            spec = self.catalog.pipelines.get(pipeline)
            if spec is None:
                raise SchedulerError(
                    f"No valid pipeline {pipeline!r} under {self.root}; "
                    f"valid ones: {', '.join(sorted(self.catalog.pipelines)) or 'none'}."
                )
        else:
            spec = pipeline
        if spec.schedule is None:
            return []
        return spec.schedule.cron_schedule.next_times(self.clock(), n)

    def shutdown(self) -> None:
        """Stop: cancel running attempts and queue their tasks again for the next start."""
        if self._closed:
            return
        self._closed = True
        pending: list[int] = []
        for driver in self._drivers.values():
            for r in driver.running:
                assert self._executor is not None
                self._executor.cancel(r.handle)
                pending.append(r.attempt_id)
        pending += [attempt_id for attempt_id, _ in self._draining]
        if self._executor is not None:
            self._executor.shutdown()
        for attempt_id in pending:
            with contextlib.suppress(InvalidTransitionError):
                self.store.finish_attempt(
                    attempt_id,
                    "cancelled",
                    error="the scheduler stopped; the task runs again when it restarts",
                    retry=True,
                )
        self._drivers.clear()
        self._alerts.close()
        self.store.close()
        log.info("scheduler stopped")

    def on_event(self, kind: EventKind, run: Run, detail: str) -> None:
        """Hook called once per run event: ``failure``, ``success``, ``sla_start``,
        ``sla_duration``. Logs it and queues the alert (:mod:`workspace.jobs.alerts.config`, sinks
        from ``<home>/alerts.yaml``, filtered by the pipeline's ``alerts:`` flags); a worker
        thread sends it, so a slow sink never holds up the loop."""
        level = logging.INFO if kind == "success" else logging.WARNING
        log.log(level, "%s: run %s: %s", kind, run.run_id, detail)
        spec = self.catalog.pipelines.get(run.pipeline)
        self._alerts.send(kind, run, spec, now=self.clock())

    # -- 1. pipelines --------------------------------------------------------------------
    def _reload(self) -> bool:
        changed = self.catalog.refresh()
        if changed:
            for name, pipeline in self.catalog.pipelines.items():
                digest = spec_hash(pipeline)
                if self._hashes.get(name) != digest:
                    self.store.upsert_pipeline(
                        name, spec_hash=digest, owner=pipeline.owner, enabled=pipeline.enabled
                    )
                    self._hashes[name] = digest
            for driver in self._drivers.values():
                driver.pools = dict(self.catalog.pools)
        self._records = {p.name: p for p in self.store.list_pipelines()}
        return changed

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def _active(self, name: str) -> tuple[Pipeline, PipelineRecord] | None:
        spec, record = self.catalog.pipelines.get(name), self._records.get(name)
        if spec is None or record is None or not spec.enabled or record.paused:
            return None
        return spec, record

    # -- 2. schedule ticks -------------------------------------------------------------
    def _fire_ticks(self, now: datetime) -> None:
        for name, spec in self.catalog.pipelines.items():
            active = self._active(name)
            if active is None or spec.schedule is None:
                continue
            record = active[1]
            key = (record.enabled_at, self._hashes.get(name))
            cached = self._next_due.get(name)
            if cached is not None and cached[0] == key and now < cached[1]:
                continue
            cron = spec.schedule.cron_schedule
            ticks = due_ticks(
                cron,
                now=now,
                enabled_at=record.enabled_at,
                last_tick=self.store.last_scheduled_time(name),
                catchup=spec.schedule.catchup,
                max_catchup=spec.schedule.max_catchup,
            )
            for tick in ticks:
                try:
                    run, created = self.store.create_scheduled_run(name, tick)
                except PipelinePausedError:
                    break
                if created:
                    log.info("%s: run %s for %s", name, run.run_id, tick.isoformat())
                    self._report.created.append(run.run_id)
                    crash_point("after_create_run")
            self._next_due[name] = (key, cron.next_times(now, 1)[0])

    # -- 3. after: triggers --------------------------------------------------------------
    def _fire_after(self) -> None:
        for name, spec in self.catalog.pipelines.items():
            record = self._records.get(name)
            if not spec.after or record is None:
                continue
            paused = self._active(name) is None
            for upstream in spec.after:
                if upstream not in self._records:
                    self._warn_once(
                        f"after:{name}:{upstream}",
                        "%s: after: %r is not a registered pipeline; nothing triggers it",
                        name,
                        upstream,
                    )
                    continue
                done = self.store.list_runs(pipeline=upstream, states=["succeeded"], limit=100)
                for up in done:
                    mark = (name, up.run_id)
                    if mark in self._handled:
                        continue
                    self._handled.add(mark)
                    if paused or up.finished_at is None or up.finished_at < record.enabled_at:
                        continue  # before the pipeline was enabled, or while it is paused
                    try:
                        run, created = self.store.create_triggered_run(name, up.run_id)
                    except PipelinePausedError:
                        continue
                    if created:
                        log.info(
                            "%s: run %s after %s run %s", name, run.run_id, upstream, up.run_id
                        )
                        self._report.triggered.append(run.run_id)

    # -- 4. orphans and adoption -------------------------------------------------------
    def _own_attempts(self) -> set[int]:
        return {r.attempt_id for d in self._drivers.values() for r in d.running}

    def _settle_orphans_and_adopt(self) -> list[Run]:
        orphans = {a.attempt_id: a for a in self.store.find_orphaned_attempts(self.stale_after)}
        stale = set(orphans)
        own = self._own_attempts()
        for attempt in self._left_by_a_dead_scheduler(own):
            orphans.setdefault(attempt.attempt_id, attempt)
        for attempt in orphans.values():
            if attempt.attempt_id in own:  # our loop was slow: we are alive
                self.store.heartbeat(attempt.attempt_id)
                continue
            self._settle_orphan(attempt, stale=attempt.attempt_id in stale)
        running = self.store.list_runs(states=[RunState.RUNNING], limit=_MANY)
        for run in running:
            if run.run_id not in self._drivers and self._drive(run):
                log.info("%s: adopted running run %s", run.pipeline, run.run_id)
                self._report.adopted.append(run.run_id)
        return running

    def _left_by_a_dead_scheduler(self, own: set[int]) -> list[Attempt]:
        """Running attempts of an earlier scheduler process on this host that is gone (a
        quick restart after kill -9): settled at once, not after the stale window."""
        host, me = socket.gethostname(), os.getpid()
        found = []
        for attempt in self.store.running_attempts():
            where, _, pid = (attempt.worker or "").rpartition(":")
            if attempt.attempt_id in own or where != host or not pid.isdigit():
                continue
            if int(pid) != me and not _alive(int(pid)):
                found.append(attempt)
        return found

    def _settle_orphan(self, attempt: Attempt, *, stale: bool) -> None:
        """Queue an orphaned attempt's task again, or fail it when it cannot run again.

        Its kernel died with its scheduler (as on a SIGTERM stop, which requeues), so the
        loss is not the task's fault: up to ``INFRA_RETRIES`` losses per task are retried
        without using the task's retries; later ones use them.
        """
        run = self.store.get_run(attempt.run_id)
        spec = self.catalog.pipelines.get(run.pipeline)
        name = attempt.task_key.split("[")[0]
        failures, lost = self.store.retry_counts(attempt.run_id, attempt.task_key)
        can_run = spec is not None and run.state == RunState.RUNNING
        free = can_run and lost < INFRA_RETRIES
        retry = free
        if (
            can_run
            and not free
            and spec is not None
            and not attempt.task_key.endswith(HANDLER_SUFFIX)
        ):
            task = next((t for t in spec.tasks if t.name == name), None)
            count = spec.retries_for(task).count if task is not None else 0
            retry = spent_retries(failures, lost + 1) <= count
        how = (
            f"heartbeat lost (last at {attempt.heartbeat_at.isoformat()})"
            if stale
            else f"its scheduler ({attempt.worker}) is no longer running"
        )
        what = f"attempt {attempt.number} lost: {how}; its kernel stopped with it"
        if free:
            event = (
                f"{what}. Not the task's fault: it runs again without using one of its retries "
                f"(infrastructure retry {lost + 1} of {INFRA_RETRIES})."
            )
        elif retry:
            event = f"{what}. The task runs again (this used one of its retries)."
        else:
            event = f"{what}. The task failed: no retries left, or its run has ended."
        done = self.store.abandon_attempt(
            attempt.attempt_id,
            requeue=retry,
            error=how,
            event=event,
            stale_after=self.stale_after if stale else None,
        )
        if done is None:
            return  # it sent a heartbeat meanwhile
        if retry:
            log.warning("attempt %d of %s lost (%s); queued again", attempt.attempt_id, name, how)
            self._report.requeued.append(attempt.attempt_id)
        else:
            log.warning("attempt %d of run %s lost; failed", attempt.attempt_id, attempt.run_id)
            self._report.failed_orphans.append(attempt.attempt_id)

    def _drive(self, run: Run) -> bool:
        spec = self.catalog.pipelines.get(run.pipeline)
        if spec is None:
            self._warn_once(
                f"run:{run.run_id}",
                "run %s: pipeline %r has no valid pipeline.yaml under %s; the run waits",
                run.run_id,
                run.pipeline,
                self.root,
            )
            return False
        if self._executor is None:
            self._executor = get_executor(self.executor_name)
        self._executor.start()
        self._drivers[run.run_id] = RunDriver(
            spec,
            crash_store(self.store),
            self._executor,
            settings=self.settings,
            run_id=run.run_id,
            pools=self.catalog.pools,
            stale_after=self.stale_after,
            progress=log.debug,
        )
        return True

    # -- 5. start and step runs ----------------------------------------------------------
    def _start_queued(self, now: datetime) -> None:
        queued = self.store.list_runs(states=[RunState.QUEUED], limit=_MANY)
        mine: dict[str, int] = {}
        for driver in self._drivers.values():
            mine[driver.pipeline.name] = mine.get(driver.pipeline.name, 0) + 1
        for run in reversed(queued):  # oldest first
            spec = self.catalog.pipelines.get(run.pipeline)
            if spec is not None:
                self._check_sla(run, spec, now)
            if spec is None or mine.get(run.pipeline, 0) >= spec.max_active_runs:
                continue
            if run.trigger != Trigger.MANUAL and self._active(run.pipeline) is None:
                continue  # paused or disabled: only manual runs start
            if self.store.start_run(run.run_id, max_active_runs=spec.max_active_runs):
                self._drive(run)
                mine[run.pipeline] = mine.get(run.pipeline, 0) + 1
                self._report.started.append(run.run_id)

    def _step_drivers(self, running: list[Run], now: datetime) -> None:
        by_id = {r.run_id: r for r in running}
        for run_id, driver in list(self._drivers.items()):
            before = {r.task_key for r in driver.running}
            try:
                done = driver.step()
            except Exception:
                self._warn_once(f"step:{run_id}", "run %s: step failed", run_id)
                log.debug("run %s: step failed", run_id, exc_info=True)
                continue
            self._report.dispatched += len({r.task_key for r in driver.running} - before)
            if not done:
                if run_id in by_id:
                    self._check_sla(by_id[run_id], driver.pipeline, now)
                continue
            del self._drivers[run_id]
            for r in driver.running:  # the run ended elsewhere (cancelled)
                assert self._executor is not None
                self._executor.cancel(r.handle)
                self._draining.append((r.attempt_id, r.handle))
            run = self.store.get_run(run_id)
            self._report.finished.append(run_id)
            self._check_sla(run, driver.pipeline, now)
            kind = self._events.finished(run)
            if kind is not None:
                self._report.events.append((kind, run_id))
            self._events.forget(run_id)

    def _check_sla(self, run: Run, spec: Pipeline, now: datetime) -> None:
        if spec.sla.start_within is None and spec.sla.max_duration is None:
            return
        for kind in self._events.check_sla(run, spec.sla, now=now):
            self._report.events.append((kind, run.run_id))

    def _drain(self) -> None:
        for item in list(self._draining):
            attempt_id, handle = item
            assert self._executor is not None
            result = self._executor.poll(handle)
            if result is None:
                continue
            self._draining.remove(item)
            with contextlib.suppress(InvalidTransitionError):
                self.store.finish_attempt(attempt_id, "cancelled", error="the run was cancelled")
