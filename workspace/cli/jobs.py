"""Pipeline commands: ``workspace jobs ...``, plus ``workspace run`` and ``workspace promote``.

Pipelines are read from the ``scheduled/`` folder: ``--scheduled PATH``, else the
``WORKSPACE_SCHEDULED`` environment variable, else ``./scheduled`` (relative to the current
directory). Runs live in the run store of ``WORKSPACE_HOME``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workspace.cli.jobs_common import (
    DEFAULT_SCHEDULED,
    dump,
    echo_result,
    parameter_option,
    progress_printer,
    scheduled_option,
)
from workspace.cli.jobs_promote import promote
from workspace.cli.jobs_remote import SchedulerClient
from workspace.cli.jobs_review import commands as review_commands
from workspace.cli.jobs_review import list_remote
from workspace.cli.jobs_run import run as run_notebook_command
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from workspace.api.service import JobsService
    from workspace.jobs.models import RunDetail
    from workspace.jobs.spec.pipeline import Pipeline
    from workspace.jobs.store.run_store import RunStore


# -- helpers -------------------------------------------------------------------------------
def _root(ctx: click.Context) -> Path:
    return Path(ctx.obj["scheduled"])


def _store() -> RunStore:
    from workspace.jobs.store.run_store import RunStore

    return RunStore.open()


@contextmanager
def _service(ctx: click.Context) -> Iterator[JobsService]:
    """The jobs service over this workspace's run store and ``scheduled/`` folder (closed
    after use): the CLI changes pipelines through the same calls as the HTTP APIs."""
    from workspace.api.service import JobsService
    from workspace.lake.settings import Settings

    service = JobsService(Settings.resolve(), _root(ctx))
    try:
        yield service
    finally:
        service.store.close()


def _scan(root: Path) -> tuple[dict[str, Pipeline], dict[str, str]]:
    """Valid pipelines by name, and the errors of invalid ones by folder name."""
    from workspace.jobs.spec.discovery import scan
    from workspace.jobs.spec.pipeline import PipelineSpecError

    found: dict[str, Pipeline] = {}
    broken: dict[str, str] = {}
    for name, p in scan(root).items():  # after: is checked across the pipelines
        if isinstance(p, PipelineSpecError):
            broken[name] = str(p).splitlines()[0]
        else:
            found[name] = p
    return found, broken


def _pipeline(ctx: click.Context, name: str) -> Pipeline:
    from workspace.jobs.spec.pipeline import SPEC_FILE, load_pipeline

    root = _root(ctx)
    if (root / name / SPEC_FILE).is_file():
        p = load_pipeline(root / name)
        if p.name == name and not p.after:  # after: is checked against the other pipelines
            return p
    found, broken = _scan(root)
    if name in found:
        return found[name]
    if name in broken:
        raise WorkspaceError(broken[name])
    known = ", ".join(sorted(found)) or "none"
    raise WorkspaceError(
        f"No pipeline {name!r} in {root.absolute()} (pipelines there: {known}). Check the "
        "name, or point --scheduled / WORKSPACE_SCHEDULED at the right folder."
    )


def _register(store: RunStore, name: str) -> None:
    """Make sure the store knows the pipeline (the scheduler registers it too)."""
    from workspace.jobs.models import PipelineNotFoundError

    try:
        store.get_pipeline(name)
    except PipelineNotFoundError:
        store.upsert_pipeline(name)


def _paused(store: RunStore) -> dict[str, bool]:
    return {p.name: p.paused for p in store.list_pipelines()}


def _fmt(t: dt.datetime | None) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ") if t else "-"


def _drive(pipeline: Pipeline, store: RunStore, run_id: str, quiet: bool) -> RunDetail:
    from workspace.jobs.execution.executors import SubprocessExecutor
    from workspace.jobs.orchestration.orchestrator import RunDriver
    from workspace.lake.settings import Settings

    executor = SubprocessExecutor()
    executor.start()
    try:
        driver = RunDriver(
            pipeline,
            store,
            executor,
            settings=Settings.resolve(),
            run_id=run_id,
            progress=progress_printer(quiet=quiet),
        )
        return driver.run()
    finally:
        executor.shutdown()


def _since(value: str | None) -> dt.datetime | None:
    """``--since``: an ISO date/time (UTC unless given) or a duration back from now (2d)."""
    from workspace.jobs.spec.pipeline import parse_duration

    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
        return t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    except ValueError:
        pass
    try:
        return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=parse_duration(value))
    except ValueError:
        raise WorkspaceError(
            f"--since {value!r} is neither a date (2025-01-31, 2025-01-31T06:00) nor a "
            "duration back from now (90m, 12h, 7d)."
        ) from None


# -- the group -----------------------------------------------------------------------------
@click.group()
@scheduled_option
@click.pass_context
def jobs(ctx: click.Context, scheduled: Path) -> None:
    """Scheduled pipelines: list, trigger, inspect and repair runs, pause and resume.

    Pipelines are the folders of --scheduled (default ./scheduled, or WORKSPACE_SCHEDULED);
    runs are in the run store of WORKSPACE_HOME.
    """
    ctx.ensure_object(dict)
    ctx.obj["scheduled"] = scheduled


@jobs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the pipelines, their schedule, state (pending review, paused...), owner and last
    run. Behind the hub (WORKSPACE_SCHEDULER_URL set), as the scheduler service shows them."""
    client = SchedulerClient.from_env()
    if client is not None:
        list_remote(client, as_json)
        return
    found, broken = _scan(_root(ctx))
    with _store() as store:
        paused = _paused(store)
        last = {n: store.list_runs(pipeline=n, limit=1) for n in found}
        records = store.list_governance()
    rows: list[dict[str, Any]] = []
    for name, p in sorted(found.items()):
        runs = last[name]
        rows.append(
            {
                "name": name,
                "description": p.description,
                "schedule": p.schedule.cron if p.schedule else None,
                "timezone": p.schedule.timezone if p.schedule else None,
                "after": p.after,
                "enabled": p.enabled,
                "paused": paused.get(name, False),
                "approval": records[name].approval if name in records else "approved",
                "owner": records[name].owner if name in records else None,
                "tasks": len(p.tasks),
                "last_run": runs[0].model_dump(mode="json") if runs else None,
            }
        )
    if as_json:
        click.echo(dump({"pipelines": rows, "invalid": broken}))
        return
    if not rows and not broken:
        click.echo(f"No pipelines in {_root(ctx).absolute()}.")
    for r in rows:
        state = "paused" if r["paused"] else ("enabled" if r["enabled"] else "disabled")
        state = "pending" if r["approval"] == "pending" else state
        when = f"{r['schedule']} {r['timezone']}" if r["schedule"] else "manual"
        if r["after"]:
            when += f" + after {','.join(r['after'])}"
        lr = r["last_run"]
        last_txt = f"last: {lr['state']} {lr['run_id']}" if lr else "never run"
        click.echo(f"{r['name']:<28} {state:<9} {when:<32} {r['owner'] or '-':<14} {last_txt}")
    for folder, error in broken.items():
        click.secho(f"{folder:<28} invalid   {error}", fg="red")


@jobs.command()
@click.argument("name")
@click.pass_context
def show(ctx: click.Context, name: str) -> None:
    """Show a pipeline's spec, next scheduled times and recent runs."""
    p = _pipeline(ctx, name)
    with _store() as store:
        paused = _paused(store).get(p.name, False)
        runs = store.list_runs(pipeline=p.name, limit=5)
        gov = store.list_governance().get(p.name)
    owner = gov.owner if gov else None
    state = "paused" if paused else "enabled" if p.enabled else "disabled"
    click.echo(f"{p.name}  ({'pending review' if gov and gov.pending else state})")
    for label, value in (("description", p.description), ("owner", owner)):
        if value:
            click.echo(f"  {label}: {value}")
    click.echo(f"  folder: {p.folder}")
    if p.schedule:
        nxt = p.schedule.cron_schedule.next_times(dt.datetime.now(dt.UTC), 1)
        click.echo(f"  schedule: {p.schedule.cron} ({p.schedule.timezone}), next {_fmt(nxt[0])}")
    if p.after:
        click.echo(f"  after: {', '.join(p.after)}")
    if p.parameters:
        click.echo(f"  parameters: {p.parameters}")
    click.echo(f"  concurrency {p.concurrency}, max_active_runs {p.max_active_runs}")
    click.echo("  tasks:")
    for t in p.tasks:
        deps = f" <- {', '.join(t.depends_on)}" if t.depends_on else ""
        extra = f" for_each {t.for_each.as_}" if t.for_each else ""
        click.echo(f"    {t.name:<20} {t.notebook}{deps}{extra}")
    click.echo("  recent runs:" if runs else "  no runs yet")
    for r in runs:
        click.echo(f"    {r.run_id}  {r.state:<10} {r.trigger:<8} {_fmt(r.created_at)}")


@jobs.command()
@click.argument("name")
@parameter_option
@click.option("--wait", is_flag=True, help="Run it here now and wait for the result.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines (with --wait).")
@click.pass_context
def trigger(
    ctx: click.Context,
    name: str,
    parameters: tuple[tuple[str, str], ...],
    wait: bool,
    quiet: bool,
) -> None:
    """Start a manual run of pipeline NAME (the scheduler service runs it).

    With --wait the run is driven right here (each task in its own process) and the command
    exits 1 if it fails.
    """
    from workspace.jobs.orchestration.adhoc import parse_parameters

    p = _pipeline(ctx, name)
    params = parse_parameters(parameters)
    _check_run_parameters(p, params)
    with _service(ctx) as service:  # records the owner; refuses a pipeline pending review
        run = service.trigger(p.name, params, requested_by=getpass.getuser())
        if not wait:
            click.echo(f"run {run.run_id}: queued (the scheduler service will run it)")
            return
        detail = _drive(p, service.store, run.run_id, quiet)
    sys.exit(echo_result(detail))


def _check_run_parameters(p: Pipeline, params: dict[str, Any]) -> None:
    """Run parameters go to every task: each notebook must declare them."""
    from workspace.jobs.execution.runner import validate_parameters
    from workspace.jobs.orchestration import dag

    for task in p.tasks:
        merged = dag.parameters_for(p, task, None, {}, run_parameters=params)
        if task.for_each is not None:
            merged.pop(task.for_each.as_, None)
        merged = {k: v for k, v in merged.items() if k in params}
        validate_parameters(
            p.notebook_path(task), merged, kernel_name=task.kernel or p.defaults.kernel
        )


@jobs.command()
@click.argument("name", required=False)
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice(["queued", "running", "succeeded", "failed", "cancelled", "timed_out"]),
    help="Only runs in this state (repeatable).",
)
@click.option("--since", help="Runs since a date (2025-01-31) or for a duration back (7d).")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs(
    name: str | None, states: tuple[str, ...], since: str | None, limit: int, as_json: bool
) -> None:
    """List runs, newest first (of pipeline NAME, or of every pipeline)."""
    with _store() as store:
        found = store.list_runs(
            pipeline=name, states=states or None, since=_since(since), limit=limit
        )
    if as_json:
        click.echo(dump([r.model_dump(mode="json") for r in found]))
        return
    if not found:
        click.echo("No runs match.")
    for r in found:
        when = _fmt(r.scheduled_for or r.created_at)
        click.echo(f"{r.run_id}  {r.pipeline:<24} {r.state:<10} {r.trigger:<8} {when}")


@jobs.command("run")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def run_detail(run_id: str, as_json: bool) -> None:
    """Show a run: tasks, attempts (errors, failing cells), outputs and reports."""
    with _store() as store:
        detail = store.get_run_detail(run_id)
    if as_json:
        click.echo(dump(detail.model_dump(mode="json")))
        return
    r = detail.run
    click.echo(f"run {r.run_id}  pipeline {r.pipeline}  {r.state}  ({r.trigger})")
    click.echo(f"  created {_fmt(r.created_at)}  started {_fmt(r.started_at)}  "
               f"finished {_fmt(r.finished_at)}")  # fmt: skip
    if r.parameters:
        click.echo(f"  parameters: {r.parameters}")
    if r.repair_generation:
        click.echo(f"  repaired {r.repair_generation} time(s)")
    if r.report_path:
        click.echo(f"  report: {r.report_path}")
    by_task: dict[str, list[Any]] = {}
    for a in detail.attempts:
        by_task.setdefault(a.task_key, []).append(a)
    for t in detail.tasks:
        reason = f" ({t.reason})" if t.reason else ""
        click.echo(f"  task {t.task_key}: {t.state}{reason}")
        if t.outputs:
            click.echo(f"    outputs: {t.outputs}")
        for a in by_task.get(t.task_key, []):
            cell = f" at cell {a.failing_cell}" if a.failing_cell is not None else ""
            err = f": {a.error}" if a.error else ""
            click.echo(f"    attempt {a.number} (gen {a.repair_generation}) {a.state}{cell}{err}")
            if a.report_path:
                click.echo(f"      report: {a.report_path}")


@jobs.command()
@click.argument("run_id")
@click.option("--wait", is_flag=True, help="Run the repaired tasks here now and wait.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines (with --wait).")
@click.pass_context
def repair(ctx: click.Context, run_id: str, wait: bool, quiet: bool) -> None:
    """Re-run the failed tasks of RUN_ID and everything downstream, under the same run id."""
    with _store() as store:
        run = store.get_run(run_id)
        p = _pipeline(ctx, run.pipeline)
        reset = store.repair(run_id, downstream=p.downstream)
        if not reset:
            click.echo(f"run {run_id}: nothing to repair (no failed task).")
            return
        click.echo(f"run {run_id}: re-queued {', '.join(reset)}")
        if not wait:
            click.echo("The scheduler service will run them; use --wait to run them here.")
            return
        detail = _drive(p, store, run_id, quiet)
    sys.exit(echo_result(detail))


@jobs.command()
@click.argument("name")
@click.pass_context
def pause(ctx: click.Context, name: str) -> None:
    """Pause pipeline NAME: no scheduled run starts until it is resumed."""
    p = _pipeline(ctx, name)
    with _service(ctx) as service:
        service.pause(p.name, requested_by=getpass.getuser())
    click.echo(f"{p.name}: paused (manual triggers still work)")


@jobs.command()
@click.argument("name")
@click.pass_context
def resume(ctx: click.Context, name: str) -> None:
    """Resume pipeline NAME."""
    p = _pipeline(ctx, name)
    with _service(ctx) as service:
        service.resume(p.name, requested_by=getpass.getuser())
    click.echo(f"{p.name}: resumed")


@jobs.command("next")
@click.option("-n", "count", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def next_(ctx: click.Context, count: int, as_json: bool) -> None:
    """Upcoming scheduled times of the enabled, unpaused pipelines (soonest first)."""
    with _service(ctx) as service:
        times = service.next_times(n=count)
        zones = {name: service.spec(name).schedule for name in {t.pipeline for t in times}}
    upcoming = [(t.at, t.pipeline, getattr(zones[t.pipeline], "timezone", "UTC")) for t in times]
    if as_json:
        click.echo(dump([{"pipeline": n, "at": t.isoformat()} for t, n, _ in upcoming]))
        return
    if not upcoming:
        click.echo("No scheduled runs coming up (no enabled, unpaused pipeline has a schedule).")
    for t, name, tz in upcoming:
        local = t.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M %Z")
        click.echo(f"{_fmt(t)}  {name:<28} ({local})")


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


for _command in review_commands:
    jobs.add_command(_command)

commands: list[click.Command] = [run_notebook_command, jobs, promote]

__all__ = ["DEFAULT_SCHEDULED", "commands", "jobs", "scheduled_option"]
