"""The declaration of one widget parameter (:class:`ParamSpec`) and its check of a value.

A spec is built by a declaration in a notebook (:func:`workspace.params.dropdown`, ...) or read
statically from its parameters cell (:mod:`workspace.params.contract`); both refuse a default
outside its choices or bounds and ``min > max`` with :class:`ParamError`, and
:meth:`ParamSpec.check` is what a run applies to an injected value before the first cell.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date as _date
from typing import Any, Literal

from workspace.lake.errors import WorkspaceError

Kind = Literal["dropdown", "date", "integer", "number", "text", "checkbox"]
#: The positional arguments of each declaration function after ``name``.
_POSITIONAL: dict[str, tuple[str, ...]] = {
    "dropdown": ("choices", "default", "label", "query"),
    "date": ("default", "label"),
    "integer": ("default", "min", "max", "label"),
    "number": ("default", "min", "max", "label"),
    "text": ("default", "label"),
    "checkbox": ("default", "label"),
}
_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,), "number": (int, float), "text": (str,), "checkbox": (bool,),
}  # fmt: skip


class ParamError(WorkspaceError, ValueError):
    """A parameter declaration or a value that does not fit it."""


@dataclass(frozen=True)
class ParamSpec:
    """One declared parameter: what ``workspace jobs show`` lists and a run is checked against.

    Examples
    --------
    >>> spec = ParamSpec("region", "dropdown", choices=["ASIA", "EUROPE"], default="ASIA")
    >>> spec.check("EUROPE")
    'EUROPE'
    >>> spec.check("MARS")
    Traceback (most recent call last):
    workspace.params.spec.ParamError: parameter region: 'MARS' is not one of ASIA, EUROPE
    """

    name: str
    kind: Kind
    choices: list[Any] | None = None
    default: Any = None
    min: float | None = None
    max: float | None = None
    label: str | None = None
    query: str | None = None
    error: str | None = field(default=None, compare=False)  # a query-backed list that failed
    #: the Lab re-runs the cells below the parameters cell when this control changes
    run_on_change: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ParamError(f"parameter {self.name!r}: the name must be a Python identifier.")
        if self.kind not in _POSITIONAL:
            raise ParamError(f"parameter {self.name}: unknown kind {self.kind!r}.")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ParamError(
                f"parameter {self.name}: min {self.min} is greater than max {self.max}; swap them."
            )
        if self.kind == "dropdown" and self.choices is None and self.query is None:
            raise ParamError(f"parameter {self.name}: a dropdown needs choices or a query.")
        if self.default is not None or self.kind != "dropdown":
            try:
                object.__setattr__(self, "default", self.check(self.default))
            except ParamError as exc:
                raise ParamError(f"{exc} (the declared default)") from None

    def check(self, value: Any) -> Any:
        """``value`` in the form the notebook gets; :class:`ParamError` if it does not fit."""
        where = f"parameter {self.name}"
        if self.kind == "dropdown":
            if self.choices is not None and value not in self.choices:
                shown = ", ".join(map(str, self.choices))
                raise ParamError(f"{where}: {value!r} is not one of {shown}")
            return value
        if self.kind == "date":
            text = value.isoformat() if isinstance(value, _date) else value
            try:
                return _date.fromisoformat(text).isoformat()
            except (TypeError, ValueError):
                raise ParamError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None
        types = _TYPES[self.kind]
        if not isinstance(value, types) or (self.kind != "checkbox" and isinstance(value, bool)):
            wanted = {"integer": "an integer", "number": "a number", "text": "a string"}
            raise ParamError(f"{where}: {value!r} is not {wanted.get(self.kind, 'true/false')}")
        if self.kind in ("integer", "number"):
            if isinstance(value, float) and not math.isfinite(value):
                raise ParamError(f"{where}: {value!r} is not a finite number")
            num: Any = value
            lo, hi = self.min, self.max
            if (lo is not None and num < lo) or (hi is not None and num > hi):
                raise ParamError(f"{where}: {value!r} is outside {self.min} .. {self.max}")
        return value

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (for the jobs API)."""
        return {k: v for k, v in asdict(self).items() if k not in ("error", "run_on_change")}


def describe(spec: dict[str, Any]) -> str:
    """One line for a declaration (a :meth:`ParamSpec.to_dict`): what ``jobs show`` prints.

    Examples
    --------
    >>> describe({"kind": "dropdown", "choices": ["ASIA", "EUROPE"], "default": "ASIA"})
    "dropdown of ASIA, EUROPE (default 'ASIA')"
    >>> describe({"kind": "integer", "default": 5, "min": 0, "max": 100})
    'integer 0 .. 100 (default 5)'
    """
    kind, choices, query = spec.get("kind", "?"), spec.get("choices"), spec.get("query")
    what = f"{kind} of {', '.join(map(str, choices))}" if choices is not None else kind
    if query is not None:
        what = f"{kind} from query {query!r}"
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None or hi is not None:  # 0.0 from JSON shows as 0
        what += " " + " .. ".join("" if b is None else f"{b:g}" for b in (lo, hi))
    label = f" [{spec['label']}]" if spec.get("label") else ""
    return f"{what} (default {spec.get('default')!r}){label}"
