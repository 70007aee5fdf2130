"""``workspace costs``: what pipelines, users, tables and layers cost over a window.

Compute comes from the resources each attempt recorded (CPU seconds, peak memory x wall
time); storage from the lake's current data files and the users' sandboxes. Prices are in
``$WORKSPACE_HOME/costs.yaml`` (zero without it; see :mod:`workspace.jobs.costs`). The
``--json`` shape is stable::

    {"by": "pipeline", "since": ISO, "until": ISO, "currency": "USD",
     "rows": [{"key", "cpu_seconds", "gb_hours", "storage_gb", "cost"}]}
"""

from __future__ import annotations

import click

from workspace.jobs.costs import cost_report, parse_since
from workspace.lake.settings import Settings


@click.command("costs")
@click.option(
    "--by",
    type=click.Choice(["pipeline", "user", "table", "layer"]),
    default="pipeline",
    show_default=True,
    help="Group by pipeline, user (their pipelines and sandbox), table or layer (storage).",
)
@click.option("--since", help="Window start: an age (7d, 24h, 2w) or a date; default 30d.")
@click.option("--json", "as_json", is_flag=True, help="Print the roll-up as JSON.")
def costs(by: str, since: str | None, as_json: bool) -> None:
    """Cost roll-up: compute of finished attempts and current storage, priced by costs.yaml.

    Storage is charged for the window's length (a GB-month price times days / 30).
    """
    report = cost_report(Settings.resolve(), by=by, since=parse_since(since))  # type: ignore[arg-type]
    if as_json:
        click.echo(report.model_dump_json(indent=2))
        return
    click.echo(f"costs by {report.by} since {report.since:%Y-%m-%d %H:%M} UTC ({report.currency})")
    if not report.rows:
        click.echo("nothing ran and nothing is stored in this window")
        return
    width = max(len(r.key) for r in report.rows)
    click.echo(
        f"{by.upper():<{width}}  {'CPU h':>9}  {'GB-h':>9}  {'STORAGE GB':>10}  {'COST':>10}"
    )
    for r in report.rows:
        click.echo(
            f"{r.key:<{width}}  {r.cpu_seconds / 3600:>9.3f}  {r.gb_hours:>9.3f}  "
            f"{r.storage_gb:>10.4f}  {r.cost:>10.4f}"
        )
    click.echo(f"{'total':<{width}}  {'':>9}  {'':>9}  {'':>10}  "
               f"{sum(r.cost for r in report.rows):>10.4f}")  # fmt: skip


commands = [costs]
