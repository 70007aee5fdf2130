"""``workspace classify`` and ``workspace tiers``: a table's tier, and where its data lives.

``workspace classify TABLE --tier TIER [--pii COLUMN[:MASK] ...] [--approve]`` sets the tier
of a shared-lake table: as root directly; in a Lab behind the hub through the scheduler
service, for the table's owner and the ``legal`` group (workspace.api.classify_routes). A
protected tier (confidential, restricted) moves the table into its own root-only DuckLake
at once and removes it from the shared lake, every snapshot included; PII columns are
published masked as ``TABLE_masked`` (masks: hash, redact, partial, generalise). Lowering
a tier needs ``--approve``; every change is audited. ``workspace tiers [--json]`` lists the
classified tables with their tier, owner and description (docs/governance.md, "Tiers").
"""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings


@click.command("classify")
@click.argument("table")
@click.option("--tier", required=True, help="public, internal, confidential or restricted.")
@click.option(
    "--pii",
    multiple=True,
    metavar="COLUMN[:MASK]",
    help="A PII column and its mask (hash by default; redact, partial, generalise).",
)
@click.option("--approve", is_flag=True, help="Approve lowering the tier (audited).")
@click.option("--owner", help="The table's owner, shown to those who cannot read it.")
@click.option("--description", help="What the table holds, shown to everyone.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
def classify(
    table: str,
    tier: str,
    pii: tuple[str, ...],
    approve: bool,
    owner: str | None,
    description: str | None,
    as_json: bool,
) -> None:
    """Set TABLE's tier (layer.table); protected tiers move its data out of the shared lake."""
    from workspace.cli.jobs_remote import SchedulerClient
    from workspace.governance.classify import ClassifyResult, may_classify
    from workspace.governance.classify import classify as run
    from workspace.governance.masking import parse_pii

    settings = Settings.resolve()
    masks = parse_pii(list(pii)) if pii else None
    try:
        if not may_classify(settings) and SchedulerClient.from_env() is not None:
            # the table's owner or the legal group, through the scheduler service (root)
            from workspace.cli.access import call

            body = {"table": table, "tier": tier, "pii": masks or {}, "approve": approve,
                    "owner": owner, "description": description}  # fmt: skip
            result = ClassifyResult.model_validate(call("classify", body=body))
        else:
            result = run(settings, table, tier, pii=masks, approve=approve, owner=owner,
                         description=description)  # fmt: skip
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(result.model_dump_json())
        return
    moved = {
        "in": ", moved to its protected lake",
        "out": ", moved back to the shared lake",
        "encrypted": ", rewritten encrypted (its history restarts)",
        "decrypted": ", rewritten unencrypted (its history restarts)",
    }
    click.echo(
        f"{result.table}: {result.old_tier} -> {result.tier}{moved.get(result.moved or '', '')}"
    )
    if result.purged_files:
        click.echo(f"  removed {result.purged_files} file(s) of its earlier snapshots")
    if result.masked:
        click.echo(f"  masked projection: {result.masked}")


@click.command("tiers")
@click.option("--json", "as_json", is_flag=True, help='Print {"tables": [...]}.')
def tiers(as_json: bool) -> None:
    """List the classified tables: tier, owner, description, masked projection."""
    from workspace.lake import protected

    try:
        entries = protected.read_index(Settings.resolve())
    except WorkspaceError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"tables": [asdict(e) for e in entries.values()]}))
        return
    if not entries:
        click.echo("No table is classified; see `workspace classify --help`.")
    for e in entries.values():
        masked = f" (masked: {e.masked})" if e.masked else ""
        click.echo(f"{e.table}\t{e.tier}\t{e.owner or '-'}\t{e.description or ''}{masked}")


commands = [classify, tiers]
