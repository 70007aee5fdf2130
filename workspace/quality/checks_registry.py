"""Python checks: functions a contract names with ``type: python, function: NAME``.

A check is ``fn(table, **args)`` over an ibis table; a contract finds it by a name registered
with :func:`check`, a ``workspace.quality_checks`` entry point or a dotted path (:func:`resolve`).
The plug-in contract: docs/quality.md, "Python checks" and "Module notes".

Examples
--------
>>> @check("no_future_dates")
... def no_future_dates(table, column="order_date"):
...     import ibis
...     return int(table.filter(table[column] > ibis.now().date()).count().execute())
>>> resolve("no_future_dates") is no_future_dates
True
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, TypeVar

from workspace.quality.contract import ContractError

__all__ = ["ENTRY_POINT_GROUP", "CheckResult", "check", "registered", "resolve", "to_result"]

#: Entry point group of Python checks (name -> ``module:function``).
ENTRY_POINT_GROUP = "workspace.quality_checks"

F = TypeVar("F", bound=Callable[..., Any])
_REGISTRY: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class CheckResult:
    """What a Python check found.

    Attributes
    ----------
    passed:
        Whether the data satisfies the check.
    violations:
        Violating rows (or other units the message names).
    examples:
        Up to 5 example keys of violating rows (values of key columns, never of PII columns).
    message:
        One line for the finding; a default is written from the numbers.

    Examples
    --------
    >>> CheckResult(passed=False, violations=2, examples=[7, 9]).violations
    2
    """

    passed: bool
    violations: int = 0
    examples: list[Any] = field(default_factory=list)
    message: str = ""


def check(name: str) -> Callable[[F], F]:
    """Register a Python check under ``name`` for contracts to use (``function: name``).

    Examples
    --------
    >>> @check("positive_total")
    ... def positive_total(table):
    ...     return int(table.filter(table.total <= 0).count().execute())
    >>> "positive_total" in registered()
    True
    """
    if not name or not isinstance(name, str):
        raise ValueError("a Python check needs a name: @workspace.quality.check('my_check')")

    def decorate(fn: F) -> F:
        _REGISTRY[name] = fn
        return fn

    return decorate


def registered() -> list[str]:
    """Names of the Python checks available: registered in this process and entry points."""
    names = set(_REGISTRY) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def resolve(function: str) -> Callable[..., Any]:
    """The function a contract's ``function:`` names; :class:`ContractError` if none."""
    if function in _REGISTRY:
        return _REGISTRY[function]
    found = entry_points(group=ENTRY_POINT_GROUP, name=function)
    if found:
        fn: Callable[..., Any] = next(iter(found)).load()
        return fn
    if ":" in function:
        module, _, attr = function.partition(":")
        try:
            target: Any = importlib.import_module(module)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ContractError(
                f"Python check {function!r} cannot be loaded: {exc}. Check the module path."
            ) from None
        if callable(target):
            return target
    known = ", ".join(registered()) or "none"
    raise ContractError(
        f"No Python check named {function!r} (registered: {known}). Register it with "
        "@workspace.quality.check(name) in code that runs before the write, with an entry "
        f"point in group {ENTRY_POINT_GROUP}, or name it as package.module:function."
    )


def to_result(value: Any, function: str) -> CheckResult:
    """Normalise what a Python check returned into a :class:`CheckResult`.

    >>> to_result(3, "f"), to_result(True, "f").passed
    (CheckResult(passed=False, violations=3, examples=[], message=''), True)
    """
    if isinstance(value, CheckResult):
        return value
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy's too
        return CheckResult(passed=bool(value), violations=0 if value else 1)
    if isinstance(value, numbers.Integral):
        n = int(value)
        return CheckResult(passed=n == 0, violations=n)
    raise TypeError(
        f"Python check {function!r} returned {type(value).__name__}; return a bool, an int "
        "(violating rows) or a workspace.quality.CheckResult"
    )
