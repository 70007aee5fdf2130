"""Catalog commands: ``workspace tables``, ``search``, ``describe``, ``history``."""

from __future__ import annotations

import json

import click

from workspace.lake import Workspace


def _connect() -> Workspace:
    import workspace

    return workspace.connect()


@click.command()
@click.option("--layer", type=click.Choice(["bronze", "silver", "gold", "sandbox"]))
@click.option("--like", help="Only tables whose name contains this text (or LIKE pattern).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def tables(layer: str | None, like: str | None, as_json: bool) -> None:
    """List the tables you can read."""
    with _connect() as ws:
        rows = ws.catalog.list(layer=layer, like=like)
    if as_json:
        click.echo(json.dumps([r.model_dump() for r in rows], indent=2))
        return
    if not rows:
        click.echo("No tables. Build the demo lake with `workspace demo`.")
    for r in rows:
        click.echo(f"{r.name:<36} {r.classification:<13} {r.description or ''}")


@click.command()
@click.argument("text")
def search(text: str) -> None:
    """Find tables by name, description, column name or tag."""
    with _connect() as ws:
        hits = ws.catalog.search(text)
    if not hits:
        click.echo(f"No table matches {text!r}.")
    for h in hits:
        click.echo(f"{h.name:<36} matched {', '.join(h.matched)}")


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def describe(name: str, as_json: bool) -> None:
    """Show a table's schema, size, owner, classification and snapshots."""
    with _connect() as ws:
        d = ws.catalog.describe(name)
    if as_json:
        click.echo(json.dumps(d.model_dump(mode="json"), indent=2))
        return
    click.echo(f"{d.name}  ({d.classification}, owner {d.owner or 'unknown'})")
    if d.description:
        click.echo(f"  {d.description}")
    click.echo(
        f"  {d.row_count:,} rows, {d.size_bytes / 1e6:.2f} MB in {d.file_count} files, "
        f"{len(d.snapshots)} snapshots, last modified {d.last_modified}"
    )
    if d.tags:
        click.echo(f"  tags: {', '.join(d.tags)}")
    for c in d.columns:
        flag = " [PII]" if c.pii else ""
        click.echo(f"    {c.name:<24} {c.type:<16}{flag} {c.description or ''}")


@click.command()
@click.argument("name")
def history(name: str) -> None:
    """List a table's snapshots (ids work with ws.table(name, at=ID))."""
    with _connect() as ws:
        snaps = ws.history(name)
    for s in snaps:
        click.echo(
            f"{s.snapshot_id:>6}  {s.time:%Y-%m-%d %H:%M:%S}  {','.join(s.operations):<18} "
            f"{s.author or ''}: {s.message or ''}"
        )


@click.command()
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@click.option("--compact", is_flag=True, help="Merge the small files of many appends.")
@click.option(
    "--expire-days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Forget snapshots older than this many days (time travel to them stops working).",
)
def maintain(dry_run: bool, compact: bool, expire_days: float | None) -> None:
    """Housekeeping: delete unreferenced files, optionally compact and expire snapshots."""
    import datetime as dt

    expire = dt.timedelta(days=expire_days) if expire_days else None
    with _connect() as ws:
        report = ws.maintain(dry_run=dry_run, compact=compact, expire_older_than=expire)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {len(report.orphaned_files)} unreferenced file(s)")
    for path in report.orphaned_files:
        click.echo(f"  {path}")
    if expire:
        click.echo(f"expired {len(report.expired_snapshots)} snapshot(s)")
    if compact or expire:
        click.echo(f"{verb} {len(report.removed_old_files)} retired file(s)")


commands: list[click.Command] = [tables, search, describe, history, maintain]
