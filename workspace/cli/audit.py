"""``workspace audit``: read the audit trail, and ``workspace audit verify`` its hash chain.

The trail lives in ``$WORKSPACE_HOME/audit/`` (0700, root's in the team deployment), so
these commands need root there (or the owner of a single-user workspace home).
"""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta

import click

_RELATIVE = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(value: str | None) -> str | None:
    """``7d``, ``12h``, ``30m`` (ago) or an ISO date/time, as the trail's UTC time text.

    Examples
    --------
    >>> parse_since("2026-01-02")
    '2026-01-02T00:00:00.000000Z'
    >>> parse_since(None) is None
    True
    """
    if value is None:
        return None
    found = _RELATIVE.match(value.strip())
    if found:
        when = datetime.now(UTC) - timedelta(**{_UNITS[found[2]]: int(found[1])})
    else:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise click.BadParameter(
                f"{value!r}: use an ISO date or time (2026-01-02, 2026-01-02T08:00) or an "
                "age such as 30m, 12h, 7d"
            ) from None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@click.group(invoke_without_command=True)
@click.option("--actor", help="Only entries by this user (or service).")
@click.option("--action", help="Only this action: login, login_failed, trigger, promote, ...")
@click.option("--target", help="Only this target, e.g. pipeline:daily_sales (globs: run:*).")
@click.option("--since", help="Only entries since an ISO date/time or an age (30m, 12h, 7d).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON, one list of entries.")
@click.pass_context
def audit(
    ctx: click.Context,
    actor: str | None,
    action: str | None,
    target: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Show the audit trail, newest first: logins, spawns, user changes, pipeline actions,
    report views, commits to shared layers, security alerts.

    Root only in a team deployment (the trail is root's, 0700).
    """
    if ctx.invoked_subcommand is not None:
        return
    from workspace.governance.audit import AuditQuery, trail

    query = AuditQuery(
        actor=actor, action=action, target=target, since=parse_since(since), limit=limit
    )
    events = trail().query(query)
    if as_json:
        click.echo(json.dumps([e.model_dump() for e in events], indent=2))
        return
    if not events:
        click.echo("No audit entries match.", err=True)
        return
    for e in events:
        details = ", ".join(f"{k}={v}" for k, v in e.details.items())
        click.echo(
            f"{e.seq:>7}  {e.time[:19]}Z  {e.actor:<16} {e.action:<16} {e.target}  {details}"
        )


@audit.command("verify")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(as_json: bool) -> None:
    """Recompute the hash chain; exit 1 and name the first broken entry if it was changed,
    removed or reordered."""
    from workspace.governance.audit import trail

    store = trail()
    result = store.verify()
    if as_json:
        click.echo(json.dumps(result.__dict__))
    elif result.ok:
        click.echo(f"Audit trail intact: {result.checked} entries, last {result.last_seq}.")
    else:
        click.secho(
            f"Audit trail broken at entry {result.broken_seq}: {result.reason} "
            f"({result.checked} entries before it are intact; {store.path}).",
            fg="red",
            err=True,
        )
    sys.exit(0 if result.ok else 1)


commands = [audit]
