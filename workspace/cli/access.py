"""``workspace access``: ask for, decide, grant, revoke and list access to protected tables.

In a Lab terminal behind the hub every command is a route of the scheduler service
(:mod:`workspace.api.access_routes`), called as the hub user; elsewhere (root's shell, a
single-user install) the same calls run in this process, as an admin.
Design notes: docs/governance.md, "Module notes".

Examples
--------
::

    workspace access request silver.customers --reason "churn study" --days 14
    workspace access approve 3
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import click

from workspace.cli.jobs_remote import SchedulerClient
from workspace.lake.errors import WorkspaceError


@dataclass
class _Local:
    """What a route call reads from its service here: the workspace's settings."""

    settings: Any


def call(route: str, /, *, query: dict[str, Any] | None = None, body: Any = None,
         **args: Any) -> dict[str, Any]:  # fmt: skip
    """The JSON answer of an access route: through the scheduler service behind the hub,
    else run here for this OS account (an admin of a workspace it may open)."""
    remote = SchedulerClient.from_env()
    if remote is not None:
        from workspace.cli.jobs_client import RemoteJobs

        return RemoteJobs(remote).call(route, query=query, body=body, **args)
    from pydantic import ValidationError

    from workspace.api.authz import LocalUser
    from workspace.api.routes import ROUTES_BY_NAME, Call
    from workspace.governance.audit import os_actor
    from workspace.lake.settings import Settings

    r = ROUTES_BY_NAME[route]
    try:
        q = r.query.model_validate(query or {}) if r.query is not None else None
        b = r.body.model_validate(body or {}) if r.body is not None else None
    except ValidationError as exc:
        from workspace.api.errors import validation_body

        raise WorkspaceError(validation_body(exc).error) from None
    service = cast(Any, _Local(Settings.resolve()))
    result = r.call(Call(service, LocalUser(os_actor()), {k: str(v) for k, v in args.items()},
                         query=q, body=b))  # fmt: skip
    answer: dict[str, Any] = json.loads(result.model_dump_json())
    return answer


def _day(value: str | None) -> str:
    return (value or "")[:16].replace("T", " ")


def _echo_grant(g: dict[str, Any]) -> None:
    what = g["target"].removeprefix("table:")
    tables = ", ".join(g.get("tables") or []) or "no table yet"
    if what.startswith("tier:"):
        what = f"{what} ({tables})"
    ended = f", {g['ended']} {_day(g.get('revoked_at'))}" if g.get("ended") else ""
    used = _day(g.get("last_used")) or "never seen"
    via = f"request {g['request_id']}" if g.get("request_id") else "direct grant"
    if g.get("rows"):
        what = f"{what} [rows: {g['rows']}]"
    if g.get("members") is not None:
        via += f"; reaches {', '.join(g['members']) or 'no member yet'}"
    click.echo(
        f"{g['user']:<16} {what:<28} until {_day(g['expires_at'])}  by {g['granted_by']} "
        f"({via}{ended}); last used: {used}"
    )


@click.group("access")
def access() -> None:
    """Access to protected tables: request, approve, deny, grant, revoke, list."""


@access.command("request")
@click.argument("target", metavar="TABLE_OR_TIER")
@click.option("--reason", required=True, help="Why you need it (the approvers read it).")
@click.option("--days", default=30, show_default=True, type=int, help="How long, 1-365.")
@click.option(
    "--rows",
    default=None,
    metavar="CONDITION",
    help="Only the rows this condition keeps, e.g. \"region = 'EUROPE'\".",
)
@click.option("--json", "as_json", is_flag=True, help="Print the request as JSON.")
def request_cmd(target: str, reason: str, days: int, rows: str | None, as_json: bool) -> None:
    """Ask for read access to a protected table (layer.table) or a whole tier."""
    body = {"target": target, "reason": reason, "days": days, "rows": rows}
    req = call("access_request", body=body)
    if as_json:
        click.echo(json.dumps(req, indent=2))
        return
    click.echo(
        f"Request {req['id']}: {req['user']} asks for {req['target'].removeprefix('table:')} "
        f"for {req['days']} days (pending). The approvers were notified; "
        f"`workspace access requests` shows its state."
    )


@access.command("approve")
@click.argument("request_id", type=int)
def approve_cmd(request_id: int) -> None:
    """Approve a pending request: the user can read the data at once."""
    g = call("access_approve", request_id=request_id)
    click.echo(
        f"Approved request {request_id}: {g['user']} reads "
        f"{', '.join(g['tables']) or g['target']} until {_day(g['expires_at'])} UTC."
    )


@access.command("deny")
@click.argument("request_id", type=int)
@click.option("--note", default=None, help="Why (shown to the requester).")
def deny_cmd(request_id: int, note: str | None) -> None:
    """Deny a pending request (or withdraw your own)."""
    r = call("access_deny", request_id=request_id, body={"note": note})
    click.echo(f"Request {request_id} denied by {r['decided_by']}.")


@access.command("grant")
@click.argument("user", metavar="USER_OR_GROUP")
@click.argument("target", metavar="TABLE_OR_TIER")
@click.option("--days", default=30, show_default=True, type=int, help="How long, 1-365.")
@click.option(
    "--rows",
    default=None,
    metavar="CONDITION",
    help="Only the rows this condition keeps, e.g. \"region = 'EUROPE'\".",
)
def grant_cmd(user: str, target: str, days: int, rows: str | None) -> None:
    """Grant USER read access without a request (owners, legal, admins).

    USER may be group:NAME, a hub group: every member reads it, members who join later too,
    and a member who leaves the group loses it.
    """
    body = {"user": user, "target": target, "days": days, "rows": rows}
    g = call("access_grant", body=body)
    members = "" if g.get("members") is None else f" ({', '.join(g['members']) or 'no member yet'})"
    click.echo(
        f"Granted {user}{members} {', '.join(g['tables']) or g['target']} until "
        f"{_day(g['expires_at'])} UTC."
    )


@access.command("revoke")
@click.argument("user", metavar="USER_OR_GROUP")
@click.argument("target", metavar="TABLE_OR_TIER")
def revoke_cmd(user: str, target: str) -> None:
    """Take USER's (or group:NAME's) access to a table or tier away now."""
    call("access_revoke", query={"user": user, "target": target})
    click.echo(f"Revoked {user}'s access to {target}; their next open of its files fails.")


@access.command("list")
@click.option(
    "--user", default=None, help="Only this user's grants (their group's too), or group:NAME's."
)
@click.option("--table", default=None, help="Only grants covering this table.")
@click.option("--ended", is_flag=True, help="Include revoked and expired grants.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cmd(user: str | None, table: str | None, ended: bool, as_json: bool) -> None:
    """Who has access to what, until when, and who granted it."""
    query = {"user": user, "table": table, "ended": ended or None}
    grants = call("access_grants", query={k: v for k, v in query.items() if v is not None})
    if as_json:
        click.echo(json.dumps(grants["grants"], indent=2))
        return
    if not grants["grants"]:
        click.echo("No grants.")
    for g in grants["grants"]:
        _echo_grant(g)


@access.command("requests")
@click.option(
    "--status",
    default="pending",
    show_default=True,
    type=click.Choice(["pending", "approved", "denied", "all"]),
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def requests_cmd(status: str, as_json: bool) -> None:
    """Access requests you made or may decide."""
    found = call("access_requests", query={"status": status})["requests"]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo(f"No {status} requests." if status != "all" else "No requests.")
    for r in found:
        mark = " (you may decide)" if r.get("can_decide") else ""
        click.echo(
            f"{r['id']:>4}  {r['user']:<16} {r['target'].removeprefix('table:'):<28} "
            f"{r['days']:>3} days  {r['status']}{mark}: {r['reason']}"
        )


commands = [access]
