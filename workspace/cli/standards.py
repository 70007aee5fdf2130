"""``workspace standards``: the naming standards of the lake (docs/governance.md).

``workspace standards check [--json] [--baseline FILE] [--write-baseline FILE]`` lists every
violation of the shared layers with a suggested fix; exit code 1 when there is one that the
baseline does not accept (so a team adopts the standards gradually: write a baseline today,
fail only on new violations). ``workspace standards show`` prints the standards in force and
the file they come from. ``--standards FILE`` checks against another file; by default the
file is ``$WORKSPACE_STANDARDS``, else ``$WORKSPACE_SCHEDULED/standards.yaml``, else
``./scheduled/standards.yaml``, else the shipped defaults.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml

from workspace.governance.standards import (
    Standards,
    current_standards,
    load_standards,
    standards_file,
)
from workspace.governance.standards_check import (
    check_lake,
    load_baseline,
    new_violations,
    to_json,
)
from workspace.governance.standards_check import write_baseline as save_baseline

_standards_option = click.option(
    "--standards",
    "standards_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Standards file to apply (default: env WORKSPACE_STANDARDS, else "
    "$WORKSPACE_SCHEDULED/standards.yaml, else ./scheduled/standards.yaml, else the defaults).",
)


def _standards(path: Path | None) -> tuple[Standards, str]:
    if path is not None:
        return load_standards(path), str(path)
    found, _ = standards_file()
    standards = current_standards()
    return standards, str(found) if found.is_file() else "the shipped defaults"


@click.group()
def standards() -> None:
    """Naming standards: rules for schema, table and column names and table metadata."""


@standards.command("check")
@click.option("--json", "as_json", is_flag=True, help='Print {"violations": [...]}.')
@click.option(
    "--baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Accept the violations this file lists; fail only on new ones.",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Save today's violations to this file (for --baseline) and exit 0.",
)
@click.option(
    "--layer",
    "layers",
    multiple=True,
    type=click.Choice(["bronze", "silver", "gold"]),
    help="Check only this layer (repeatable; default: every shared layer).",
)
@_standards_option
def check_command(
    as_json: bool,
    baseline: Path | None,
    write_baseline: Path | None,
    layers: tuple[str, ...],
    standards_path: Path | None,
) -> None:
    """List every violation of the shared lake, each with a suggested fix."""
    import workspace

    rules, source = _standards(standards_path)
    accepted = load_baseline(baseline) if baseline is not None else set()
    with workspace.connect(read_only=True) as ws:
        found = check_lake(ws, rules, layers=layers or ("bronze", "silver", "gold"))
    new = new_violations(found, accepted)
    if write_baseline is not None:
        save_baseline(write_baseline, found)
        if not as_json:
            click.echo(f"Wrote {len(found)} accepted violations to {write_baseline}.", err=True)
    if as_json:
        data: dict[str, object] = dict(to_json(new))
        if baseline is not None:
            data["accepted"] = len(found) - len(new)
        click.echo(json.dumps(data, indent=2))
    else:
        for v in new:
            click.echo(v.message)
        known = f", {len(found) - len(new)} accepted by {baseline}" if baseline else ""
        click.echo(
            f"{len(new)} violation{'s' if len(new) != 1 else ''}{known} (standards: {source}).",
            err=True,
        )
    if new and write_baseline is None:
        sys.exit(1)


@standards.command("show")
@_standards_option
def show_command(standards_path: Path | None) -> None:
    """Print the standards in force (the file merged onto the defaults) and their source."""
    rules, source = _standards(standards_path)
    click.echo(f"# standards in force, from {source}")
    data = _pruned(rules.model_dump(by_alias=True, exclude_none=True))
    click.echo(yaml.safe_dump(data, sort_keys=False))


def _pruned(value: object) -> object:
    """``value`` without empty mappings (a layer's unset name rules)."""
    if not isinstance(value, dict):
        return value
    return {k: _pruned(v) for k, v in value.items() if v != {}}


commands = [standards]
