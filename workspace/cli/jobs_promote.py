"""``workspace promote NOTEBOOK --pipeline NAME``, thin over the jobs promotion.

See :mod:`workspace.jobs.orchestration.promote`.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import click

from workspace.cli.jobs_common import parameter_option, progress_printer, scheduled_option
from workspace.cli.jobs_remote import SchedulerClient


@click.command()
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pipeline", "name", required=True, help="Name of the new pipeline (daily_sales).")
@click.option("--schedule", help="Cron expression, e.g. '0 6 * * *' (default: manual only).")
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone of --schedule.")
@parameter_option
@scheduled_option
@click.option("--force", is_flag=True, help="Replace an existing pipeline of that name.")
@click.option("-k", "--kernel", default="workspace", show_default=True, help="Kernel of the test.")
@click.option("--timeout", type=float, help="Seconds the test run may take.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def promote(
    notebook: Path,
    name: str,
    schedule: str | None,
    timezone: str,
    parameters: tuple[tuple[str, str], ...],
    scheduled: Path,
    force: bool,
    kernel: str,
    timeout: float | None,
    quiet: bool,
) -> None:
    """Test-run NOTEBOOK, then make it the scheduled pipeline --pipeline NAME.

    The notebook needs a cell tagged 'parameters'. The test run sees a throwaway copy of
    the lake: its writes never reach bronze, silver or gold (unqualified names go to your
    sandbox). If it passes, scheduled/NAME/ gets a clean copy of the notebook and a
    pipeline.yaml; if it fails, nothing is written and the test's report is shown.

    Behind the hub (a Lab terminal: WORKSPACE_SCHEDULER_URL and JUPYTERHUB_API_TOKEN set)
    the notebook is sent to the scheduler service, which runs the test, records you as the
    owner and, unless the deployment auto-approves you, leaves the pipeline pending review
    until an engineer runs `workspace jobs approve NAME`. Without them, scheduled/ and the
    run store are written here (an operator's shell) and the pipeline is approved.

    \b
    Example:
      workspace promote daily.ipynb --pipeline daily_sales --schedule "0 6 * * *" \\
          --timezone Europe/Amsterdam -p scale 0.1
    """
    from workspace.jobs.orchestration.adhoc import parse_parameters
    from workspace.jobs.orchestration.promote import promote_notebook

    client = SchedulerClient.from_env()
    if client is not None:
        _promote_remote(
            client,
            notebook,
            name=name,
            schedule=schedule,
            timezone=timezone,
            parameters=parse_parameters(parameters),
            force=force,
            kernel=kernel,
            timeout=timeout,
            quiet=quiet,
        )
        return

    def record(_spec: object) -> None:
        from workspace.jobs.store.run_store import RunStore
        from workspace.lake.settings import Settings

        user = Settings.resolve().user or getpass.getuser()
        with RunStore.open() as store:
            store.register_promotion(name, owner=user, by=user, pending=False)

    result = promote_notebook(
        notebook,
        name=name,
        scheduled=scheduled,
        schedule=schedule,
        timezone=timezone,
        parameters=parse_parameters(parameters),
        force=force,
        kernel=kernel,
        timeout=timeout,
        progress=progress_printer(quiet=quiet),
        before_write=record,
    )
    p = result.pipeline
    when = f"{p.schedule.cron} ({p.schedule.timezone})" if p.schedule else "manual trigger only"
    click.echo(f"promoted {notebook.name} to pipeline {p.name}: {result.folder}")
    click.echo(f"  schedule: {when}")
    click.echo(f"  test run {result.test.status} in {result.test.duration:.1f}s")
    if result.test.report:
        click.echo(f"  test report: {result.test.report}")
    click.echo(f"Trigger it now with: workspace jobs trigger {p.name}")


def _promote_remote(
    client: SchedulerClient,
    notebook: Path,
    *,
    name: str,
    schedule: str | None,
    timezone: str,
    parameters: dict[str, Any],
    force: bool,
    kernel: str,
    timeout: float | None,
    quiet: bool,
) -> None:
    """``workspace promote`` through the scheduler service (behind the hub)."""
    say = progress_printer(quiet=quiet)
    if notebook.suffix != ".ipynb":
        raise click.ClickException(f"{notebook} is not a notebook file (.ipynb).")
    try:
        content = json.loads(notebook.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.ClickException(f"Cannot read {notebook}: {exc.strerror}.") from None
    except ValueError as exc:
        raise click.ClickException(f"{notebook} is not valid notebook JSON: {exc}") from None
    body = {
        "name": name,
        "notebook": content,
        "notebook_name": notebook.name,
        "cron": schedule,
        "timezone": timezone,
        "parameters": parameters,
        "force": force,
        "kernel": kernel,
        "timeout": timeout,
    }
    say(f"sending {notebook.name} to the scheduler service for its test run")
    answer = client.call("POST", "promotions", body, timeout=(timeout or 3600) + 60, ok=(422,))
    report = answer.get("report_url")
    link = client.public(report.split("/api/jobs/", 1)[1]) if report else None
    if not answer.get("ok"):
        message = answer.get("message") or "the test run failed"
        raise click.ClickException(f"{message}" + (f"\n  test report: {link}" if link else ""))
    click.echo(f"promoted {notebook.name} to pipeline {name} (owner {answer.get('owner')})")
    click.echo(f"  schedule: {schedule + ' (' + timezone + ')' if schedule else 'manual only'}")
    click.echo(f"  test run {answer.get('test_status')}" + (f"; report: {link}" if link else ""))
    if answer.get("approval") == "pending":
        click.echo(
            f"  pending review: an engineer or admin approves it with "
            f"`workspace jobs approve {name}`; it runs after that."
        )
    else:
        click.echo(f"Trigger it now with: workspace jobs trigger {name}")
