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


_active: _Active | None = None


def cluster(
    *,
    address: str | None = None,
    settings: Settings | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | float | None = "auto",
    timeout: float = 10.0,
    quiet: bool = False,
    **cluster_kwargs: Any,
) -> Client:
    """A ``distributed.Client`` for the workspace, started or reused within this process.

    With a scheduler address (``address=``, else ``$WORKSPACE_DASK_SCHEDULER``) the client
    connects to it. Otherwise a ``LocalCluster`` of process workers on 127.0.0.1 is started
    (one single-threaded worker per core, the memory split between them) and reused by later
    calls while it is alive and the settings are the same. Its workers get the workspace
    environment (:meth:`Settings.env`), so code running on them can call
    ``workspace.connect()``.

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

    workers = n_workers or os.cpu_count() or 1
    options: dict[str, Any] = {
        "n_workers": workers,
        "threads_per_worker": threads_per_worker,
        "processes": True,
        "host": "127.0.0.1",
        "dashboard_address": "127.0.0.1:0",
        "memory_limit": memory_limit,
        "env": settings.env(),
    }
    options.update(cluster_kwargs)
    local = LocalCluster(**options)
    try:
        client = Client(local, timeout=timeout)
    except BaseException:
        local.close()
        raise
    _active = _Active(key, client, local)
    _close(previous)
    plural = "s" if threads_per_worker != 1 else ""
    _announce(
        client, f"Dask LocalCluster: {workers} workers x {threads_per_worker} thread{plural}", quiet
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


def _announce(client: Client, what: str, quiet: bool) -> None:
    link = client.dashboard_link
    log.info("%s, dashboard %s", what, link)
    if not quiet:
        print(f"{what}, dashboard {link}")
