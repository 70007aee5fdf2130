"""``workspace lab``: start JupyterLab on the workspace with the "Python (workspace)" kernel."""

from __future__ import annotations

import os
import secrets
import socket
import sys

import click


def free_port(host: str, start: int, tries: int = 50) -> int:
    """The first port from ``start`` on which nothing listens on ``host``."""
    for port in range(start, start + tries):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    raise click.ClickException(f"no free port between {start} and {start + tries - 1} on {host}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=8888,
    show_default=True,
    type=int,
    help="First port to try; the next free one is used when it is taken.",
)
@click.option(
    "--token",
    envvar="WORKSPACE_TOKEN",
    default=None,
    help="Login token (default: a new random one; env WORKSPACE_TOKEN).",
)
def lab(host: str, port: int, token: str | None) -> None:
    """Start JupyterLab on $WORKSPACE_HOME/notebooks and print the URL to open."""
    from workspace.lake.settings import Settings

    settings = Settings.resolve()
    root = settings.home / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    token = token or secrets.token_hex(16)
    port = free_port(host, port)
    default = "/lab/tree/tour/01-ibis-tour.ipynb" if (root / "tour").exists() else "/lab"
    url = f"http://{host}:{port}{default}?token={token}"
    banner = [
        "",
        "  Analytics Workspace is starting.",
        f"  Open:  {url}",
        f"  (log in with the token {token} if asked; stop with Ctrl-C)",
        f"  Workspace home: {settings.home}",
        "",
    ]
    click.secho("\n".join(banner), fg="green", bold=True)
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.ip={host}",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.open_browser=False",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={token}",
        "--MappingKernelManager.default_kernel_name=workspace",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.default_url={default}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    env = {**os.environ, **settings.env()}
    os.execve(sys.executable, args, env)
