"""Write hooks: code that other packages run inside every lake write, without lake knowing them.

A :class:`WriteHook` sees each write twice:

* :meth:`WriteHook.before_commit` runs inside the write's DuckDB transaction, after the rows
  are in the table and before ``COMMIT``. Anything it raises rolls the write back: readers
  keep the previous snapshot. ``workspace.quality`` uses it to run a table's blocking checks
  (write-audit-publish).
* :meth:`WriteHook.after_commit` runs once the snapshot is published. What it raises is
  logged as a warning, never a failed write: the data is committed.

Hooks come from the entry point group ``workspace.write_hooks`` (each entry point names a
:class:`WriteHook` subclass; it is loaded and instantiated once per process, on the first
write) and from :func:`register`. With no hook, a write pays one tuple check.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import duckdb

from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace
    from workspace.lake.writes import WriteResult

__all__ = [
    "ACCESSOR_GROUP",
    "ENTRY_POINT_GROUP",
    "WriteContext",
    "WriteHook",
    "accessor",
    "active",
    "after_commit",
    "before_commit",
    "register",
    "unregister",
]

#: Entry point group of :class:`WriteHook` classes.
ENTRY_POINT_GROUP = "workspace.write_hooks"
#: Entry point group of ``ws.<name>`` accessors: classes constructed with the Workspace.
ACCESSOR_GROUP = "workspace.accessors"

log = logging.getLogger(__name__)


@dataclass
class WriteContext:
    """One write, as hooks see it.

    Attributes
    ----------
    ws:
        The workspace writing (``ws.settings`` says where the lake is).
    con:
        Its connection, inside the write's open transaction during ``before_commit``.
    ref:
        The table written.
    mode:
        ``"append"`` or ``"overwrite"``.
    written_sql:
        A SQL relation over exactly the rows this write adds, when it is cheap to scan
        again (in-memory data, files staged by Dask workers); ``None`` when the data is a
        query that would be run again.
    rows:
        Rows written (set before ``before_commit``).
    state:
        Free space for hooks to carry results from ``before_commit`` to ``after_commit``.
    """

    ws: Workspace
    con: duckdb.DuckDBPyConnection
    ref: TableRef
    mode: str
    written_sql: str | None = None
    rows: int = 0
    state: dict[str, Any] = field(default_factory=dict)


class WriteHook:
    """Base class of write hooks; override either method.

    Examples
    --------
    >>> class Count(WriteHook):
    ...     seen = 0
    ...     def after_commit(self, ctx, result):
    ...         Count.seen += 1
    >>> hook = register(Count())
    >>> unregister(hook)
    """

    #: Hooks run in ascending ``order`` (then by name), whatever order the installer wrote
    #: the entry points in: naming standards (10) before quality checks (20) before the
    #: monitors (30), so a badly named table is refused before any check scans it.
    order: int = 50

    def before_commit(self, ctx: WriteContext) -> None:
        """Inside the write's transaction, before COMMIT; raise to roll the write back."""

    def after_commit(self, ctx: WriteContext, result: WriteResult) -> None:
        """After the snapshot is published; errors are logged, never raised."""


_lock = threading.Lock()
_registered: list[WriteHook] = []
_from_entry_points: tuple[WriteHook, ...] | None = None
_active: tuple[WriteHook, ...] | None = None


def register(hook: WriteHook) -> WriteHook:
    """Run ``hook`` in every later write of this process (until :func:`unregister`)."""
    global _active
    with _lock:
        _registered.append(hook)
        _active = None
    return hook


def unregister(hook: WriteHook) -> None:
    """Stop running a hook given to :func:`register`."""
    global _active
    with _lock:
        if hook in _registered:
            _registered.remove(hook)
        _active = None


def active() -> tuple[WriteHook, ...]:
    """The hooks of this process: entry points first (by ``order``), then the
    :func:`register`-ed ones."""
    global _from_entry_points, _active
    hooks = _active
    if hooks is not None:
        return hooks
    with _lock:
        if _from_entry_points is None:
            loaded = [(ep.name, _load(ep)) for ep in entry_points(group=ENTRY_POINT_GROUP)]
            loaded.sort(key=lambda pair: (pair[1].order, pair[0]))
            _from_entry_points = tuple(hook for _, hook in loaded)
        _active = hooks = _from_entry_points + tuple(_registered)
    return hooks


def _load(ep: Any) -> WriteHook:
    try:
        hook = ep.load()()
    except Exception as exc:  # fail closed: a gate that cannot load must not let writes by
        raise WorkspaceError(
            f"The write hook {ep.name!r} ({ep.value}, entry point group {ENTRY_POINT_GROUP}) "
            f"could not be loaded: {exc}. Nothing was written; reinstall the package that "
            "provides it."
        ) from exc
    if not isinstance(hook, WriteHook):
        raise WorkspaceError(
            f"The write hook {ep.name!r} ({ep.value}) is not a workspace.lake.hooks.WriteHook."
        )
    return hook


def before_commit(ctx: WriteContext) -> None:
    """Run every hook's ``before_commit``; the first error propagates (the write rolls back)."""
    for hook in active():
        hook.before_commit(ctx)


def after_commit(ctx: WriteContext, result: WriteResult) -> None:
    """Run every hook's ``after_commit``; errors become warnings."""
    for hook in active():
        try:
            hook.after_commit(ctx, result)
        except Exception as exc:
            log.warning(
                "%s was committed (snapshot %s), but the write hook %s failed after the "
                "commit: %s", result.table, result.snapshot_id, type(hook).__name__, exc,
            )  # fmt: skip


def accessor(ws: Workspace, name: str) -> Any:
    """``ws.<name>``: the class the ``workspace.accessors`` entry point ``name`` names.

    Raises :class:`WorkspaceError` when no installed package provides it.
    """
    found = entry_points(group=ACCESSOR_GROUP, name=name)
    if not found:
        raise WorkspaceError(
            f"ws.{name} is not available: no installed package provides the entry point "
            f"{name!r} in group {ACCESSOR_GROUP}. Reinstall analytics-workspace."
        )
    return next(iter(found)).load()(ws)
