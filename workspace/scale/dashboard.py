"""A local cluster's dashboard on a private Unix socket, reached through the Lab's proxy.

Dask serves its dashboard over plain HTTP with no authentication: on a shared machine any
account could watch (and read the logs of) another user's cluster. So the scheduler's HTTP
application is moved off TCP onto a Unix socket in the user's Jupyter runtime folder (0700,
socket 0600), and the user's Lab proxies ``/user/NAME/dask/`` to it through
jupyter-server-proxy, behind the Lab's (and the hub's) authentication.

The socket path is one per account (:func:`socket_path`), so the Lab's proxy entry
(:func:`proxy_entry`, registered as the ``jupyter_serverproxy_servers`` entry point ``dask``)
finds the newest cluster of its user.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import LocalCluster

#: Where the Lab serves the dashboard, relative to the server's base URL.
PROXY_PREFIX = "dask"


def socket_path() -> Path:
    """This account's dashboard socket: ``<jupyter runtime dir>/workspace-dask.sock``.

    Examples
    --------
    >>> socket_path().name
    'workspace-dask.sock'
    """
    from jupyter_core.paths import jupyter_runtime_dir

    return Path(jupyter_runtime_dir()) / "workspace-dask.sock"


def serve_private(local: LocalCluster) -> str | None:
    """Serve ``local``'s dashboard only on :func:`socket_path`; return the Lab URL path.

    Returns ``None`` when the cluster has no dashboard. The TCP listener Dask opened is
    closed first, so the dashboard is reachable in no other way.
    """
    scheduler = getattr(local, "scheduler", None)
    if scheduler is None or getattr(scheduler, "http_server", None) is None:
        return None
    path = socket_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)

    async def _move() -> None:
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_unix_socket

        scheduler.http_server.stop()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        server = HTTPServer(scheduler.http_application)
        server.add_socket(bind_unix_socket(str(path), mode=0o600))
        scheduler.http_server = server

    local.sync(_move)
    import dask  # here, not at import: every Lab loads proxy_entry at start

    base = os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    link = f"{base.rstrip('/')}/{PROXY_PREFIX}/status"
    # the Client's and cluster's widgets show this link instead of the closed TCP port
    dask.config.set({"distributed.dashboard.link": link})
    return link


def proxy_entry() -> dict[str, Any]:
    """The jupyter-server-proxy entry that maps ``/dask/`` to this account's socket."""
    return {
        "command": [],
        "unix_socket": str(socket_path()),
        "absolute_url": False,
        "launcher_entry": {"enabled": False},
        "new_browser_tab": True,
    }
