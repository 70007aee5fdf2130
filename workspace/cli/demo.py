"""``workspace demo``: build the demo lakehouse."""

from __future__ import annotations

import click


@click.command()
@click.option("--scale", default=0.1, show_default=True, type=float, help="TPC-H scale factor.")
@click.option("--force", is_flag=True, help="Rebuild every demo table, even when it exists.")
@click.option("--no-notebooks", is_flag=True, help="Do not copy the tour notebooks.")
def demo(scale: float, force: bool, no_notebooks: bool) -> None:
    """Build the demo lakehouse: TPC-H in bronze, cleaned silver, gold marts.

    Idempotent: tables that exist are kept. The tour notebooks are copied to
    $WORKSPACE_HOME/notebooks/tour.
    """
    import workspace
    from workspace.demo import build_demo

    with workspace.connect() as ws:
        click.echo(f"Workspace home: {ws.settings.home}")
        report = build_demo(
            ws, scale=scale, force=force, progress=click.echo, notebooks=not no_notebooks
        )
    for path in report.notebooks:
        click.echo(f"  notebook {path}")
