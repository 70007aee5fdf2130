"""``workspace demo``: build the demo lakehouse."""

from __future__ import annotations

import click


@click.command()
@click.option("--scale", default=0.1, show_default=True, type=float, help="TPC-H scale factor.")
@click.option("--force", is_flag=True, help="Rebuild every demo table, even when it exists.")
@click.option("--no-notebooks", is_flag=True, help="Do not copy the tour notebooks.")
@click.option(
    "--classify",
    "classify_customers",
    is_flag=True,
    help="Classify bronze.customer and silver.customers confidential (moved to their own "
    "root-only lakes) with masked projections of names, addresses and phones.",
)
def demo(scale: float, force: bool, no_notebooks: bool, classify_customers: bool) -> None:
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
    if classify_customers:
        _classify_customers()


#: The demo's customer tables (the same names) and the masks of their PII columns.
DEMO_CONFIDENTIAL = {
    "bronze.customer": {"c_name": "hash", "c_address": "redact", "c_phone": "partial"},
    "silver.customers": {"name": "hash", "address": "redact", "phone": "partial"},
}


def _classify_customers() -> None:
    from workspace.governance.classify import classify
    from workspace.governance.tiers import tier_of
    from workspace.lake.errors import WorkspaceError
    from workspace.lake.settings import Settings

    settings = Settings.resolve()
    for table, pii in DEMO_CONFIDENTIAL.items():
        if tier_of(settings, table) == "confidential":
            click.echo(f"  {table:<32} already confidential")
            continue
        try:
            result = classify(settings, table, "confidential", pii=pii)
        except WorkspaceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"  {table:<32} confidential, masked as {result.masked}")
