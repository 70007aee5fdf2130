"""``workspace users add|list|remove``: the team deployment's accounts.

Each user gets an OS account (PAM checks the password; the hub runs their server as that
account) and an entry in ``$WORKSPACE_HOME/hub/users.yaml`` (group, admin). A running hub
is updated through its REST API, so no restart is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from workspace.api.auth import GROUPS


@click.group()
def users() -> None:
    """Add, list and remove the people who log in to the hub (needs root)."""


@users.command("add")
@click.argument("name")
@click.option(
    "--group", "-g", required=True, type=click.Choice(GROUPS), help="The user's hub group."
)
@click.option("--admin", is_flag=True, help="Make the user a hub admin.")
@click.option(
    "--password",
    default=None,
    help="Initial password (default: a strong random one for a new account, printed once).",
)
def add(name: str, group: str, admin: bool, password: str | None) -> None:
    """Create NAME's OS account and register it in GROUP.

    Running it again for an existing user changes the group or admin flag (and the password
    when --password is given).
    """
    from workspace.hub.users import add_user

    result = add_user(name, group, admin=admin, password=password)
    what = "created" if result.created_os_account else "updated"
    role = f"{group}{', admin' if admin else ''}"
    click.echo(f"User {name} {what} ({role}).")
    if result.generated:
        click.echo(f"Initial password: {result.password}")
    elif result.password is not None:
        click.echo("Password set.")
    if result.hub_synced:
        click.echo("The running hub was updated.")
    else:
        click.echo("The hub picks the change up when it starts (`workspace hub`).")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(as_json: bool) -> None:
    """List the registered users: group, admin flag, whether the OS account exists."""
    from workspace.hub.users import list_users

    rows = list_users()
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    if not rows:
        click.echo("No users yet: add one with `workspace users add NAME --group analysts`.")
        return
    width = max(4, *(len(r.name) for r in rows))
    click.echo(f"{'NAME':<{width}}  {'GROUP':<12}  {'ADMIN':<5}  OS ACCOUNT")
    for r in rows:
        click.echo(
            f"{r.name:<{width}}  {r.group:<12}  {'yes' if r.admin else 'no':<5}  "
            f"{'yes' if r.os_account else 'MISSING'}"
        )


@users.command("remove")
@click.argument("name")
@click.option("--delete-home", is_flag=True, help="Also delete the user's home directory.")
@click.option(
    "--transfer-to",
    metavar="OTHER",
    default=None,
    help="Make OTHER (a registered user with a Lab) the owner of NAME's pipelines instead "
    "of pausing them.",
)
@click.option(
    "--keep-sandbox",
    is_flag=True,
    help="Keep NAME's sandbox ($WORKSPACE_HOME/sandboxes/NAME), given to root, instead of "
    "deleting it.",
)
@click.option(
    "--scheduled",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="WORKSPACE_SCHEDULED",
    default=None,
    help="Folder of the pipelines (default: env WORKSPACE_SCHEDULED, else the folder the "
    "last `workspace hub` used, else ./scheduled).",
)
def remove(
    name: str,
    delete_home: bool,
    transfer_to: str | None,
    keep_sandbox: bool,
    scheduled: Path | None,
) -> None:
    """Remove NAME: pause (or transfer) their pipelines, delete their sandbox, delete them
    from the hub and the registry, and remove their OS account."""
    from workspace.hub.users import remove_user

    result = remove_user(
        name,
        delete_home=delete_home,
        keep_sandbox=keep_sandbox,
        transfer_to=transfer_to,
        scheduled_root=scheduled.absolute() if scheduled else None,
    )
    lines = [f"User {name} removed:"]
    if result.transferred:
        lines.append(
            f"  pipelines transferred to {result.transfer_to}: {', '.join(result.transferred)}"
        )
    if result.paused:
        lines.append(
            f"  pipelines paused: {', '.join(result.paused)} (resume with "
            "`workspace jobs resume PIPELINE`)"
        )
    if not result.transferred and not result.paused:
        lines.append("  pipelines: none owned")
    if result.sandbox is not None:
        lines.append(f"  sandbox deleted: {result.sandbox}")
    elif keep_sandbox:
        lines.append("  sandbox kept (now owned by root)")
    lines.append("  unregistered from the hub" if result.registered else "  was not registered")
    if result.os_account_removed:
        lines.append("  OS account removed" + (" with its home" if result.home_deleted else ""))
    click.echo("\n".join(lines))
