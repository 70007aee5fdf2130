"""``workspace quality``: a table's contract and its declared checks (docs/quality.md).

``workspace quality check TABLE [--json]`` runs the declared checks now (exit code 1 when a
check of severity ``error`` fails or cannot run); ``workspace quality contract TABLE
[--json]`` shows the contract, where it is kept and the checks pipeline tasks declare for
the table (``"pipelines"`` in the JSON: pipeline, task, name, type, severity). The
monitors' commands (``scan``, ``pii``, ``history``, ``status``, in
:mod:`workspace.cli.quality_monitor`) join this group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from workspace.cli.jobs_common import scheduled_option
from workspace.cli.quality_monitor import commands as monitor_commands
from workspace.lake import Workspace


def _connect() -> Workspace:
    import workspace

    return workspace.connect(read_only=True)


@click.group()
def quality() -> None:
    """Data quality: contracts, declared checks and monitors of tables."""


@quality.command("check")
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (shape in docs/quality.md).")
def check_command(table: str, as_json: bool) -> None:
    """Run TABLE's declared checks now and print each one's outcome."""
    with _connect() as ws:
        report = ws.quality.report(table)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(f"{report.table}: {len(report.outcomes)} checks from {report.contract}")
        for o in report.outcomes:
            color = {"pass": "green", "fail": "red", "error": "red"}[o.status]
            if o.status == "fail" and o.check.severity == "warn":
                color = "yellow"
            status = click.style(f"{o.status.upper():<5}", fg=color)
            what = o.message.split(" failed: ", 1)[-1] if o.status == "fail" else o.message
            if o.status == "error":
                what = "failed to run: " + o.message.split(" failed to run: ", 1)[-1]
            click.echo(f"  {status} {o.check.name:<32} {o.check.severity:<5} {what}")
        failed = sum(o.status != "pass" for o in report.outcomes)
        click.echo(
            f"{len(report.outcomes) - failed} passed, {failed} did not "
            f"({len(report.blocking)} would block a write) in {report.seconds:.2f}s"
        )
    if report.blocking:
        sys.exit(1)


@quality.command("contract")
@click.argument("table")
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON.")
@scheduled_option
def contract_command(table: str, as_json: bool, scheduled: Path) -> None:
    """Show TABLE's contract (its declared checks), the file it is kept in, and the checks
    pipelines declare for it in their tasks (pipeline.yaml)."""
    from workspace.jobs.spec.table_checks import checks_for_table
    from workspace.quality.checks import find_contract

    with _connect() as ws:
        ref = ws.quality.resolve(table)
        contract, path = find_contract(ws, ref)
    declared = checks_for_table(scheduled, ref.display)
    if as_json:
        data = contract.model_dump(mode="json", by_alias=True) if contract else None
        tasks = [d.to_json() for d in declared]
        click.echo(json.dumps({"table": ref.display, "path": str(path), "contract": data,
                               "pipelines": tasks}, indent=2))  # fmt: skip
        return
    if contract is None:
        click.echo(
            f"{ref.display} has no contract. Declare one with ws.quality.contract(...) or "
            f"write {path} (see docs/quality.md)."
        )
    else:
        click.echo(f"# {path}")
        click.echo(contract.to_yaml().rstrip())
    if declared:
        click.echo(f"# checks declared in pipelines ({scheduled}/<pipeline>/pipeline.yaml)")
        for d in declared:
            click.echo(f"  {d.pipeline}/{d.task}: {d.check.name} ({d.check.type}, "
                       f"{d.check.severity})")  # fmt: skip


for _command in monitor_commands:  # scan, pii, history, status
    quality.add_command(_command)

commands = [quality]
