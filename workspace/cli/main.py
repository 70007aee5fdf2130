"""The ``workspace`` command line: one group, one module per command family."""

from __future__ import annotations

import sys

import click

from workspace.lake.errors import WorkspaceError


class _Group(click.Group):
    """Shows :class:`WorkspaceError` as one clear line instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except WorkspaceError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            sys.exit(2)


@click.group(cls=_Group)
@click.version_option(package_name="analytics-workspace")
def cli() -> None:
    """Analytics Workspace: the lakehouse, SQL and demo data from the command line.

    The workspace location comes from WORKSPACE_HOME (default ~/analytics-workspace).
    """


def _register() -> None:
    from workspace.cli import (
        access,
        audit,
        classify,
        costs,
        demo,
        health,
        hub,
        jobs,
        lab,
        lake,
        quality,
        reports,
        scheduler,
        sql,
        standards,
        users,
    )

    cli.add_command(sql.sql)
    cli.add_command(demo.demo)
    cli.add_command(lab.lab)
    cli.add_command(scheduler.scheduler)
    cli.add_command(hub.hub)
    cli.add_command(users.users)
    cli.add_command(reports.reports_service)
    for command in [
        *lake.commands,
        *jobs.commands,
        *quality.commands,
        *access.commands,
        *audit.commands,
        *standards.commands,
        *classify.commands,
        *costs.commands,
        *health.commands,
    ]:
        cli.add_command(command)


_register()


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="workspace")


if __name__ == "__main__":
    main()
