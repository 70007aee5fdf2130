"""``workspace lab``: start JupyterLab on the workspace with the "Python (workspace)" kernel."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from workspace.cli.jobs_common import scheduled_option
from workspace.hub.singleuser import lab_server_args


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
@scheduled_option
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run the pipeline scheduler, so scheduled and triggered runs execute.",
)
def lab(host: str, port: int, token: str | None, scheduled: Path, scheduler: bool) -> None:
    """Start JupyterLab on $WORKSPACE_HOME/notebooks (and the scheduler) and print the URL.

    The Lab has the catalog browser, the pipelines panel and "Schedule this notebook";
    pipelines live in ``--scheduled`` (default ./scheduled). Ctrl-C stops both processes.
    """
    from workspace.lake.settings import Settings

    settings = Settings.resolve()
    root = settings.home / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    scheduled = scheduled.resolve()
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
        f"  Pipelines:      {scheduled}"
        + ("  (scheduler running)" if scheduler else "  (scheduler off)"),
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
        # the REST API of the catalog and pipelines panels (also enabled by the installed
        # jupyter_server_config.d/workspace.json; explicit here so JUPYTER_NO_CONFIG works)
        "--ServerApp.jpserver_extensions",
        "workspace.server=True",
        # the workspace kernel only; `workspace` on the terminals' PATH
        *lab_server_args(),
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.default_url={default}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    env = {**os.environ, **settings.env(), "WORKSPACE_SCHEDULED": str(scheduled)}
    if not scheduler:
        os.execve(sys.executable, args, env)
    sched_cmd = [sys.executable, "-m", "workspace.cli.main", "scheduler", "--no-api"]
    sched_cmd += ["--scheduled", str(scheduled)]
    children = [
        subprocess.Popen(sched_cmd, env=env),
        subprocess.Popen(args, env=env),
    ]
    _supervise(children)


def _supervise(children: list[subprocess.Popen[bytes]]) -> None:
    """Wait until one child exits or we are told to stop, then stop the others."""
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop and all(c.poll() is None for c in children):
            time.sleep(0.3)
    except KeyboardInterrupt:
        pass
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGINT if child is children[-1] else signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    failed = [c for c in children if c.returncode not in (0, -signal.SIGINT, -signal.SIGTERM)]
    if failed and not stop:
        raise SystemExit(failed[0].returncode or 1)
