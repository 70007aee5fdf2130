"""Pipeline commands: ``workspace jobs ...``, plus ``workspace run`` and ``workspace promote``.

Pipelines are read from the ``scheduled/`` folder: ``--scheduled PATH``, else the
``WORKSPACE_SCHEDULED`` environment variable, else ``./scheduled`` (relative to the current
directory). Runs live in the run store of ``WORKSPACE_HOME``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workspace.cli.jobs_client import JobsClient, LocalJobs, RemoteJobs, jobs_client
from workspace.cli.jobs_common import (
    DEFAULT_SCHEDULED,
    dump,
    echo_result,
    parameter_option,
    progress_printer,
    scheduled_option,
)
from workspace.cli.jobs_promote import promote
from workspace.cli.jobs_review import commands as review_commands
from workspace.cli.jobs_review import print_pipelines
from workspace.cli.jobs_run import run as run_notebook_command
from workspace.cli.jobs_show import echo_run, follow_remote
from workspace.lake.errors import WorkspaceError
from workspace.params import describe as declared_line

if TYPE_CHECKING:
    from workspace.jobs.models import RunDetail
    from workspace.jobs.spec.pipeline import Pipeline
    from workspace.jobs.store.run_store import RunStore


# -- helpers -------------------------------------------------------------------------------
def _root(ctx: click.Context) -> Path:
    return Path(ctx.obj["scheduled"])


def _pipeline(ctx: click.Context, name: str) -> Pipeline:
    from workspace.jobs.spec.discovery import scan
    from workspace.jobs.spec.pipeline import PipelineSpecError

    root = _root(ctx)
    specs = scan(root)  # the one discovery: after: is checked against the other pipelines
    spec = specs.get(name)
    if isinstance(spec, PipelineSpecError):
        raise spec
    if spec is not None:
        return spec
    valid = (n for n, s in specs.items() if not isinstance(s, PipelineSpecError))
    known = ", ".join(sorted(valid)) or "none"
    raise WorkspaceError(
        f"No pipeline {name!r} in {root.absolute()} (pipelines there: {known}). Check the "
        "name, or point --scheduled / WORKSPACE_SCHEDULED at the right folder."
    )


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
    with jobs_client(_root(ctx)) as client:
        pipelines = client.call("pipelines")["pipelines"]
        empty = f"No pipelines in {_root(ctx).absolute()}." if client.local else "No pipelines."
    print_pipelines(pipelines, as_json, empty=empty)


@jobs.command()
@click.argument("name")
@click.pass_context
def show(ctx: click.Context, name: str) -> None:
    """Show a pipeline's spec, next scheduled times and recent runs."""
    with jobs_client(_root(ctx)) as client:
        folder = _pipeline(ctx, name).folder if client.local else None
        d = client.call("pipeline", name=name, query={"n": 1})
        runs = client.call("runs", query={"pipeline": name, "limit": 5})["runs"]
    state = "paused" if d["paused"] else "enabled" if d.get("enabled", True) else "disabled"
    click.echo(f"{d['name']}  ({'pending review' if d['approval'] == 'pending' else state})")
    for label in ("description", "owner"):
        if d.get(label):
            click.echo(f"  {label}: {d[label]}")
    if folder is not None:
        click.echo(f"  folder: {folder}")
    if d.get("schedule"):
        nxt = _fmt(_when(d["next_runs"][0])) if d.get("next_runs") else "-"
        click.echo(f"  schedule: {d['schedule']['cron']} ({d['schedule']['timezone']}), next {nxt}")
    if d.get("after"):
        click.echo(f"  after: {', '.join(d['after'])}")
    if d.get("parameters"):
        click.echo(f"  parameters: {d['parameters']}")
    click.echo(f"  concurrency {d['concurrency']}, max_active_runs {d['max_active_runs']}")
    click.echo("  tasks:")
    for t in d["tasks"]:
        deps = f" <- {', '.join(t['depends_on'])}" if t["depends_on"] else ""
        extra = " (fan-out)" if t["for_each"] else ""
        click.echo(f"    {t['name']:<20} {t['notebook']}{deps}{extra}")
        for p in t.get("declared") or []:  # the notebook's widget parameters (workspace.params)
            click.echo(f"      {p['name']}: {declared_line(p)}")
    click.echo("  recent runs:" if runs else "  no runs yet")
    for r in runs:
        click.echo(f"    {r['run_id']}  {r['state']:<10} {r['trigger']:<8} "
                   f"{_fmt(_when(r['created_at']))}")  # fmt: skip


@jobs.command()
@click.argument("name")
@parameter_option
@click.option("--wait", is_flag=True, help="Wait for the run and print how it ended.")
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

    With --wait the command waits for the run and exits 1 if it fails: outside the hub the
    run is driven right here (each task in its own process); behind the hub the scheduler
    service runs it and this command follows it.
    """
    from workspace.jobs.orchestration.adhoc import parse_parameters

    params = parse_parameters(parameters)
    with jobs_client(_root(ctx)) as client:
        if client.local:
            _check_run_parameters(_pipeline(ctx, name), params)
        run = client.call("trigger", name=name, body={"parameters": params})
        if not wait:
            click.echo(f"run {run['run_id']}: queued (the scheduler service will run it)")
            return
        sys.exit(_finish(ctx, client, run["run_id"], quiet))


def _finish(ctx: click.Context, client: JobsClient, run_id: str, quiet: bool) -> int:
    """Drive the run here (local) or follow it on the service (hub); print how it ended."""
    if isinstance(client, LocalJobs):
        store = client.service.store
        detail = _drive(_pipeline(ctx, store.get_run(run_id).pipeline), store, run_id, quiet)
        return echo_result(detail)
    assert isinstance(client, RemoteJobs)
    return follow_remote(client, run_id, quiet)


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
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def runs(
    ctx: click.Context,
    name: str | None,
    states: tuple[str, ...],
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List runs, newest first (of pipeline NAME, or of every pipeline)."""
    query = {"pipeline": name, "state": list(states), "since": _since(since), "limit": limit}
    with jobs_client(_root(ctx)) as client:
        found = client.call("runs", query=query)["runs"]
    if as_json:
        click.echo(dump(found))
        return
    if not found:
        click.echo("No runs match.")
    for r in found:
        when = _fmt(_when(r["scheduled_for"] or r["created_at"]))
        click.echo(f"{r['run_id']}  {r['pipeline']:<24} {r['state']:<10} {r['trigger']:<8} {when}")


@jobs.command("run")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the API's run detail).")
@click.pass_context
def run_detail(ctx: click.Context, run_id: str, as_json: bool) -> None:
    """Show a run: tasks, attempts (errors, failing cells), outputs and reports."""
    with jobs_client(_root(ctx)) as client:
        detail = client.call("run", run_id=run_id)
    if as_json:
        click.echo(dump(detail))
        return
    echo_run(detail, local=isinstance(client, LocalJobs))


@jobs.command()
@click.argument("run_id")
@click.option(
    "--wait", is_flag=True, help="Wait for the repaired tasks (run here outside the hub)."
)
@click.option("-q", "--quiet", is_flag=True, help="No progress lines (with --wait).")
@click.pass_context
def repair(ctx: click.Context, run_id: str, wait: bool, quiet: bool) -> None:
    """Re-run the failed tasks of RUN_ID and everything downstream, under the same run id."""
    from workspace.cli.jobs_remote import ServiceError
    from workspace.jobs.models import InvalidTransitionError

    with jobs_client(_root(ctx)) as client:
        try:
            reset = client.call("repair", run_id=run_id)["reset"]
        except (InvalidTransitionError, ServiceError) as exc:
            if isinstance(exc, ServiceError) and exc.status != 409:
                raise
            click.echo(f"run {run_id}: nothing to repair (no failed task).")
            return
        click.echo(f"run {run_id}: re-queued {', '.join(reset)}")
        if not wait:
            click.echo("The scheduler service will run them; use --wait to wait for them.")
            return
        sys.exit(_finish(ctx, client, run_id, quiet))


@jobs.command()
@click.argument("name")
@click.pass_context
def pause(ctx: click.Context, name: str) -> None:
    """Pause pipeline NAME: no scheduled run starts until it is resumed."""
    with jobs_client(_root(ctx)) as client:
        client.call("pause", name=name)
    click.echo(f"{name}: paused (manual triggers still work)")


@jobs.command()
@click.argument("name")
@click.pass_context
def resume(ctx: click.Context, name: str) -> None:
    """Resume pipeline NAME."""
    with jobs_client(_root(ctx)) as client:
        client.call("resume", name=name)
    click.echo(f"{name}: resumed")


@jobs.command("next")
@click.option("-n", "count", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def next_(ctx: click.Context, count: int, as_json: bool) -> None:
    """Upcoming scheduled times of the enabled, unpaused pipelines (soonest first)."""
    with jobs_client(_root(ctx)) as client:
        times = client.call("next", query={"n": count})["times"]
        zones = {
            p["name"]: (p.get("schedule") or {}).get("timezone", "UTC")
            for p in (client.call("pipelines")["pipelines"] if times else [])
        }
    if as_json:
        iso = [dt.datetime.fromisoformat(t["at"]).isoformat() for t in times]
        click.echo(
            dump([{"pipeline": t["pipeline"], "at": a} for t, a in zip(times, iso, strict=True)])
        )
        return
    if not times:
        click.echo("No scheduled runs coming up (no enabled, unpaused pipeline has a schedule).")
    for t in times:
        at = dt.datetime.fromisoformat(t["at"])
        local = at.astimezone(_zone(zones.get(t["pipeline"], "UTC"))).strftime("%Y-%m-%d %H:%M %Z")
        click.echo(f"{_fmt(at)}  {t['pipeline']:<28} ({local})")


def _when(value: str | dt.datetime | None) -> dt.datetime | None:
    """A time of a JSON answer (ISO text) as an aware datetime."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


for _command in review_commands:
    jobs.add_command(_command)

commands: list[click.Command] = [run_notebook_command, jobs, promote]

__all__ = ["DEFAULT_SCHEDULED", "commands", "jobs", "scheduled_option"]
