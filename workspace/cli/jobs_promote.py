"""``workspace promote``."""

from __future__ import annotations

import click


@click.command()
def promote() -> None:
    """Promote a notebook."""
