"""``workspace promote NOTEBOOK --pipeline NAME``, thin over :mod:`workspace.jobs.promote`."""

from __future__ import annotations

from pathlib import Path

import click

from workspace.cli.jobs_common import parameter_option, progress_printer, scheduled_option


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

    \b
    Example:
      workspace promote daily.ipynb --pipeline daily_sales --schedule "0 6 * * *" \\
          --timezone Europe/Amsterdam -p scale 0.1
    """
    from workspace.jobs.adhoc import parse_parameters
    from workspace.jobs.promote import promote_notebook

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
    )
    p = result.pipeline
    when = f"{p.schedule.cron} ({p.schedule.timezone})" if p.schedule else "manual trigger only"
    click.echo(f"promoted {notebook.name} to pipeline {p.name}: {result.folder}")
    click.echo(f"  schedule: {when}")
    click.echo(f"  test run {result.test.status} in {result.test.duration:.1f}s")
    if result.test.report:
        click.echo(f"  test report: {result.test.report}")
    click.echo(f"Trigger it now with: workspace jobs trigger {p.name}")
