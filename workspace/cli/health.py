"""``workspace health``: the platform at a glance (pipelines, tables, compute, storage).

The same data as the reports service's ``health`` page
(:func:`workspace.reports.health.platform_health`). ``--json`` prints the
:class:`~workspace.reports.health.PlatformHealth` model. Run it where the run store and the
lake are readable (as root, or the account that runs the scheduler).
"""

from __future__ import annotations

from pathlib import Path

import click

from workspace.cli.jobs_common import scheduled_option
from workspace.lake.settings import Settings
from workspace.reports.health import platform_health


@click.command("health")
@click.option("--days", type=click.IntRange(1, 90), default=7, show_default=True,
              help="The window for runs, failures, late starts and compute.")  # fmt: skip
@scheduled_option
@click.option("--json", "as_json", is_flag=True, help="Print the health as JSON.")
def health(days: int, scheduled: Path, as_json: bool) -> None:
    """Pipelines failing or late, tables needing a look, compute, storage and grants."""
    h = platform_health(Settings.resolve(), scheduled_root=scheduled, days=days)
    if as_json:
        click.echo(h.model_dump_json(indent=2))
        return
    click.echo(f"platform health, last {days} days ({h.generated_at:%Y-%m-%d %H:%M} UTC)")
    for problem in h.problems:
        click.echo(f"  could not read {problem}")
    click.echo("pipelines:")
    for p in h.pipelines:
        nxt = f"{p.next_run:%Y-%m-%d %H:%M}" if p.next_run else "-"
        click.echo(f"  {p.name:<28} {p.status:<8} runs {p.runs:>3}  failed {p.failed:>3}  "
                   f"late {p.late_starts:>3}  next {nxt}")  # fmt: skip
    bad = [t for t in h.tables if t.health in ("failing", "stale", "warning")]
    click.echo(f"tables: {len(h.tables)}, {len(bad)} needing a look")
    for t in bad:
        click.echo(f"  {t.table:<36} {t.health:<8} {t.message}")
    cost = sum(c.cost for c in h.compute)
    stored = sum(s.bytes for s in h.storage)
    click.echo(f"compute: {cost:,.2f} {h.currency}; storage: {stored / 1e6:,.1f} MB")
    if h.dask_workers:
        click.echo(f"dask workers: {h.dask_workers[0]} to {h.dask_workers[1]}")
    click.echo(f"grants: {h.grants.active} active, {len(h.grants.expiring_soon)} expiring "
               f"within a week, {len(h.grants.never_used)} never used")  # fmt: skip


commands = [health]
