"""``workspace scheduler``: the pipeline scheduler service and its HTTP API.

Standalone, the API is protected by one shared token. With ``--hub`` it runs as a
JupyterHub-managed service (``c.JupyterHub.services``): it listens on the host and port of
``JUPYTERHUB_SERVICE_URL`` under ``JUPYTERHUB_SERVICE_PREFIX`` and authenticates every
request through the hub (:class:`workspace.hub.hub_auth.HubServiceAuth`).

Jobs run under this process, never inside a user's Lab server: a run keeps going when its
owner's server is stopped or culled. Notebooks execute as the OS user of the scheduler
process (the hub's user, root in the team deployment, since the hub starts its services as
itself), with the ``WORKSPACE_*`` settings of the process's environment; a hub-managed
service only gets the variables listed in its ``environment`` (JupyterHub does not pass its
own environment on), so the hub config must list ``WORKSPACE_HOME``, ``WORKSPACE_CATALOG``,
``WORKSPACE_DATA_PATH`` (and ``WORKSPACE_SCHEDULED``, ``WORKSPACE_DASK_SCHEDULER`` if used).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import click

from workspace.cli.jobs_common import scheduled_option
from workspace.jobs.execution.executors import DEFAULT_EXECUTOR
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.hub.hub_auth import HubServiceAuth


@click.command()
@scheduled_option
@click.option(
    "--executor",
    default=DEFAULT_EXECUTOR,
    show_default=True,
    help="Where notebooks run: dask (the cluster at WORKSPACE_DASK_SCHEDULER, else a local "
    "cluster of process workers), subprocess (a fresh process per attempt), or "
    "package.module:Class.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="API interface.")
@click.option(
    "--port", default=8790, show_default=True, type=int, help="API port (0: any free port)."
)
@click.option("--no-api", is_flag=True, help="Run the loop without the HTTP API.")
@click.option(
    "--token",
    envvar="WORKSPACE_SCHEDULER_TOKEN",
    default=None,
    help="API token (env WORKSPACE_SCHEDULER_TOKEN; default: a new random one, printed).",
)
@click.option("--poll", default=0.2, show_default=True, type=float, help="Loop interval, s.")
@click.option(
    "--hub",
    is_flag=True,
    help="Run as a JupyterHub service: listen on JUPYTERHUB_SERVICE_URL under "
    "JUPYTERHUB_SERVICE_PREFIX and authenticate every request through the hub's OAuth "
    "(ignores --host, --port and --token).",
)
def scheduler(
    scheduled: Path,
    executor: str,
    host: str,
    port: int,
    no_api: bool,
    token: str | None,
    poll: float,
    hub: bool,
) -> None:
    """Run the scheduler: fire due ticks, trigger `after` pipelines, dispatch tasks, retry,
    recover orphaned attempts, alert; and serve the JSON API (see hub/jobs_openapi.yaml).

    Notebooks run as this process's OS user, independent of any user's Lab server. Stop it
    with Ctrl-C (or SIGTERM): running attempts are cancelled and queued again for the next
    start.
    """
    from workspace.jobs.scheduler.loop import Scheduler

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not scheduled.is_dir():
        raise click.ClickException(
            f"{scheduled} is not a folder of pipelines; pass --scheduled PATH or set "
            "WORKSPACE_SCHEDULED"
        )
    # Runs, attempts, reports and logs are private to the service: users read them only
    # through the API, which checks ownership.
    os.umask(0o077)
    settings = Settings.resolve()
    _prepare_runner(settings)
    hub_auth = _hub_auth() if hub and not no_api else None
    base_url = "/"
    if hub_auth is not None:
        host, port, base_url = _hub_address()
    _record_owners(settings, scheduled)
    service = Scheduler(settings, scheduled, executor_name=executor, poll_interval=poll)
    stop = threading.Event()
    loop_thread = threading.Thread(
        target=service.run_forever, kwargs={"stop_event": stop}, name="scheduler", daemon=True
    )
    loop_thread.start()
    from workspace.jobs.alerts.security import SecurityAlertForwarder  # audit -> sinks

    SecurityAlertForwarder(settings, service.paths.alerts_file).start(stop)
    from workspace.jobs.access_upkeep import AccessUpkeep  # grants expire on time

    AccessUpkeep(settings, service.paths.alerts_file).start(stop)
    from workspace.governance.read_watch import ReadWatch  # who opens protected tables' files

    ReadWatch(settings).start(stop)
    click.echo(f"Scheduler running on {scheduled.resolve()} (home {settings.home}).")
    try:
        if no_api:
            _wait_for_signal(stop)
        else:
            asyncio.run(
                _serve_api(settings, scheduled, host, port, token, stop, hub_auth, base_url)
            )
    finally:
        stop.set()
        loop_thread.join(timeout=60)
        click.echo("Scheduler stopped.")


def _prepare_runner(settings: Settings) -> None:
    """With a runner account (``WORKSPACE_RUNNER_USER``), give it the shared lake."""
    from workspace.jobs.execution.isolation import prepare_lake, runner_account
    from workspace.lake.errors import ConfigurationError

    try:
        runner = runner_account()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    if runner is None:
        if os.geteuid() == 0:
            click.secho(
                "Warning: pipeline code runs as root. Set WORKSPACE_RUNNER_USER to an "
                "unprivileged account (the team deployment's `workspace hub` uses ws-runner).",
                fg="yellow",
                err=True,
            )
        return
    if os.geteuid() == 0:
        changed = prepare_lake(settings, runner)
        if changed:
            click.echo(f"Gave the shared lake to {runner.name} ({changed} entries).")
    click.echo(f"Pipeline code runs as {runner.name}.")


def _hub_auth() -> HubServiceAuth:
    from workspace.hub.hub_auth import HubServiceAuth
    from workspace.lake.errors import ConfigurationError

    try:
        return HubServiceAuth()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def _hub_address() -> tuple[str, int, str]:
    """(host, port, prefix) of the hub service from ``JUPYTERHUB_SERVICE_URL`` and
    ``JUPYTERHUB_SERVICE_PREFIX``."""
    url = os.environ.get("JUPYTERHUB_SERVICE_URL", "")
    parsed = urlparse(url)
    if not parsed.hostname or not parsed.port:
        raise click.ClickException(
            f"--hub needs JUPYTERHUB_SERVICE_URL with a host and port (got {url!r}); give the "
            "service a 'url' in c.JupyterHub.services."
        )
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/scheduler/"
    return parsed.hostname, parsed.port, prefix.rstrip("/") + "/"


def _record_owners(settings: Settings, scheduled: Path) -> None:
    """Register the pipelines with their ``owner:`` so that scheduled runs carry it."""
    from workspace.api.service import JobsService

    service = JobsService(settings, scheduled)
    try:
        service.sync_owners()
    finally:
        service.store.close()


def _wait_for_signal(stop: threading.Event) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass


async def _serve_api(
    settings: Settings,
    scheduled: Path,
    host: str,
    port: int,
    token: str | None,
    stop: threading.Event,
    hub_auth: HubServiceAuth | None = None,
    base_url: str = "/",
) -> None:
    from workspace.hub.jobs_api import serve

    if hub_auth is not None:
        served = serve(settings, scheduled, auth=hub_auth, base_url=base_url, host=host, port=port)
        click.echo(f"API (hub service): http://{host}:{served.port}{base_url}api/jobs/pipelines")
    else:
        token = token or secrets.token_hex(16)
        served = serve(settings, scheduled, token=token, host=host, port=port)
        click.echo(f"API: http://{host}:{served.port}/api/jobs/pipelines  (token {token})")
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    while not done.is_set() and not stop.is_set():
        try:
            await asyncio.wait_for(done.wait(), timeout=0.5)
        except TimeoutError:
            continue
    served.server.stop()
