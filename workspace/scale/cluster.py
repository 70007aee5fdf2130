"""Getting a Dask cluster: the configured scheduler, or a ``LocalCluster`` on this machine."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from workspace.lake.errors import ConfigurationError, WorkspaceError
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

log = logging.getLogger(__name__)


class ClusterUnavailableError(WorkspaceError):
    """The configured Dask scheduler could not be reached."""


@dataclass
class _Active:
    key: tuple[str, tuple[tuple[str, str], ...]]
    client: Client
    cluster: LocalCluster | None
    dashboard: str | None = None


_active: _Active | None = None

#: The scheduler's and workers' own HTTP endpoints (info pages, logs, metrics, proxy) answer
#: anyone on the machine: a local cluster serves none of them. Its dashboard, if any, is
#: moved to a private socket by :func:`_private_dashboard`.
_PRIVATE_HTTP: dict[str, list[str]] = {
    "distributed.scheduler.http.routes": [],
    "distributed.worker.http.routes": [],
}


def _private_dashboard(local: LocalCluster) -> str | None:
    from workspace.scale.dashboard import serve_private

    return serve_private(local)


def cluster(
    *,
    address: str | None = None,
    settings: Settings | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    timeout: float = 10.0,
    quiet: bool = False,
    dashboard: bool = True,
    **cluster_kwargs: Any,
) -> Client:
    """A ``distributed.Client`` for the workspace, started or reused within this process.

    With a scheduler address (``address=``, else ``$WORKSPACE_DASK_SCHEDULER``) the client
    connects to it. Otherwise a ``LocalCluster`` of process workers on 127.0.0.1 is started
    (one single-threaded worker per core, the memory split between them) and reused by later
    calls while it is alive and the settings are the same. Its workers get the workspace
    environment (:meth:`Settings.env`), so code running on them can call
    ``workspace.connect()``.

    A local cluster is private to the process that started it: scheduler, workers and client
    talk TLS with credentials made for this cluster alone (``Security.temporary()``), kept in
    this process's memory. Another account on the machine that connects to its ports is
    refused (it could otherwise run code as you). Its dashboard, when enabled, listens on a
    private Unix socket that only the Lab's authenticated proxy reaches
    (``/user/NAME/workspace/dask/status``); see :mod:`workspace.scale.dashboard`.

    Parameters
    ----------
    address:
        Scheduler to connect to, e.g. ``tcp://10.0.0.5:8786``.
    settings:
        Workspace settings; default: resolved from the environment.
    n_workers, threads_per_worker, memory_limit:
        Size of a local cluster (default: one worker per core, one thread each).
    timeout:
        Seconds to wait for the scheduler before giving up.
    quiet:
        Do not print the dashboard link.
    dashboard:
        Serve the local cluster's dashboard (on a private socket); ``False`` for none (the
        scheduler service's cluster).
    **cluster_kwargs:
        Passed on to ``distributed.LocalCluster``.

    Examples
    --------
    >>> import workspace
    >>> client = workspace.cluster()  # doctest: +SKIP
    Dask LocalCluster: 2 workers x 1 thread, dashboard http://127.0.0.1:40123/status
    >>> ws.to_dask("gold.lineitem").l_quantity.sum().compute()  # doctest: +SKIP
    """
    global _active
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - distributed is a core dependency
        raise ConfigurationError(
            "workspace.cluster() needs dask.distributed: pip install 'analytics-workspace'"
        ) from exc

    settings = settings or Settings.resolve()
    address = address or settings.dask_scheduler
    # A local cluster's workers carry the settings' environment: other settings, new cluster.
    key = (address, ()) if address else ("local", tuple(sorted(settings.env().items())))
    if _active is not None and _active.key == key and _is_alive(_active):
        return _active.client
    previous = _active  # closed once the new client is connected

    if address:
        try:
            client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterUnavailableError(
                f"Could not reach the Dask scheduler at {address} within {timeout:g}s ({exc}). "
                "Check that it is running and the address is right (WORKSPACE_DASK_SCHEDULER), "
                "or unset WORKSPACE_DASK_SCHEDULER to start a local cluster."
            ) from None
        _active = _Active(key, client, None)
        _close(previous)
        _announce(client, f"Dask scheduler {address}", quiet)
        return client

    import dask  # here, not at import: the Lab's proxy entry imports this package
    from distributed.security import Security

    workers = n_workers or os.cpu_count() or 1
    options: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": threads_per_worker,
        "processes": True,
        "host": "127.0.0.1",
        "protocol": "tls://",
        "security": Security.temporary(),
        "dashboard_address": "127.0.0.1:0" if dashboard else None,
        "memory_limit": memory_limit,
        "env": settings.env(),
    }
    options.update(cluster_kwargs)
    with dask.config.set(_PRIVATE_HTTP):
        local = LocalCluster(**options)
    try:
        client = Client(local, timeout=timeout)
        link = _private_dashboard(local) if dashboard else None
    except BaseException:
        local.close()
        raise
    _active = _Active(key, client, local, link)
    _close(previous)
    plural = "s" if threads_per_worker != 1 else ""
    _announce(
        client,
        f"Dask LocalCluster: {workers} workers x {threads_per_worker} thread{plural} (TLS)",
        quiet,
        link,
    )
    return client


def shutdown() -> None:
    """Close the client (and the local cluster) started by :func:`cluster`, if any.

    Examples
    --------
    >>> shutdown()
    """
    global _active
    active, _active = _active, None
    _close(active)


def _close(active: _Active | None) -> None:
    if active is None:
        return
    try:
        active.client.close()
    finally:
        if active.cluster is not None:
            active.cluster.close()


def _is_alive(active: _Active) -> bool:
    if active.client.status != "running":
        return False
    if active.cluster is None:
        return True
    return str(getattr(active.cluster.status, "name", active.cluster.status)) == "running"


def _announce(client: Client, what: str, quiet: bool, link: str | None = None) -> None:
    if link is None and client.cluster is None:
        link = client.dashboard_link
    shown = f", dashboard {link}" if link else ""
    log.info("%s%s", what, shown)
    if not quiet:
        print(f"{what}{shown}")
