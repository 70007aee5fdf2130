"""Errors a user of the workspace can see.

Every error says what happened, to which object, and what to do next. They all derive from
:class:`WorkspaceError`, so front ends (the ``%%sql`` magic, the CLI, HTTP handlers) can show
the message without a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


class WorkspaceError(Exception):
    """Base class of every error caused by user input or configuration."""


class ConfigurationError(WorkspaceError):
    """A setting (environment variable, URL) is invalid."""


class InvalidNameError(WorkspaceError, ValueError):
    """A table name is not a valid ``[layer.]table`` identifier."""


class TableNotFoundError(WorkspaceError, LookupError):
    """No table of that name exists where it was looked for."""

    def __init__(self, name: str, searched: Iterable[str], suggestions: Iterable[str] = ()):
        self.name = name
        self.searched = list(searched)
        self.suggestions = list(suggestions)
        hint = f" Did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(
            f"Table {name!r} not found (looked in {', '.join(self.searched)}).{hint} "
            "List tables with ws.catalog.list() or `workspace tables`."
        )


class SchemaMismatchError(WorkspaceError):
    """Data written to an existing table does not match its columns."""

    def __init__(
        self,
        table: str,
        *,
        missing: Iterable[str] = (),
        extra: Iterable[str] = (),
        changed: Iterable[tuple[str, str, str]] = (),
    ):
        self.table = table
        self.missing = list(missing)
        self.extra = list(extra)
        self.changed = list(changed)
        parts = []
        if self.extra:
            parts.append("new columns " + ", ".join(self.extra))
        if self.missing:
            parts.append("missing columns " + ", ".join(self.missing))
        if self.changed:
            parts.append(
                "changed types "
                + ", ".join(f"{c} ({old} -> {new})" for c, old, new in self.changed)
            )
        super().__init__(
            f"Schema of the data does not match table {table!r}: {'; '.join(parts)}. "
            "Nothing was written. Pass evolve=True to change the table's schema, "
            "or select matching columns."
        )


class WriteConflictError(WorkspaceError):
    """A write could not be committed because other writers kept the catalog busy."""


class UnsupportedDataError(WorkspaceError, TypeError):
    """``write`` was given an object it cannot store."""


class SnapshotNotFoundError(WorkspaceError, LookupError):
    """Time travel asked for a snapshot or time the table does not have."""


class QueryError(WorkspaceError):
    """A SQL statement failed: bad syntax, an unknown column, a failed cast."""

    def __init__(self, message: str, *, statement: str | None = None, index: int | None = None):
        self.statement = statement
        self.index = index
        super().__init__(message)


class ReadOnlyError(WorkspaceError):
    """A write was attempted on a read-only connection."""


class WriteRefusedError(WorkspaceError, PermissionError):
    """The operating system refused a write: the account may not change that table.

    The shared layers (bronze, silver, gold) are written by pipelines; the OS (file
    ownership of the lake) decides who may write them, and this error only translates its
    refusal into what to do instead (:func:`workspace.lake.sqlerrors.write_refusal`).
    """
