"""Read-only lake connections for the server's worker threads, one per thread.

:class:`LakeConnections` keeps one read-only :class:`~workspace.lake.Workspace` per worker
thread, reopened when the user's sandbox appears or after a DuckDB error; :func:`lake_exists`
checks the catalog before connecting. Design notes: docs/extension-api.md, "Module notes".

Examples
--------
>>> lakes = LakeConnections()
>>> lake_exists(Settings.resolve("/tmp/no-lake-here"))
False
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from workspace.lake.errors import ConfigurationError
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

T = TypeVar("T")


class NoLakeError(ConfigurationError, LookupError):
    """The workspace has no lake yet (nothing was ever written)."""


def lake_exists(settings: Settings) -> bool:
    """Whether the lake's catalog exists, without creating it.

    A PostgreSQL catalog is assumed to exist (it is created by the admin); connecting
    tells otherwise.

    Examples
    --------
    >>> lake_exists(Settings.resolve("/tmp/no-lake-here"))
    False
    """
    if settings.catalog.kind != "sqlite":
        return True
    return settings.catalog.path is not None and settings.catalog.path.is_file()


def no_lake_message(settings: Settings) -> str:
    """What the catalog panel says when there is no lake yet."""
    where = settings.catalog.path or settings.home
    return f"No lake yet in {where}: run 'workspace demo' or write a table."


#: A cached connection's key: the settings, whether the sandbox exists, the granted tables.
_Key = tuple[str, bool, tuple[str, ...]]


class LakeConnections:
    """One read-only workspace per (thread, settings), reopened when it goes stale.

    Examples
    --------
    >>> lakes = LakeConnections()
    >>> lakes.run(settings, lambda ws: ws.tables())  # doctest: +SKIP
    ['gold.revenue_by_nation_month', ...]
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[Workspace] = []

    def _key(self, settings: Settings) -> _Key:
        # Settings holds a dict (catalog parameters), so its repr is the key; a grant or a
        # revocation changes the protected catalogs this account can attach: reopen then
        from workspace.lake import protected

        granted = tuple(sorted(entry.table for entry, _ in protected.readable(settings)))
        return repr(settings), (settings.sandbox_path / "catalog.sqlite").exists(), granted

    def get(self, settings: Settings) -> Workspace:
        """This thread's read-only workspace for ``settings`` (opened on first use)."""
        if not lake_exists(settings):
            raise NoLakeError(no_lake_message(settings))
        cache: dict[_Key, Workspace] = self._local.__dict__.setdefault("cache", {})
        key = self._key(settings)
        ws = cache.get(key)
        if ws is None:
            for old_key in [k for k in cache if k[0] == key[0]]:
                self._close(cache.pop(old_key))
            from workspace.lake.workspace import Workspace  # DuckDB: on the first catalog call

            ws = Workspace(settings, read_only=True)
            cache[key] = ws
            with self._lock:
                self._all.append(ws)
        return ws

    def run(self, settings: Settings, fn: Callable[[Workspace], T]) -> T:
        """Call ``fn`` with this thread's workspace; drop the connection if DuckDB failed."""
        import duckdb

        ws = self.get(settings)
        try:
            return fn(ws)
        except duckdb.Error:
            self.discard(settings)
            raise

    def discard(self, settings: Settings) -> None:
        """Close this thread's connections for ``settings`` (the next call reopens)."""
        cache: dict[_Key, Workspace] = self._local.__dict__.get("cache", {})
        for key in [k for k in cache if k[0] == repr(settings)]:
            self._close(cache.pop(key))

    def _close(self, ws: Workspace) -> None:
        import duckdb

        with self._lock:
            if ws in self._all:
                self._all.remove(ws)
        with contextlib.suppress(duckdb.Error):  # closing a broken connection
            ws.close()

    def close_all(self) -> None:
        """Close every connection (server shutdown). Threads must be idle."""
        with self._lock:
            opened, self._all = self._all, []
        if not opened:
            return
        import duckdb

        for ws in opened:
            with contextlib.suppress(duckdb.Error):
                ws.close()
