"""``workspace jobs approve|share|unshare|owner``: review, sharing and ownership of pipelines.

Behind the hub (``WORKSPACE_SCHEDULER_URL`` and ``JUPYTERHUB_API_TOKEN`` set, e.g. in a Lab
terminal) every command goes through the scheduler service as the hub user, which checks
who may do what (approve: engineers and admins; share, unshare, owner: the owner, engineers
and admins). Without them they change the local run store directly, as the operator's OS
user (who can open it).
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click

from workspace.cli.jobs_remote import SchedulerClient


def _local_service(ctx: click.Context) -> Any:
    from workspace.api.service import JobsService
    from workspace.lake.settings import Settings

    return JobsService(Settings.resolve(), Path(ctx.obj["scheduled"]))


def _audience_text(p: dict[str, Any]) -> str:
    audience = p.get("audience") or {}
    parts = [f"group {g}" for g in audience.get("groups", [])]
    parts += [f"user {u}" for u in audience.get("users", [])]
    return ", ".join(parts) or "private (owner, engineers and admins)"


def _current_audience(ctx: click.Context, client: SchedulerClient | None, name: str) -> Any:
    if client is not None:
        return client.call("GET", f"pipelines/{name}?n=1").get("audience") or {}
    service = _local_service(ctx)
    try:
        gov = service.governance(name)
    finally:
        service.store.close()
    return gov.audience.model_dump() if gov.audience else {}


def _set_audience(ctx: click.Context, name: str, groups: list[str], users: list[str]) -> None:
    from workspace.api.models import AudienceRequest

    request = AudienceRequest(groups=groups, users=users)
    client = SchedulerClient.from_env()
    if client is not None:
        summary = client.call("PUT", f"pipelines/{name}/audience", request.model_dump())
    else:
        service = _local_service(ctx)
        try:
            done = service.set_audience(name, request.audience(), by=getpass.getuser())
        finally:
            service.store.close()
        summary = done.model_dump(mode="json")
    click.echo(f"{name}: reports readable by {_audience_text(summary)}")


@click.command()
@click.argument("name")
@click.pass_context
def approve(ctx: click.Context, name: str) -> None:
    """Approve pipeline NAME, pending review since its promotion: its schedule starts.

    Engineers and admins only (behind the hub). Recorded with who and when.
    """
    client = SchedulerClient.from_env()
    if client is not None:
        summary = client.call("POST", f"pipelines/{name}/approve")
    else:
        service = _local_service(ctx)
        try:
            summary = service.approve(name, by=getpass.getuser()).model_dump(mode="json")
        finally:
            service.store.close()
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
    client = SchedulerClient.from_env()
    current = _current_audience(ctx, client, name)
    _set_audience(
        ctx,
        name,
        [*current.get("groups", []), *groups],
        [*current.get("users", []), *users],
    )


@click.command()
@click.argument("name")
@click.option("--group", "groups", multiple=True, help="Stop sharing with this group.")
@click.option("--user", "users", multiple=True, help="Stop sharing with this user.")
@click.pass_context
def unshare(ctx: click.Context, name: str, groups: tuple[str, ...], users: tuple[str, ...]) -> None:
    """Stop sharing pipeline NAME's reports (with the given groups/users, or with everyone)."""
    client = SchedulerClient.from_env()
    if not groups and not users:
        _set_audience(ctx, name, [], [])
        return
    current = _current_audience(ctx, client, name)
    _set_audience(
        ctx,
        name,
        [g for g in current.get("groups", []) if g not in groups],
        [u for u in current.get("users", []) if u not in users],
    )


@click.command()
@click.argument("name")
@click.argument("new_owner")
@click.option("--reason", default="", help="Why (kept in the pipeline's history).")
@click.pass_context
def owner(ctx: click.Context, name: str, new_owner: str, reason: str) -> None:
    """Hand pipeline NAME over to NEW_OWNER (the owner, engineers and admins may)."""
    client = SchedulerClient.from_env()
    if client is not None:
        body = {"owner": new_owner, "reason": reason}
        summary = client.call("POST", f"pipelines/{name}/owner", body)
    else:
        service = _local_service(ctx)
        try:
            done = service.transfer_owner(name, new_owner, by=getpass.getuser(), reason=reason)
        finally:
            service.store.close()
        summary = done.model_dump(mode="json")
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
