"""Helpers shared by the pipeline commands: ``-p`` options, progress and run summaries."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from workspace.jobs.models import Attempt, RunDetail, RunState
from workspace.jobs.paths import DEFAULT_SCHEDULED, SCHEDULED_ENV

#: Where the pipelines are: ``--scheduled``, else $WORKSPACE_SCHEDULED, else ./scheduled.
scheduled_option = click.option(
    "--scheduled",
    "scheduled",
    type=click.Path(path_type=Path, file_okay=False),
    envvar=SCHEDULED_ENV,
    default=DEFAULT_SCHEDULED,
    show_default=True,
    help="Folder of the pipelines (env WORKSPACE_SCHEDULED; default ./scheduled).",
)

#: ``-p NAME VALUE``, repeatable, values read as YAML (like ``papermill -p``).
parameter_option = click.option(
    "-p",
    "--parameter",
    "parameters",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="A notebook parameter; VALUE is read as YAML: 3, 0.5, true, eu, '[1, 2]'. Repeatable.",
)


def progress_printer(*, quiet: bool = False) -> Callable[[str], None]:
    """A ``progress`` callback printing timestamped lines to stderr (nothing when quiet).

    >>> say = progress_printer(quiet=True)
    >>> say("  load: attempt 1 started")
    """
    start = time.monotonic()

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"[{time.monotonic() - start:6.1f}s] {message.strip()}", err=True)
            sys.stderr.flush()

    return say


def failed_attempts(detail: RunDetail) -> list[Attempt]:
    """The latest attempt of every task that did not succeed, in run order."""
    latest: dict[str, Attempt] = {}
    for a in detail.attempts:
        latest[a.task_key] = a
    return [a for a in latest.values() if a.state not in ("succeeded", "running")]


def report_of(detail: RunDetail) -> str | None:
    """The report a person should open: the failing attempt's, else the run's."""
    if detail.run.state != RunState.SUCCEEDED:
        for a in failed_attempts(detail):
            if a.report_path:
                return a.report_path
    if detail.run.report_path:
        return detail.run.report_path
    paths = [a.report_path for a in detail.attempts if a.report_path]
    return paths[-1] if paths else None


def echo_result(detail: RunDetail) -> int:
    """Print how a run ended (failing cells and errors, report path); the exit code."""
    run = detail.run
    took = ""
    if run.started_at and run.finished_at:
        took = f", {(run.finished_at - run.started_at).total_seconds():.1f}s"
    color = "green" if run.state == RunState.SUCCEEDED else "red"
    click.echo(f"run {run.run_id}: ", nl=False)
    click.secho(str(run.state), fg=color, nl=False)
    click.echo(f" (pipeline {run.pipeline}{took})")
    if run.state != RunState.SUCCEEDED:
        for a in failed_attempts(detail):
            cell = f" at cell {a.failing_cell}" if a.failing_cell is not None else ""
            click.echo(f"  {a.task_key}: attempt {a.number} {a.state}{cell}: {a.error or ''}")
        for t in detail.tasks:
            if t.state in ("upstream_failed", "cancelled") and t.reason:
                click.echo(f"  {t.task_key}: {t.state} ({t.reason})")
    report = report_of(detail)
    if report:
        click.echo(f"report: {report}")
    return 0 if run.state == RunState.SUCCEEDED else 1


def dump(value: Any) -> str:
    """JSON for ``--json`` output (pydantic records and datetimes included)."""
    import json

    from pydantic import BaseModel

    def default(obj: Any) -> Any:
        if isinstance(obj, BaseModel):
            return obj.model_dump(mode="json")
        return str(obj)

    return json.dumps(value, indent=2, default=default)
