"""``workspace.lake``: the data access layer. It imports nothing from Jupyter.

Everything that reads or writes lake data goes through :class:`Workspace`. The names below
are loaded on first use, so that ``workspace.lake.errors`` or ``workspace.lake.settings``
can be imported without DuckDB, pandas and PyArrow (the Jupyter server extension starts
without them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workspace.lake.errors import (
    QueryError,
    SchemaMismatchError,
    TableNotFoundError,
    WorkspaceError,
    WriteConflictError,
)
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace, connect
    from workspace.lake.writes import WriteResult

#: Heavy names (DuckDB, Ibis, PyArrow) and the module that defines each.
_LAZY = {
    "Workspace": "workspace.lake.workspace",
    "connect": "workspace.lake.workspace",
    "WriteResult": "workspace.lake.writes",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workspace.lake' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "QueryError",
    "SchemaMismatchError",
    "Settings",
    "TableNotFoundError",
    "Workspace",
    "WorkspaceError",
    "WriteConflictError",
    "WriteResult",
    "connect",
]
