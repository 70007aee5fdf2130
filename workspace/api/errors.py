"""The one mapping from exceptions to HTTP error bodies, shared by every HTTP layer.

Both the scheduler API (:mod:`workspace.hub.jobs_api`) and the Jupyter server extension
(:mod:`workspace.server`) call :func:`error_body`; only framework-specific errors (tornado's
``HTTPError``) are handled by the layer itself before it falls back to this function.

Examples
--------
>>> error_body(PermissionError("not yours")).status
403
"""

from __future__ import annotations

from pydantic import ValidationError

from workspace.jobs.models import InvalidTransitionError
from workspace.jobs.service_models import ErrorResponse, FieldError
from workspace.lake.errors import WorkspaceError

#: What a 500 says; the details go to the server log only.
GENERIC_500 = "Internal error; the server log has the details."


class ConflictError(WorkspaceError):
    """The request conflicts with what exists (e.g. a pipeline of that name): 409."""


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def validation_body(exc: ValidationError) -> ErrorResponse:
    """A 400 body listing every invalid field of a pydantic validation error.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class Q(BaseModel):
    ...     limit: int
    >>> try:
    ...     Q.model_validate({"limit": "x"})
    ... except ValidationError as exc:
    ...     validation_body(exc).errors[0].field
    'limit'
    """
    errors = [
        FieldError(field=_where(e["loc"]), message=e["msg"].removeprefix("Value error, "))
        for e in exc.errors()
    ]
    summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return ErrorResponse(status=400, error=f"Invalid request: {summary}", errors=errors)


def error_body(exc: BaseException, *, generic: str = GENERIC_500) -> ErrorResponse:
    """The status and message of an exception a handler raised.

    Validation and :class:`WorkspaceError` -> 400, :class:`PermissionError` -> 403, unknown
    object (:class:`LookupError`) -> 404, forbidden state change or conflict
    (:class:`InvalidTransitionError`, :class:`ConflictError`) -> 409, anything else -> 500
    with ``generic``.

    Examples
    --------
    >>> from workspace.jobs.models import RunNotFoundError
    >>> error_body(RunNotFoundError("abc")).status
    404
    >>> error_body(RuntimeError("secret detail")).error
    'Internal error; the server log has the details.'
    """
    if isinstance(exc, ValidationError):
        return validation_body(exc)
    if isinstance(exc, (InvalidTransitionError, ConflictError)):
        return ErrorResponse(status=409, error=str(exc))
    if isinstance(exc, PermissionError):
        return ErrorResponse(status=403, error=str(exc) or "Permission denied.")
    if isinstance(exc, LookupError):
        return ErrorResponse(status=404, error=str(exc).strip("'\""))
    if isinstance(exc, WorkspaceError):
        return ErrorResponse(status=400, error=str(exc))
    return ErrorResponse(status=500, error=generic)
