"""The parameter contract of a notebook, read statically: the declarations of its
``parameters`` cell (``ast``, nothing runs) and the check of a run's injected values.

The runner calls :func:`check_injected` before the first cell, so ``-p region MARS`` fails with
``parameter region: 'MARS' is not one of ASIA, EUROPE, AMERICA``; :func:`with_declared` adds the
declarations to papermill's view of the cell (which cannot parse keyword arguments).
"""

from __future__ import annotations

import ast
import json
import logging
import os
from pathlib import Path
from typing import Any

from workspace.params.spec import _POSITIONAL, ParamError, ParamSpec

log = logging.getLogger(__name__)
#: The run's injected parameters as JSON, exported to the kernel by the runner: a declaration
#: checks its value there (a query-backed dropdown's choices are only known in the kernel).
PARAMETERS_ENV = "WORKSPACE_PARAMETERS"


class _WidgetLines(logging.Filter):
    """papermill cannot parse ``x = params.f(..., key=value)`` and warns; the contract reads it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "= params." not in record.getMessage()


logging.getLogger("papermill.translators").addFilter(_WidgetLines())


def declared_parameters(notebook: Path | str, cells: list[Any] | None = None) -> list[ParamSpec]:
    """The widget parameters declared in the notebook's ``parameters`` cell(s), read with
    ``ast`` (nothing runs). Raises :class:`ParamError` for a declaration that is not valid.

    Examples
    --------
    >>> [p.name for p in declared_parameters("daily.ipynb")]  # doctest: +SKIP
    ['region', 'start']
    """
    if cells is None:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8")).get("cells", [])
    found: dict[str, ParamSpec] = {}
    for cell in cells:
        if cell.get("cell_type") != "code" or "parameters" not in cell.get("metadata", {}).get(
            "tags", []
        ):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        lines = [ln if not ln.lstrip().startswith(("%", "!")) else "" for ln in source.split("\n")]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError as exc:
            raise ParamError(f"{notebook}: the parameters cell does not parse: {exc}") from None
        targets = {  # call -> the variable it is assigned to (papermill assigns by name)
            id(n.value): n.targets[0].id
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign) and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name)
        }  # fmt: skip
        for node in ast.walk(tree):
            spec = _spec_of(node, notebook)
            if spec is None:
                continue
            if targets.get(id(node), spec.name) != spec.name:
                raise ParamError(
                    f"{notebook}: parameter {spec.name} is assigned to "
                    f"{targets[id(node)]!r}; a run sets the variable named like the parameter, "
                    f"so write {spec.name} = params.{spec.kind}({spec.name!r}, ...)."
                )
            if spec.name in found:
                raise ParamError(
                    f"{notebook}: parameter {spec.name} is declared twice; give each its own name."
                )
            found[spec.name] = spec
    return list(found.values())


def _spec_of(node: ast.AST, notebook: Path | str) -> ParamSpec | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func  # params.<kind>(...) only: a bare date(...) is datetime's
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
        return None
    kind = func.attr
    if func.value.id != "params" or kind not in _POSITIONAL:
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except ValueError:
        raise ParamError(
            f"{notebook}: line {node.lineno}: params.{kind}(...) takes literal values only "
            "(the run checks them before it starts)."
        ) from None
    if not args and "name" not in kwargs:
        raise ParamError(f"{notebook}: line {node.lineno}: params.{kind}(...) needs a name.")
    name = kwargs.pop("name", None) or args.pop(0)
    kwargs.update(zip(_POSITIONAL[kind], args, strict=False))
    if kind in ("text", "checkbox"):  # their functions' defaults
        kwargs.setdefault("default", "" if kind == "text" else False)
    if kind == "dropdown" and kwargs.get("default") is None and kwargs.get("choices"):
        kwargs["default"] = kwargs["choices"][0]
    try:
        return ParamSpec(name, kind, **kwargs)  # type: ignore[arg-type]
    except TypeError as exc:
        raise ParamError(f"{notebook}: line {node.lineno}: {exc}") from None


def check_injected(
    notebook: Path | str,
    cells: list[Any],
    parameters: dict[str, Any],
    error: type[Exception] = ParamError,
) -> None:
    """Check ``parameters`` against the declarations; raise ``error`` with every problem.

    Examples
    --------
    >>> check_injected("daily.ipynb", cells, {"region": "MARS"})  # doctest: +SKIP
    Traceback (most recent call last):
    ParamError: Notebook daily.ipynb: parameter region: 'MARS' is not one of ASIA, EUROPE ...
    """
    try:
        declared = {p.name: p for p in declared_parameters(notebook, cells)}
    except ParamError as exc:
        raise error(str(exc)) from None
    problems = []
    for name, value in parameters.items():
        if name in declared:
            try:
                declared[name].check(value)
            except ParamError as exc:
                problems.append(str(exc))
    if problems:
        raise error(
            f"Notebook {notebook}: {'; '.join(problems)}. Pass a value its parameters cell "
            "declares."
        )


def with_declared(notebook: Path | str, cells: list[Any], found: dict[str, Any]) -> dict[str, Any]:
    """papermill's view of the parameters cell (name -> default, type, help) completed with
    the widget declarations (papermill cannot parse a call with keyword arguments)."""
    try:
        specs = declared_parameters(notebook, cells)
    except ParamError:
        return found  # check_injected reports it
    for spec in specs:
        found[spec.name] = {
            **found.get(spec.name, {"name": spec.name, "inferred_type_name": "None"}),
            "default": repr(spec.default),
            "help": spec.label or "",
        }
    return found


def declared_or_none(notebook: Path | str) -> list[dict[str, Any]]:
    """The declarations of ``notebook`` as dicts (the jobs API); none when it cannot be read.

    Examples
    --------
    >>> declared_or_none("/nonexistent.ipynb")
    []
    """
    try:
        return [spec.to_dict() for spec in declared_parameters(notebook)]
    except (OSError, ValueError) as exc:  # a missing notebook, bad JSON, a bad declaration
        log.debug("no declared parameters for %s: %s", notebook, exc)
        return []


def injected() -> dict[str, Any]:
    """The parameters the run injects (:data:`PARAMETERS_ENV`); none in the Lab.

    Examples
    --------
    >>> injected()
    {}
    """
    try:
        found = json.loads(os.environ.get(PARAMETERS_ENV) or "{}")
    except ValueError:
        log.warning("%s is not JSON; the declarations use their defaults", PARAMETERS_ENV)
        return {}
    return found if isinstance(found, dict) else {}
