"""``workspace jobs approve|share|unshare|owner``: review, sharing and ownership of pipelines.

Behind the hub (``WORKSPACE_SCHEDULER_URL`` and ``JUPYTERHUB_API_TOKEN`` set, e.g. in a Lab
terminal) every command goes through the scheduler service as the hub user, which checks
who may do what (approve: engineers and admins; share, unshare, owner: the owner, engineers
and admins). Without them the same routes run in this process on the local run store, as
the operator's OS user (who can open it): :mod:`workspace.cli.jobs_client`.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from workspace.cli.jobs_client import JobsClient, jobs_client


def _client(ctx: click.Context) -> AbstractContextManager[JobsClient]:
    return jobs_client(Path(ctx.obj["scheduled"]))


def _audience_text(p: dict[str, Any]) -> str:
    audience = p.get("audience") or {}
    parts = [f"group {g}" for g in audience.get("groups", [])]
    parts += [f"user {u}" for u in audience.get("users", [])]
    return ", ".join(parts) or "private (owner, engineers and admins)"


def _change_audience(
    ctx: click.Context,
    name: str,
    add: tuple[tuple[str, ...], tuple[str, ...]] = ((), ()),
    remove: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
) -> None:
    """Add groups/users to the audience, remove some (``remove``), or all (``remove=None``
    with nothing to add)."""
    with _client(ctx) as client:
        current = client.call("pipeline", name=name, query={"n": 1}).get("audience") or {}
        groups, users = list(current.get("groups", [])), list(current.get("users", []))
        if remove is None and not any(add):
            groups, users = [], []
        if remove is not None:
            groups = [g for g in groups if g not in remove[0]]
            users = [u for u in users if u not in remove[1]]
        body = {"groups": [*groups, *add[0]], "users": [*users, *add[1]]}
        summary = client.call("audience", name=name, body=body)
    click.echo(f"{name}: reports readable by {_audience_text(summary)}")


@click.command()
@click.argument("name")
@click.pass_context
def approve(ctx: click.Context, name: str) -> None:
    """Approve pipeline NAME, pending review since its promotion: its schedule starts.

    Engineers and admins only (behind the hub). Recorded with who and when.
    """
    with _client(ctx) as client:
        summary = client.call("approve", name=name)
    click.echo(f"{name}: approved by {summary.get('approved_by')}; its schedule is enabled")


@click.command()
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="A hub group (repeatable).")
@click.option("--user", "users", multiple=True, help="A hub user (repeatable).")
@click.pass_context
def share(ctx: click.Context, name: str, groups: tuple[str, ...], users: tuple[str, ...]) -> None:
    """Share the reports of pipeline NAME with hub groups and users (added to its audience).

    \b
    Example:
      workspace jobs share daily_sales --group stakeholders --user carol
    """
    if not groups and not users:
        raise click.UsageError("Give at least one --group or --user to share with.")
    _change_audience(ctx, name, add=(groups, users), remove=((), ()))


@click.command()
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="Stop sharing with this group.")
@click.option("--user", "users", multiple=True, help="Stop sharing with this user.")
@click.pass_context
def unshare(ctx: click.Context, name: str, groups: tuple[str, ...], users: tuple[str, ...]) -> None:
    """Stop sharing pipeline NAME's reports (with the given groups/users, or with everyone)."""
    _change_audience(ctx, name, remove=(groups, users) if groups or users else None)


@click.command()
@click.argument("name")
@click.argument("new_owner")
@click.option("--reason", default="", help="Why (kept in the pipeline's history).")
@click.pass_context
def owner(ctx: click.Context, name: str, new_owner: str, reason: str) -> None:
    """Hand pipeline NAME over to NEW_OWNER (the owner, engineers and admins may)."""
    with _client(ctx) as client:
        body = {"owner": new_owner, "reason": reason}
        summary = client.call("owner", name=name, body=body)
    click.echo(f"{name}: owner is now {summary.get('owner')}")


def print_pipelines(
    pipelines: list[dict[str, Any]], as_json: bool, *, empty: str = "No pipelines."
) -> None:
    """Print ``workspace jobs list``: the service's pipeline summaries (``GET pipelines``).

    JSON: ``{"pipelines": [...valid...], "invalid": {name: first line of its error}}``, the
    same locally and through the hub's scheduler service.
    """
    from workspace.cli.jobs_common import dump

    valid = [p for p in pipelines if not p.get("error")]
    invalid = {p["name"]: p["error"].splitlines()[0] for p in pipelines if p.get("error")}
    if as_json:
        click.echo(dump({"pipelines": valid, "invalid": invalid}))
        return
    if not pipelines:
        click.echo(empty)
    for p in valid:
        state = _state(p)
        schedule = p.get("schedule") or {}
        when = f"{schedule['cron']} {schedule['timezone']}" if schedule else "manual"
        if p.get("after"):
            when += f" + after {','.join(p['after'])}"
        last = p.get("last_run_state")
        last_txt = f"last: {last} {p.get('last_run_id')}" if last else "never run"
        click.echo(f"{p['name']:<28} {state:<9} {when:<32} {p.get('owner') or '-':<14} {last_txt}")
    for name, error in invalid.items():
        click.secho(f"{name:<28} invalid   {error}", fg="red")


def _state(p: dict[str, Any]) -> str:
    if p.get("approval") == "pending":
        return "pending"
    if p.get("paused"):
        return "paused"
    return "enabled" if p.get("enabled", True) else "disabled"


commands: list[click.Command] = [approve, share, unshare, owner]

__all__ = ["approve", "commands", "owner", "print_pipelines", "share", "unshare"]
