"""The one mapping from exceptions to HTTP error bodies, shared by every HTTP front end.

The scheduler API (:mod:`workspace.hub.jobs_api`), the Jupyter server extension
(:mod:`workspace.server`) and the reports service (:mod:`workspace.reports.service`) all call
:func:`error_response` (or :func:`error_body` for non-tornado errors): validation -> 400 with
the invalid fields, unknown object -> 404, forbidden -> 403, conflict or forbidden state
change -> 409, anything unexpected -> 500 with a generic message (never for a user mistake).

Examples
--------
>>> error_body(PermissionError("not yours")).status
403
"""

from __future__ import annotations

from pydantic import ValidationError
from tornado.web import HTTPError

from workspace.api.models import ErrorResponse, FieldError
from workspace.jobs.errors import ConflictError
from workspace.jobs.models import InvalidTransitionError
from workspace.lake.errors import WorkspaceError

#: What a 500 says; the details go to the server log only.
GENERIC_500 = "Internal error; the server log has the details."

__all__ = ["GENERIC_500", "ConflictError", "error_body", "error_response", "validation_body"]


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


def error_response(exc: BaseException, *, generic: str = GENERIC_500) -> ErrorResponse:
    """:func:`error_body`, where tornado's :class:`~tornado.web.HTTPError` (authentication
    401/403, a body that is not JSON) keeps its own status and message.

    Examples
    --------
    >>> error_response(HTTPError(403, "no")).status
    403
    >>> error_response(KeyError("gold.x")).status
    404
    """
    if isinstance(exc, HTTPError):
        message = exc.log_message or exc.reason or ""
        if exc.log_message and exc.args:
            message = exc.log_message % exc.args
        return ErrorResponse(status=exc.status_code, error=message or f"HTTP {exc.status_code}")
    return error_body(exc, generic=generic)
