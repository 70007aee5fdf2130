"""``workspace sql QUERY``: placeholder replaced by the SQL helper."""

from __future__ import annotations

import click


@click.command()
@click.argument("query")
def sql(query: str) -> None:
    """Run DuckDB SQL against the workspace."""
    raise click.ClickException("not implemented yet")
