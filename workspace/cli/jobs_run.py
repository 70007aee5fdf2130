"""``workspace run NOTEBOOK``: a one-off run, recorded in the run store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workspace.cli.jobs_common import echo_result, parameter_option, progress_printer


@click.command("run")
@click.argument("notebook", type=click.Path(path_type=Path))
@parameter_option
@click.option("-k", "--kernel", help="Kernel to run on (default: the notebook's own kernel).")
@click.option("--timeout", type=float, help="Seconds the whole run may take.")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def run(
    notebook: Path,
    parameters: tuple[tuple[str, str], ...],
    kernel: str | None,
    timeout: float | None,
    quiet: bool,
) -> None:
    """Run NOTEBOOK once, like papermill, and keep its report in the run history.

    The run is a manual run of the pipeline ``adhoc_<notebook name>``; it shows up in
    ``workspace jobs runs``. Exits 0 when every cell ran, 1 when the run failed.

    \b
    Example:
      workspace run daily.ipynb -p day 2024-01-01 -p scale 0.1
    """
    from workspace.jobs.adhoc import parse_parameters, run_adhoc
    from workspace.lake.settings import Settings

    detail = run_adhoc(
        notebook,
        parse_parameters(parameters),
        settings=Settings.resolve(),
        kernel=kernel,
        progress=progress_printer(quiet=quiet),
        timeout=timeout,
    )
    sys.exit(echo_result(detail))
