"""``workspace quality scan | pii | history | status``: the monitors from the command line.

Every command takes ``--json``; the shapes are stable and documented in
docs/quality-monitors.md ("JSON shapes" and "Module notes"). ``scan`` exits 1 when a
finding has severity ``error`` (a declared check failed). The commands join the
``workspace quality`` group of :mod:`workspace.cli.quality`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from workspace.lake import Workspace

_COLORS = {"info": "blue", "warn": "yellow", "error": "red"}
_HEALTH = {
    "healthy": "green",
    "warning": "yellow",
    "failing": "red",
    "stale": "magenta",
    "no_history": "blue",
}


def _connect(*, read_only: bool = True) -> Workspace:
    import workspace

    return workspace.connect(read_only=read_only)


def _as_of(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO time; write e.g. 2026-01-31T12:00:00+00:00 "
            "(a time without a zone is UTC)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


_AS_OF = click.option(
    "--as-of",
    "as_of",
    callback=_as_of,
    metavar="ISO_TIME",
    help="Judge freshness at this time instead of now (UTC unless a zone is given).",
)
_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON (stable shape).")


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.command("scan")
@click.argument("tables", nargs=-1, metavar="[TABLE ...]")
@_AS_OF
@_JSON
def scan_command(tables: tuple[str, ...], as_of: dt.datetime | None, as_json: bool) -> None:
    """Run the monitors, PII detection and declared checks of shared tables (default: all)."""
    from workspace.quality.scan import scan

    with _connect() as ws:
        result = scan(ws, list(tables) or None, as_of=as_of)
    if as_json:
        _dump(result.model_dump(mode="json"))
    else:
        young = [f for f in result.findings if f.details.get("status") == "not_enough_history"]
        if young:
            names = ", ".join(f"{f.table} ({f.details['commits']})" for f in young)
            level = click.style("INFO ", fg=_COLORS["info"])
            need = young[0].details["needed"]
            click.echo(f"{level} not enough history yet (fewer than {need} commits): {names}")
        for f in result.findings:
            if f in young:
                continue
            where = f"{f.table}.{f.column}" if f.column else f.table
            level = click.style(f"{f.severity.upper():<5}", fg=_COLORS[f.severity])
            click.echo(f"{level} {f.kind:<12} {where:<40} {f.message}")
        serious = sum(f.severity != "info" for f in result.findings)
        click.echo(
            f"{len(result.tables)} table{'s' * (len(result.tables) != 1)} scanned: "
            f"{serious} finding{'s' * (serious != 1)} to look at"
        )
    if any(f.severity == "error" for f in result.findings):
        sys.exit(1)


@click.command("pii")
@click.argument("table")
@click.option("--confirm", "confirm", multiple=True, metavar="COLUMN",
              help="Flag COLUMN as PII in the catalog (repeatable).")  # fmt: skip
@click.option("--dismiss", "dismiss", multiple=True, metavar="COLUMN",
              help="Record that COLUMN holds no PII (repeatable).")  # fmt: skip
@_JSON
def pii_command(
    table: str, confirm: tuple[str, ...], dismiss: tuple[str, ...], as_json: bool
) -> None:
    """Sample TABLE's text columns and list those that hold personal data."""
    from workspace.quality.pii_review import confirm_pii, dismiss_pii, pii_columns

    with _connect(read_only=not confirm) as ws:
        for column in confirm:
            confirm_pii(ws, table, column)
        for column in dismiss:
            dismiss_pii(ws, table, column)
        name = ws.resolve(table).display
        columns = pii_columns(ws, table)
    if as_json:
        _dump({"table": name, "columns": [c.model_dump() for c in columns]})
        return
    if not columns:
        click.echo(f"{name}: no column looks like personal data")
    for c in columns:
        click.echo(
            f"{c.column:<24} {c.kind:<15} {c.share:>5.0%} of {c.sampled:<4} "
            f"e.g. {c.example or '':<28} {c.status}"
        )


@click.command("history")
@click.argument("table")
@click.option("--column", "column", metavar="COLUMN", help="Show one column's metrics.")
@_JSON
def history_command(table: str, column: str | None, as_json: bool) -> None:
    """Print TABLE's metrics history: one line per commit (filled in from the lake)."""
    from workspace.quality.history import table_history

    with _connect() as ws:
        name = ws.resolve(table).display
        history = table_history(ws, table)
    if as_json:
        _dump({"table": name, "commits": [c.model_dump(mode="json") for c in history]})
        return
    click.echo(f"{'snapshot':>8}  {'committed (UTC)':<19}  {'operations':<18} "
               f"{'added':>10} {'deleted':>10} {'total':>11} {'bytes':>12}")  # fmt: skip
    for c in history:
        click.echo(
            f"{c.snapshot_id:>8}  {c.committed_at:%Y-%m-%d %H:%M:%S}  "
            f"{','.join(c.operations):<18} {c.rows_added:>10,} {c.rows_deleted:>10,} "
            f"{c.rows_total:>11,} {c.bytes:>12,}"
        )
        m = c.column(column) if column else None
        if m is not None:
            null = "-" if m.null_fraction is None else f"{m.null_fraction:.1%}"
            stats = f"nulls {null}  distinct ~{m.distinct}"
            if m.mean is not None:
                stats += f"  min {m.min}  max {m.max}  mean {m.mean:.4g}"
            if m.top_values:
                stats += "  top " + ", ".join(f"{v} {s:.0%}" for v, s in m.top_values[:3])
            click.echo(f"{'':>10}{column}: {stats}")


@click.command("status")
@_AS_OF
@_JSON
def status_command(as_of: dt.datetime | None, as_json: bool) -> None:
    """The health of every shared table: healthy, warning, failing, stale, no_history."""
    from workspace.quality.scan import status

    with _connect() as ws:
        rows = status(ws, as_of=as_of)
    if as_json:
        _dump({"tables": [r.model_dump(mode="json") for r in rows]})
        return
    for r in rows:
        health = click.style(f"{r.health:<10}", fg=_HEALTH[r.health])
        click.echo(f"{health} {r.table:<40} {r.message}")


commands = [scan_command, pii_command, history_command, status_command]
