"""Errors of the notebook runner that a pipeline author can see and fix.

They derive from :class:`workspace.lake.errors.WorkspaceError`, so the CLI and the HTTP layer
show the message without a traceback.
"""

from __future__ import annotations

from workspace.lake.errors import WorkspaceError


class JobError(WorkspaceError):
    """Base class of the errors of ``workspace.jobs`` runs caused by user input."""


class InvalidNotebookError(JobError, ValueError):
    """A notebook file is not valid JSON or not a valid nbformat 4 notebook."""


class ParameterError(JobError, ValueError):
    """Parameters passed to a notebook do not match its ``parameters`` cell."""


class OutputError(JobError, ValueError):
    """A value published with :func:`workspace.jobs.output` cannot be stored."""


class ExecutorError(JobError):
    """An executor name is unknown or an executor is used outside its lifecycle."""


class ConflictError(WorkspaceError):
    """The request conflicts with what exists (e.g. a pipeline of that name): HTTP 409."""
