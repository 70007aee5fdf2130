"""``workspace scheduler``: the pipeline scheduler service and its HTTP API."""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import threading
from pathlib import Path

import click

from workspace.cli.jobs_common import scheduled_option
from workspace.lake.settings import Settings


@click.command()
@scheduled_option
@click.option(
    "--executor",
    default="dask",
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
def scheduler(
    scheduled: Path,
    executor: str,
    host: str,
    port: int,
    no_api: bool,
    token: str | None,
    poll: float,
) -> None:
    """Run the scheduler: fire due ticks, trigger `after` pipelines, dispatch tasks, retry,
    recover orphaned attempts, alert; and serve the JSON API (see hub/jobs_openapi.yaml).

    Stop it with Ctrl-C (or SIGTERM): running attempts are cancelled and queued again for
    the next start.
    """
    from workspace.jobs.scheduler import Scheduler

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not scheduled.is_dir():
        raise click.ClickException(
            f"{scheduled} is not a folder of pipelines; pass --scheduled PATH or set "
            "WORKSPACE_SCHEDULED"
        )
    settings = Settings.resolve()
    service = Scheduler(settings, scheduled, executor_name=executor, poll_interval=poll)
    stop = threading.Event()
    loop_thread = threading.Thread(
        target=service.run_forever, kwargs={"stop_event": stop}, name="scheduler", daemon=True
    )
    loop_thread.start()
    click.echo(f"Scheduler running on {scheduled.resolve()} (home {settings.home}).")
    try:
        if no_api:
            _wait_for_signal(stop)
        else:
            asyncio.run(_serve_api(settings, scheduled, host, port, token, stop))
    finally:
        stop.set()
        loop_thread.join(timeout=60)
        click.echo("Scheduler stopped.")


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
) -> None:
    from workspace.hub.jobs_api import serve

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
