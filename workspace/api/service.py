"""What the scheduler's HTTP API does, without HTTP: specs on disk plus the run store.

:class:`JobsService` answers every route of the jobs HTTP APIs (the scheduler service and the
Lab extension) and the CLI. It reads the specs under ``scheduled/`` on each call and only talks
to the run store; the scheduler loop picks changes up. Owner, review and audience are what the
run store records (:meth:`JobsService.sync_owners`). Design notes: docs/api.md.

Examples
--------
>>> service = JobsService(settings, Path("scheduled"))  # doctest: +SKIP
>>> [p.name for p in service.pipelines()]  # doctest: +SKIP
['demo_refresh', 'region_reports']
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workspace.api.models import (
    AttemptInfo,
    AttemptLog,
    CancelResponse,
    NextTime,
    PipelineDetail,
    PipelineHistory,
    PipelineSummary,
    PromotionRequest,
    PromotionResponse,
    RepairResponse,
    RunDetailResponse,
    RunList,
    RunsQuery,
    ScheduleInfo,
    TaskSpecInfo,
)
from workspace.api.pipeline_trend import declared_checks, pipeline_trend
from workspace.jobs.costs import attempt_cost, prices_or_none
from workspace.jobs.execution.attempt_log import log_file, read_log
from workspace.jobs.models import (
    AttemptNotFoundError,
    InvalidTransitionError,
    Pipeline,
    PipelineNotFoundError,
    Run,
)
from workspace.jobs.paths import SPEC_FILE
from workspace.jobs.spec.discovery import scan
from workspace.jobs.spec.pipeline import Audience, PipelineSpecError
from workspace.jobs.spec.pipeline import Pipeline as PipelineSpec
from workspace.jobs.store.pipelines import Governance
from workspace.jobs.store.run_store import RunStore

if TYPE_CHECKING:
    from workspace.api.promote import PromotionTest
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings
from workspace.params import declared_or_none

log = logging.getLogger(__name__)


class ReportNotFoundError(WorkspaceError, LookupError):
    """A run or attempt has no rendered report (yet)."""


class JobsService:
    """The scheduler API's operations over ``scheduled_root`` and the run store.

    Parameters
    ----------
    settings
        The workspace whose run store (``<home>/jobs/runs.sqlite``) is used.
    scheduled_root
        The folder holding one sub-folder per pipeline (``scheduled/``).
    links
        Builds the URL of a report from a run id and an optional attempt id.
    log_links
        Builds the URL of an attempt's log from a run id and an attempt id (no ``log_url``
        without it).
    clock
        UTC "now" (tests pass a fixed one).
    """

    def __init__(
        self,
        settings: Settings,
        scheduled_root: Path,
        *,
        links: Callable[[str, int | None], str] | None = None,
        log_links: Callable[[str, int], str] | None = None,
        clock: Callable[[], datetime] | None = None,
        store: RunStore | None = None,
    ) -> None:
        self.settings = settings
        self.root = Path(scheduled_root)
        self.store = store or RunStore.open(settings)
        self.links = links or (lambda run_id, attempt: f"{run_id}/{attempt}")
        self.log_links = log_links
        self.clock = clock or (lambda: datetime.now(UTC))

    # -- specs ----------------------------------------------------------------------------

    def _specs(self) -> dict[str, PipelineSpec | PipelineSpecError]:
        """Every pipeline folder: its spec, or the error that makes it invalid."""
        return scan(self.root)  # named by its folder; after: checked across pipelines

    def spec(self, name: str) -> PipelineSpec:
        """The valid spec of ``name``: 404 if there is none, 400 if it is invalid."""
        found = self._specs().get(name)
        if found is None:
            raise PipelineNotFoundError(name)
        if isinstance(found, PipelineSpecError):
            raise found
        return found

    def _adopt(self, name: str, spec: PipelineSpec) -> Governance:
        """Register a folder's pipeline, adopting its ``owner:``/``audience:`` once."""
        return self.store.adopt(name, owner=spec.owner, audience=spec.audience)

    def _registered(self, name: str) -> Pipeline:
        """The store's record of a pipeline that has a valid spec, registering it if needed."""
        self.spec(name)
        self.governance(name)
        return self.store.get_pipeline(name)

    def governance(self, name: str) -> Governance:
        """Owner, review state and audience of ``name`` (registering a valid folder, and
        adopting its initial values once).

        404 when neither a folder nor a record exists; a folder with an invalid spec and no
        record is 400 (its error).
        """
        try:
            gov = self.store.governance(name)
        except PipelineNotFoundError:
            return self._adopt(name, self.spec(name))
        if gov.adopted_at is None:
            try:
                return self._adopt(name, self.spec(name))
            except WorkspaceError:  # no valid folder: nothing to adopt
                pass
        return gov

    def owner(self, name: str) -> str | None:
        """The recorded owner of pipeline ``name`` (never pipeline.yaml's claim)."""
        return self.governance(name).owner

    def run_owner(self, run_id: str) -> tuple[str, str | None]:
        """The pipeline of a run and its owner: the pipeline's recorded owner, else (no
        record) the owner recorded on the run. 404 for an unknown run."""
        run = self.store.get_run(run_id)
        try:
            return run.pipeline, self.store.governance(run.pipeline).owner
        except PipelineNotFoundError:
            return run.pipeline, run.owner

    def sync_owners(self) -> None:
        """Register every valid folder, adopting its ``owner:``/``audience:`` once.

        ``workspace scheduler`` calls it at start, so that scheduled runs carry the owner.
        """
        for name, spec in self._specs().items():
            if isinstance(spec, PipelineSpec):
                self._adopt(name, spec)

    # -- identity, review and sharing -----------------------------------------------------

    def approve(self, name: str, *, by: str) -> PipelineSummary:
        """Approve a pipeline pending review; its schedule runs from now on (409 if it is
        not pending)."""
        self.governance(name)
        self.store.approve(name, by=by)
        log.info("pipeline %s approved by %s", name, by)
        return self.pipelines_one(name)

    def transfer_owner(
        self, name: str, new_owner: str, *, by: str, reason: str = ""
    ) -> PipelineSummary:
        """Make ``new_owner`` the owner of ``name``; recorded with who and when.

        Who may do it is the caller's decision (the HTTP layer: engineers, admins, or the
        current owner handing over; ``workspace users remove --transfer-to``: an admin).
        Works for a pipeline whose folder is gone too (its runs keep the record).

        Examples
        --------
        >>> service.transfer_owner("daily", "bob", by="admin").owner  # doctest: +SKIP
        'bob'
        """
        try:
            self.store.governance(name)
        except PipelineNotFoundError:
            self._adopt(name, self.spec(name))
        self.store.set_owner(name, new_owner, by=by, reason=reason)
        log.info("pipeline %s handed over to %s by %s", name, new_owner, by)
        return self._summary_of(name)

    def set_audience(self, name: str, audience: Audience | None, *, by: str) -> PipelineSummary:
        """Share the pipeline's reports with ``audience`` (``None``: private again)."""
        self.governance(name)
        self.store.set_audience(name, audience, by=by)
        log.info("pipeline %s audience set to %s by %s", name, audience, by)
        return self._summary_of(name)

    def promote(self, request: PromotionRequest, *, by: str, pending: bool) -> PromotionResponse:
        """Test-run a posted notebook and make it a pipeline owned by ``by`` (see
        :func:`workspace.api.promote.promote`); ``pending``: it waits for review."""
        from workspace.api.promote import promote

        return promote(self.settings, self.root, self.store, request, by=by, pending=pending)

    def promotion_test(self, test_id: str) -> PromotionTest:
        """A promotion test run: who asked for it and its report (404 if unknown)."""
        from workspace.api.promote import promotion_test

        return promotion_test(self.settings, test_id)

    def history(self, name: str) -> PipelineHistory:
        """The pipeline's recorded promotions, approvals, owners and audiences."""
        self.governance(name)
        return PipelineHistory(pipeline=name, events=self.store.pipeline_events(name))

    def _summary_of(self, name: str) -> PipelineSummary:
        try:
            return self.pipelines_one(name)
        except WorkspaceError:  # no valid folder any more: the record alone
            record = self.store.get_pipeline(name)
            return PipelineSummary.model_validate(self._summary(name, None, record, 0))

    # -- pipelines ------------------------------------------------------------------------

    def _summary(
        self,
        name: str,
        spec: PipelineSpec | PipelineSpecError | None,
        record: Pipeline | None,
        n: int,
    ) -> dict[str, Any]:
        paused = bool(record and record.paused)
        out: dict[str, Any] = {"name": name, "paused": paused, "registered": record is not None}
        if record is not None:
            gov = self.store.governance(name)
            out.update(
                owner=gov.owner,
                approval=gov.approval,
                approved_by=gov.approved_by,
                approved_at=gov.approved_at,
                promoted_by=gov.promoted_by,
                audience=gov.audience,
            )
        last = self.store.list_runs(pipeline=name, limit=1)
        if last:
            out.update(last_run_id=last[0].run_id, last_run_state=last[0].state)
        if spec is None:
            out["error"] = f"No {SPEC_FILE} for {name!r} under {self.root}; it cannot run."
        elif isinstance(spec, PipelineSpecError):
            out["error"] = str(spec)
        else:
            out.update(
                description=spec.description,
                enabled=spec.enabled,
                after=spec.after,
                next_runs=self._next(spec, paused, n),
            )
            if spec.schedule is not None:
                out["schedule"] = ScheduleInfo(
                    cron=spec.schedule.cron,
                    timezone=spec.schedule.timezone,
                    catchup=spec.schedule.catchup,
                )
        return out

    def _next(self, spec: PipelineSpec, paused: bool, n: int) -> list[datetime]:
        if paused or not spec.enabled or spec.schedule is None or n <= 0:
            return []
        return spec.schedule.cron_schedule.next_times(self.clock(), n)

    def pipelines(self, *, n: int = 3) -> list[PipelineSummary]:
        """Every pipeline with a folder or a store record, by name."""
        specs = self._specs()
        records = {p.name: p for p in self.store.list_pipelines()}
        adopted = {n for n, g in self.store.list_governance().items() if g.adopted_at}
        for name, spec in specs.items():  # folders the service has not met yet
            if name not in adopted and isinstance(spec, PipelineSpec):
                self._adopt(name, spec)
                records[name] = self.store.get_pipeline(name)
        return [
            PipelineSummary.model_validate(
                self._summary(name, specs.get(name), records.get(name), n)
            )
            for name in sorted({*specs, *records})
        ]

    def pipeline(self, name: str, *, n: int = 5) -> PipelineDetail:
        """One pipeline with its tasks and next ``n`` scheduled times."""
        spec = self.spec(name)
        record: Pipeline | None = self._registered(name)
        tasks = [
            TaskSpecInfo(
                name=t.name,
                notebook=t.notebook,
                depends_on=t.depends_on,
                parameters=t.parameters,
                run_if=t.run_if if isinstance(t.run_if, str) else t.run_if.model_dump(),
                for_each=t.for_each is not None,
                pool=t.pool,
                retries=spec.retries_for(t).count,
                timeout=spec.timeout_for(t),
                on_failure=t.on_failure,
                declared=declared_or_none(spec.notebook_path(t)),
                checks=declared_checks(t.checks),
            )
            for t in spec.tasks
        ]
        return PipelineDetail.model_validate(
            {
                **self._summary(name, spec, record, n),
                "tasks": tasks,
                "parameters": spec.parameters,
                "concurrency": spec.concurrency,
                "max_active_runs": spec.max_active_runs,
                "state": record,
                "trend": pipeline_trend(self.store, name, prices_or_none(self.settings)),
            }
        )

    def pause(self, name: str, *, requested_by: str | None = None) -> PipelineSummary:
        """Pause a pipeline: the scheduler creates no scheduled run until it is resumed."""
        self._registered(name)
        self.store.pause(name)
        log.info("pipeline %s paused by %s", name, requested_by or "(unknown)")
        return self.pipelines_one(name)

    def resume(self, name: str, *, requested_by: str | None = None) -> PipelineSummary:
        """Resume a paused pipeline."""
        self._registered(name)
        self.store.resume(name)
        log.info("pipeline %s resumed by %s", name, requested_by or "(unknown)")
        return self.pipelines_one(name)

    def pipelines_one(self, name: str) -> PipelineSummary:
        """The listing entry of one pipeline."""
        detail = self.pipeline(name, n=3)
        return PipelineSummary.model_validate(
            detail.model_dump(include=set(PipelineSummary.model_fields))
        )

    def trigger(
        self, name: str, parameters: Mapping[str, Any], *, requested_by: str | None = None
    ) -> Run:
        """Create a queued manual run (allowed while paused); the scheduler starts it.

        The run records the pipeline's owner and ``requested_by``, the person who asked
        (the hub user of the API request, the Jupyter user of the Lab, the CLI's OS user).
        """
        self._registered(name)  # a pipeline pending review refuses (409)
        return self.store.create_manual_run(
            name, parameters=parameters, owner=self.owner(name), requested_by=requested_by
        )

    # -- runs -----------------------------------------------------------------------------

    def runs(self, query: RunsQuery) -> RunList:
        """A page of runs matching ``query``, newest first."""
        runs = self.store.list_runs(
            pipeline=query.pipeline,
            states=query.state or None,
            since=query.since,
            until=query.until,
            limit=query.limit,
            offset=query.offset,
        )
        return RunList(runs=runs, limit=query.limit, offset=query.offset)

    def run(self, run_id: str) -> RunDetailResponse:
        """A run with its tasks, attempts (errors, failing cells, report links) and history."""
        d, prices = self.store.get_run_detail(run_id), prices_or_none(self.settings)
        attempts = [
            AttemptInfo.model_validate(
                {
                    **a.model_dump(),
                    "report_url": self.links(run_id, a.attempt_id) if a.report_path else None,
                    "log_url": self._log_link(a),
                    "cost": None if prices is None else attempt_cost(a.resources, prices),
                }
            )
            for a in d.attempts
        ]
        cost = None if prices is None else round(sum(a.cost.cost for a in attempts if a.cost), 6)
        return RunDetailResponse(
            run=d.run,
            report_url=self.links(run_id, None) if d.run.report_path else None,
            tasks=d.tasks,
            attempts=attempts,
            outputs={t.task_key: dict(t.outputs) for t in d.tasks if t.outputs},
            events=d.events,
            cost=cost,
            currency=None if prices is None else prices.currency,
            **self._effective_parameters(d.run),
        )

    def _effective_parameters(self, run: Run) -> dict[str, Any]:
        """The parameters a run's notebooks get, merged as the engine merges them
        (:func:`workspace.jobs.orchestration.dag.parameters_for`), from the pipeline's current
        spec; without a valid spec, the run's own overrides."""
        spec = self._specs().get(run.pipeline)  # the discovery's cache: polled often
        if not isinstance(spec, PipelineSpec):
            return {"effective_parameters": dict(run.parameters), "task_parameters": {}}
        merged = {**spec.parameters, **run.parameters}
        tasks = {t.name: {**merged, **t.parameters} for t in spec.tasks}
        return {"effective_parameters": merged, "task_parameters": tasks}

    def _log_link(self, attempt: Any) -> str | None:
        if self.log_links is None:
            return None
        has_log = log_file(attempt, within=self.settings.home) is not None
        if not has_log and not attempt.notebook_path:
            return None
        return self.log_links(attempt.run_id, attempt.attempt_id)

    def attempt_log(self, run_id: str, attempt_id: int) -> AttemptLog:
        """The last 256 KiB of an attempt's log (or of its notebook's printed output).

        Examples
        --------
        >>> service.attempt_log(run_id, 1).truncated  # doctest: +SKIP
        False
        """
        detail = self.store.get_run_detail(run_id)
        match = [a for a in detail.attempts if a.attempt_id == attempt_id]
        if not match:
            raise AttemptNotFoundError(attempt_id)
        text, truncated, source = read_log(match[0], within=self.settings.home)
        return AttemptLog(attempt_id=attempt_id, text=text, truncated=truncated, source=source)

    def repair(self, run_id: str, *, requested_by: str | None = None) -> RepairResponse:
        """Re-queue the failed tasks of a finished run and every task downstream of them."""
        run = self.store.get_run(run_id)
        try:
            downstream: Mapping[str, set[str]] = self.spec(run.pipeline).downstream
        except WorkspaceError:
            downstream = {}  # without a spec, only the failed tasks themselves are reset
        reset = self.store.repair(run_id, downstream=downstream, requested_by=requested_by)
        if not reset:
            raise InvalidTransitionError(
                f"run {run_id!r}",
                run.state,
                "repair",
                "It has no failed, timed-out or cancelled tasks; trigger a new run instead.",
            )
        return RepairResponse(run=self.store.get_run(run_id), reset=reset)

    def cancel(self, run_id: str, *, requested_by: str | None = None) -> CancelResponse:
        """Cancel a queued or running run; the scheduler stops its running attempts."""
        by = f" by {requested_by}" if requested_by else ""
        stopping = self.store.cancel_run(run_id, reason=f"cancelled{by} through the API")
        return CancelResponse(
            run=self.store.get_run(run_id), stopping=[a.attempt_id for a in stopping]
        )

    def report(self, run_id: str, attempt_id: int | None = None) -> Path:
        """The HTML report file of a run, or of one of its attempts."""
        detail = self.store.get_run_detail(run_id)
        if attempt_id is None:
            what, raw = f"Run {run_id!r}", detail.run.report_path
        else:
            match = [a for a in detail.attempts if a.attempt_id == attempt_id]
            if not match:
                raise AttemptNotFoundError(attempt_id)
            what, raw = f"Attempt {attempt_id} of run {run_id!r}", match[0].report_path
        if not raw:
            raise ReportNotFoundError(f"{what} has no report yet; it is written when it ends.")
        path = Path(raw).resolve()
        home = self.settings.home.resolve()
        if not path.is_relative_to(home) or not path.is_file():
            raise ReportNotFoundError(
                f"{what}'s report is no longer available; repair or re-run it to render it again."
            )
        return path

    def next_times(self, *, n: int = 5) -> list[NextTime]:
        """The next ``n`` scheduled times over every enabled, unpaused pipeline."""
        paused = {p.name for p in self.store.list_pipelines() if p.paused}
        times = [
            NextTime(pipeline=name, at=at)
            for name, spec in self._specs().items()
            if isinstance(spec, PipelineSpec)
            for at in self._next(spec, name in paused, n)
        ]
        return sorted(times, key=lambda t: (t.at, t.pipeline))[:n]
