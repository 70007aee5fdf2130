"""``workspace run NOTEBOOK``: a one-off run, recorded in the run store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from workspace.cli.jobs_common import echo_result, parameter_option, progress_printer


def _skip_iri_grammar() -> None:
    """Skip building jsonschema's optional IRI grammar (about 1s at start-up).

    ``jsonschema`` (imported by nbformat) builds a large parser from ``rfc3987_syntax``
    when that is installed, only to check the ``iri`` string format, which notebook schemas
    never use. Marking the module as absent makes jsonschema skip that checker in this
    short-lived process; kernels and other processes are not affected.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


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
    _skip_iri_grammar()
    from workspace.jobs.orchestration.adhoc import parse_parameters, run_adhoc
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
