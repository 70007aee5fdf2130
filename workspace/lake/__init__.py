"""``workspace.lake``: the data access layer. It imports nothing from Jupyter.

Everything that reads or writes lake data goes through :class:`Workspace`.
"""

from __future__ import annotations

from workspace.lake.errors import (
    QueryError,
    SchemaMismatchError,
    TableNotFoundError,
    WorkspaceError,
    WriteConflictError,
)
from workspace.lake.settings import Settings
from workspace.lake.workspace import Workspace, connect
from workspace.lake.writes import WriteResult

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
