"""``workspace reports-service``: the reports service, as the hub runs it.

The hub starts it with ``JUPYTERHUB_SERVICE_URL`` (where to listen), ``JUPYTERHUB_SERVICE_PREFIX``
(``/services/reports/``), ``JUPYTERHUB_API_TOKEN`` and the OAuth client settings in its
environment; ``WORKSPACE_HOME`` and ``WORKSPACE_SCHEDULED`` say where the run store and the
pipelines are.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from urllib.parse import urlparse

import click
from tornado.httpserver import HTTPServer
from tornado.web import Application

from workspace.cli.jobs_common import scheduled_option
from workspace.lake.settings import Settings


@click.command("reports-service")
@scheduled_option
@click.option(
    "--url",
    envvar="JUPYTERHUB_SERVICE_URL",
    default="http://127.0.0.1:8791",
    show_default=True,
    help="Where to listen (env JUPYTERHUB_SERVICE_URL, set by the hub).",
)
def reports_service(scheduled: Path, url: str) -> None:
    """Serve pipeline reports to the people each pipeline is shared with (a hub service:
    identity and scopes come from hub OAuth on every request)."""
    from workspace.reports.service import make_app

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if "JUPYTERHUB_API_TOKEN" not in os.environ:
        raise click.ClickException(
            "reports-service runs as a JupyterHub service: start it from the hub "
            "(c.JupyterHub.services), which sets JUPYTERHUB_API_TOKEN and the OAuth settings"
        )
    os.umask(0o077)  # whatever it writes (caches, logs) is the service's alone
    bind = urlparse(url)
    settings = Settings.resolve()
    app = make_app(settings, scheduled)
    click.echo(f"Reports service on {url} (pipelines {scheduled.resolve()}, home {settings.home})")
    asyncio.run(_serve(app, bind.hostname or "127.0.0.1", bind.port or 80))


async def _serve(app: Application, host: str, port: int) -> None:
    server = HTTPServer(app, xheaders=True)
    server.listen(port, host)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    server.stop()


if __name__ == "__main__":
    reports_service()
