"""The team hub's spawner: ``LocalProcessSpawner`` with queued starts, seen up at once.

* At most ``start_concurrency`` servers start at a time (default: the number of cores); the
  others wait for a slot, freed when a server's port opens, its process exits or
  ``start_slot_timeout`` passes. Time in the queue counts in ``start_timeout``.
* ``start()`` returns once the server's port accepts a connection (a TCP connect every
  ``ready_poll_interval`` s), so the hub's first HTTP check, instead of its backoff of up
  to 5 s, finds the server.

Set by ``hub_config/jupyterhub_config.py``; users' accounts, environment, stop and poll are
``LocalProcessSpawner``'s. Why (the CPU of 20 concurrent spawns): ``docs/hub.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any, ClassVar

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Float, Integer

__all__ = ["WorkspaceSpawner", "port_accepts"]


async def port_accepts(ip: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``ip:port`` is accepted within ``timeout`` seconds.

    Examples
    --------
    >>> import asyncio, socket
    >>> sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen()
    >>> asyncio.run(port_accepts("127.0.0.1", sock.getsockname()[1]))
    True
    >>> port = sock.getsockname()[1]; sock.close()
    >>> asyncio.run(port_accepts("127.0.0.1", port))
    False
    """
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(ip, port), timeout)
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


class WorkspaceSpawner(LocalProcessSpawner):
    """``LocalProcessSpawner`` with queued starts, whose ``start()`` returns once the
    server's port is open."""

    start_concurrency = Integer(
        0,
        config=True,
        help="""Servers that may start at the same time (0: the number of cores).

        The others wait for a slot (the spawn page shows them pending); a slot is freed
        when a server's port opens, its process exits or ``start_slot_timeout`` passes.
        """,
    )
    start_slot_timeout = Float(
        30.0,
        config=True,
        help="Seconds a starting server may hold its start slot at most.",
    )
    ready_poll_interval = Float(
        0.2,
        config=True,
        help="""Seconds between two checks of whether a starting server's port is open.

        Each check is one TCP connect from the hub (no HTTP request).
        """,
    )

    #: The start slots of this hub process, by limit.
    _slots: ClassVar[dict[int, asyncio.Semaphore]] = {}

    def _start_slots(self) -> asyncio.Semaphore:
        limit = self.start_concurrency or os.cpu_count() or 1
        return self._slots.setdefault(limit, asyncio.Semaphore(limit))

    async def _until_up(self, ip: str, port: int, timeout: float | None) -> bool:
        """Poll until the port accepts (True), or the process exits or ``timeout`` (False)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while await self.poll() is None:
            if await port_accepts(ip, port):
                return True
            if deadline is not None and loop.time() >= deadline:
                return False
            await asyncio.sleep(self.ready_poll_interval)
        return False

    async def start(self) -> Any:
        """Wait for a start slot, start the server process, wait until its port is open.

        Returns early (leaving the failure to the hub's own checks) if the process exits.
        The hub's ``start_timeout`` bounds the whole call, the wait for a slot included.
        """
        async with self._start_slots():
            ip, port = await super().start()
            host = ip or "127.0.0.1"
            up = await self._until_up(host, port, self.start_slot_timeout)
        if not up:
            await self._until_up(host, port, None)
        return ip, port
