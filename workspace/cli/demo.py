"""``workspace demo``: build the demo lakehouse."""

from __future__ import annotations

import click


@click.command()
@click.option("--scale", default=0.1, show_default=True, help="TPC-H scale factor.")
def demo(scale: float) -> None:
    """Build (idempotently) the demo lakehouse: TPC-H bronze, silver and gold."""
    raise click.ClickException("not implemented yet")
