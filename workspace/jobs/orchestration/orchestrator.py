"""Driving one pipeline run: decide, dispatch, heartbeat, retry, finish.

:class:`RunDriver` owns no state of its own that matters: everything it decides is written
to the run store first, so a driver that dies can be replaced by a new one on the same run
(its running attempts are then detected as orphans by their stale heartbeats).

Examples
--------
>>> driver = RunDriver(pipeline, store, executor,  # doctest: +SKIP
...                    settings=settings, run_id=run.run_id)
>>> detail = driver.run()  # doctest: +SKIP
>>> detail.run.state  # doctest: +SKIP
<RunState.SUCCEEDED: 'succeeded'>
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace.jobs.execution.context import AttemptResult, AttemptSpec, RunContext
from workspace.jobs.execution.executors import Executor
from workspace.jobs.execution.isolation import (
    pipeline_sandbox_user,
    prepare_pipeline_sandbox,
    runner_account,
)
from workspace.jobs.execution.resources import bytes_written
from workspace.jobs.execution.runner import declared_parameters
from workspace.jobs.models import NewTask, RunDetail, RunState, TaskState
from workspace.jobs.orchestration import dag
from workspace.jobs.orchestration.task_checks import attempt_outputs, kernel_env
from workspace.jobs.paths import RUNNER_LOG, JobPaths
from workspace.jobs.spec.pipeline import Pipeline, Task
from workspace.jobs.store.run_store import RunStore
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

HANDLER_SUFFIX = ".on_failure"
#: Parameters an ``on_failure`` notebook may declare to learn what failed.
HANDLER_PARAMETERS = ("failed_task", "failed_error", "failed_report", "failed_run_id")
Progress = Callable[[str], None]
#: Attempts of one task (per repair generation) lost to the infrastructure that are retried
#: without using the task's retries: a scheduler that stopped under it, a kernel that did
#: not start. Losses beyond this count as failures.
INFRA_RETRIES = 3
#: Seconds before the n-th infrastructure retry (times n): a busy machine gets time.
INFRA_BACKOFF = 5.0


def spent_retries(failures: int, lost: int) -> int:
    """Retries a task has used: its failed or timed-out attempts, plus the attempts lost to
    the infrastructure beyond the free :data:`INFRA_RETRIES`.

    >>> spent_retries(0, 3), spent_retries(1, 5)
    (0, 3)
    """
    return failures + max(0, lost - INFRA_RETRIES)


@dataclass
class RunningAttempt:
    """An attempt a :class:`RunDriver` has submitted and not yet collected."""

    handle: Any
    attempt_id: int
    number: int
    task_key: str
    name: str


def lake_query(settings: Settings) -> Callable[[str], list[tuple[Any, ...]]]:
    """A function running read-only lake SQL, for ``for_each`` queries."""

    def run(sql: str) -> list[tuple[Any, ...]]:
        from workspace.lake import connect

        with connect(settings.home, user=settings.user, catalog=settings.catalog.raw) as ws:
            return [tuple(r) for r in ws.con.execute(sql).fetchall()]

    return run


class RunDriver:
    """Runs the tasks of one run of ``pipeline`` to the end, through ``executor``.

    Parameters
    ----------
    pools:
        Slot counts of named resource pools (``scheduled/pools.yaml``); a pool that is not
        listed has one slot.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        store: RunStore,
        executor: Executor,
        *,
        settings: Settings,
        run_id: str,
        pools: Mapping[str, int] | None = None,
        poll_interval: float = 0.05,
        stale_after: dt.timedelta = dt.timedelta(minutes=2),
        query: Callable[[str], list[tuple[Any, ...]]] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.executor = executor
        self.settings = settings
        self.run_id = run_id
        self.pools = dict(pools or {})
        self.poll_interval = poll_interval
        self.stale_after = stale_after
        self.query = query or lake_query(settings)
        self.say = progress or (lambda _msg: None)
        self._running: dict[str, RunningAttempt] = {}
        self._not_before: dict[str, float] = {}
        self._worker = f"{socket.gethostname()}:{os.getpid()}"

    # -- the loop -----------------------------------------------------------------------
    def run(self, *, timeout: float | None = None) -> RunDetail:
        """Drive the run until it has finished; returns its detail."""
        run = self.store.get_run(self.run_id)
        if run.state == RunState.QUEUED and not self.store.start_run(
            self.run_id, max_active_runs=self.pipeline.max_active_runs
        ):
            raise WorkspaceError(
                f"Pipeline {self.pipeline.name!r} already has {self.pipeline.max_active_runs} "
                f"active run(s) (max_active_runs); run {self.run_id} stays queued."
            )
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.step():
            if deadline is not None and time.monotonic() > deadline:
                self.cancel("the run took longer than its time limit")
                break
            time.sleep(self.poll_interval)
        return self.store.get_run_detail(self.run_id)

    def step(self) -> bool:
        """Advance the run once; True when it has finished."""
        self._collect()
        detail = self.store.get_run_detail(self.run_id)
        if detail.run.state.finished:
            return True
        states, outputs = self._logical(detail)
        self._decide(states, outputs)
        detail = self.store.get_run_detail(self.run_id)
        states, outputs = self._logical(detail)
        self._dispatch(detail, outputs)
        for r in self._running.values():
            self.store.heartbeat(r.attempt_id)
        return self._maybe_finish(detail, states)

    @property
    def running(self) -> list[RunningAttempt]:
        """The attempts submitted and not yet collected (a copy: the scheduler cancels them
        at shutdown, settles orphans around them and counts what a step dispatched)."""
        return list(self._running.values())

    def cancel(self, reason: str = "cancelled") -> None:
        """Cancel the running attempts and the run."""
        for r in self._running.values():
            self.executor.cancel(r.handle)
        self._running.clear()
        self.store.cancel_run(self.run_id, reason=reason)

    # -- steps --------------------------------------------------------------------------
    def _logical(
        self, detail: RunDetail
    ) -> tuple[dict[str, str | None], dict[str, list[dict[str, Any]]]]:
        by_name: dict[str, list[Any]] = {}
        for t in detail.tasks:
            by_name.setdefault(t.name, []).append(t)
        states: dict[str, str | None] = {}
        outputs: dict[str, list[dict[str, Any]]] = {}
        for task in self.pipeline.tasks:
            items = sorted(by_name.get(task.name, []), key=lambda t: t.item_index or 0)
            states[task.name] = dag.aggregate(str(t.state) for t in items) if items else None
            outputs[task.name] = [dict(t.outputs) for t in items if t.state == "succeeded"]
        return states, outputs

    def _decide(
        self, states: Mapping[str, str | None], outputs: Mapping[str, list[dict[str, Any]]]
    ) -> None:
        """Decide every task that has no row yet, or whose rows are ``pending``.

        Pending rows come from :meth:`RunStore.repair` (failed tasks and their dependents
        reset) or from runs created with their task rows; fan-out items keep the items they
        had, new tasks are expanded now.
        """
        rows: dict[str, list[Any]] = {}
        for t in self.store.get_run_detail(self.run_id).tasks:
            rows.setdefault(t.name, []).append(t)
        for task in self.pipeline.tasks:
            existing = rows.get(task.name, [])
            pending = [t.task_key for t in existing if t.state == TaskState.PENDING]
            if existing and not pending:
                continue
            try:
                decision = dag.decide(task, states, outputs)
                items = (
                    dag.expand_items(task, self.query) if decision == "run" and not existing else []
                )
            except WorkspaceError as exc:
                keys = pending or [task.name]
                if not existing:
                    self._add(task.name, [NewTask(key=task.name, name=task.name)])
                for key in keys:
                    self.store.set_task_state(
                        self.run_id, key, TaskState.UPSTREAM_FAILED, reason=str(exc)
                    )
                self.say(f"  {task.name}: cannot run: {exc}")
                continue
            if decision == "wait":
                continue
            if decision != "run":
                state = TaskState.SKIPPED if decision == "skip" else TaskState.UPSTREAM_FAILED
                if not existing:
                    self._add(task.name, [NewTask(key=task.name, name=task.name)])
                why = dag.explain(task, states, outputs, decision)
                for key in pending or [task.name]:
                    self.store.set_task_state(self.run_id, key, state, reason=why)
                self.say(f"  {task.name}: {state}: {why}")
                continue
            if existing:  # repaired (or pre-created) rows: run them again
                for key in pending:
                    self.store.set_task_state(self.run_id, key, TaskState.QUEUED)
                continue
            if task.for_each is not None and not items:
                self._add(task.name, [NewTask(key=task.name, name=task.name)])
                self.store.set_task_state(
                    self.run_id, task.name, TaskState.SKIPPED, reason="for_each had no items"
                )
                continue
            new = [
                NewTask(
                    key=dag.task_key(task.name, i if task.for_each else None),
                    name=task.name,
                    item_index=i if task.for_each else None,
                    item_value=item,
                )
                for i, item in enumerate(items)
            ]
            self._add(task.name, new)
            for nt in new:
                self.store.set_task_state(self.run_id, nt.key, TaskState.QUEUED)

    def _add(self, name: str, tasks: list[NewTask]) -> None:
        self.store.add_tasks(self.run_id, tasks)

    def _dispatch(self, detail: RunDetail, outputs: Mapping[str, list[dict[str, Any]]]) -> None:
        now = time.monotonic()
        for t in detail.tasks:
            if t.state != TaskState.QUEUED or t.task_key in self._running:
                continue
            if self._not_before.get(t.task_key, 0.0) > now:
                continue
            task, notebook, params = self._what_to_run(t, detail, outputs)
            run = detail.run
            paths = JobPaths.of(self.settings)
            expected = paths.attempt_dir(
                self.run_id, t.task_key, generation=run.repair_generation, number=t.attempts + 1
            )
            attempt = self.store.claim_task(
                self.run_id,
                t.task_key,
                executor=self.executor.name,
                worker=self._worker,
                pid=os.getpid(),
                log_path=str(expected / RUNNER_LOG),  # every executor writes it (executors.py)
                pool=task.pool,
                pool_capacity=self.pools.get(task.pool, 1) if task.pool else None,
                max_running_tasks=self.pipeline.concurrency,
                stale_after=self.stale_after,
            )
            if attempt is None:
                continue  # no free slot in the pool or the pipeline's concurrency
            ctx = RunContext(
                run_id=self.run_id,
                pipeline=self.pipeline.name,
                task=t.task_key,
                attempt=attempt.number,
                logical_date=run.scheduled_for or run.created_at,
            )
            spec = AttemptSpec(
                notebook=notebook,
                parameters=params,
                context=ctx,
                attempt_dir=paths.attempt_dir(
                    self.run_id, t.task_key, generation=run.repair_generation, number=attempt.number
                ),
                kernel_name=task.kernel or self.pipeline.defaults.kernel,
                timeout=self.pipeline.timeout_for(task),
                env=self._kernel_settings(run.owner).env()
                | kernel_env(task, handler=t.name.endswith(HANDLER_SUFFIX)),
            )
            self.say(f"  {t.task_key}: attempt {attempt.number} started")
            handle = self.executor.submit(spec)
            self._running[t.task_key] = RunningAttempt(
                handle, attempt.attempt_id, attempt.number, t.task_key, t.name
            )

    def _kernel_settings(self, owner: str | None) -> Settings:
        """The workspace as the pipeline's kernels see it: unqualified writes go to the
        pipeline's own sandbox (``sandboxes/pipeline_<name>``), which only the runner
        account and the owner's group may read."""
        settings = self.settings.with_user(pipeline_sandbox_user(self.pipeline.name))
        runner = runner_account()
        if runner is not None and os.geteuid() == 0:
            prepare_pipeline_sandbox(settings, runner, owner)
        return settings

    def _what_to_run(
        self, t: Any, detail: RunDetail, outputs: Mapping[str, list[dict[str, Any]]]
    ) -> tuple[Task, Path, dict[str, Any]]:
        if t.name.endswith(HANDLER_SUFFIX):
            failed = self.pipeline.task(t.name.removesuffix(HANDLER_SUFFIX))
            assert failed.on_failure is not None
            notebook = self.pipeline.file_path(failed.on_failure)
            info = dict(t.item_value or {})
            declared = declared_parameters(notebook, kernel_name=failed.kernel or "python3")
            return failed, notebook, {k: v for k, v in info.items() if k in declared}
        task = self.pipeline.task(t.name)
        params = dag.parameters_for(
            self.pipeline, task, t.item_value, outputs, run_parameters=detail.run.parameters
        )
        return task, self.pipeline.notebook_path(task), params

    def _collect(self) -> None:
        for key, r in list(self._running.items()):
            result = self.executor.poll(r.handle)
            if result is None:
                continue
            del self._running[key]
            self._record(r, result)

    def _record(self, r: RunningAttempt, result: AttemptResult) -> None:
        handler = r.name.endswith(HANDLER_SUFFIX)
        task = self.pipeline.task(r.name.removesuffix(HANDLER_SUFFIX))
        retries = self.pipeline.retries_for(task)
        failures, lost = self.store.retry_counts(self.run_id, r.task_key)
        if result.infrastructure and lost < INFRA_RETRIES:
            self._requeue_infrastructure(r, result, lost + 1)
            return
        # the task's retries are spent on its own failures only (see spent_retries)
        retry = (
            not handler
            and result.status in ("failed", "timed_out")
            and spent_retries(failures, lost) < retries.count
        )
        report = str(result.report) if result.report else None
        self.store.finish_attempt(
            r.attempt_id,
            result.status,
            error=result.error,
            failing_cell=result.cell_index,
            notebook_path=str(result.executed_notebook) if result.executed_notebook else None,
            report_path=report,
            outputs=attempt_outputs(task, result, handler=handler),
            retry=retry,
            writes=result.writes,
            resources=result.resources | bytes_written(self.settings, result.writes),
        )
        where = f" (cell {result.cell_index})" if result.cell_index is not None else ""
        self.say(
            f"  {r.task_key}: attempt {r.number} {result.status}{where}"
            + (f": {result.error}" if result.error else "")
        )
        if retry:
            delay = retries.delay(r.number)
            self._not_before[r.task_key] = time.monotonic() + delay
            self.say(f"  {r.task_key}: retrying in {delay:g}s")
        elif not handler and not result.ok and task.on_failure:
            key = f"{r.task_key}{HANDLER_SUFFIX}"
            info = {
                "failed_task": r.task_key,
                "failed_error": result.error or result.status,
                "failed_report": report or "",
                "failed_run_id": self.run_id,
            }
            self.store.add_tasks(
                self.run_id,
                [NewTask(key=key, name=f"{task.name}{HANDLER_SUFFIX}", item_value=info)],
            )
            self.store.set_task_state(self.run_id, key, TaskState.QUEUED)

    def _requeue_infrastructure(self, r: RunningAttempt, result: AttemptResult, nth: int) -> None:
        """The attempt's kernel did not start: queue the task again, keeping its retries."""
        error = result.error or "The kernel did not start."
        self.store.abandon_attempt(
            r.attempt_id,
            requeue=True,
            error=error,
            event=f"attempt {r.number} lost: {error} This is an infrastructure failure, not "
            f"the task's: it runs again without using one of its retries (infrastructure "
            f"retry {nth} of {INFRA_RETRIES}).",
        )
        delay = INFRA_BACKOFF * nth
        self._not_before[r.task_key] = time.monotonic() + delay
        self.say(f"  {r.task_key}: attempt {r.number}: {error}; retrying in {delay:g}s")

    def _maybe_finish(self, detail: RunDetail, states: Mapping[str, str | None]) -> bool:
        if self._running or any(t.state in ("pending", "queued", "running") for t in detail.tasks):
            return False
        if any(states[t.name] is None for t in self.pipeline.tasks):
            return False
        failed = any(states[t.name] in dag.FAILED for t in self.pipeline.tasks)
        final = RunState.FAILED if failed else RunState.SUCCEEDED
        report = self._run_report(detail)
        if report:
            self.store.set_run_report(self.run_id, report)
        self.store.finish_run(self.run_id, final)
        self.say(f"run {self.run_id}: {final}")
        return True

    def _run_report(self, detail: RunDetail) -> str | None:
        """The report of the last task (in pipeline order) that left one."""
        order = {t.name: i for i, t in enumerate(self.pipeline.tasks)}
        best: tuple[int, int, str] | None = None
        for a in detail.attempts:
            name = a.task_key.split("[")[0]
            if a.report_path and name in order:
                key = (order[name], a.attempt_id, a.report_path)
                best = key if best is None or key > best else best
        return best[2] if best else None
