"""Naming standards: the ``standards.yaml`` file, versioned with the pipelines, and its defaults.

The file lives beside the pipelines, ``scheduled/standards.yaml`` (or a file a caller names,
or ``$WORKSPACE_STANDARDS``); without one, the shipped defaults apply. A file changes only
what it names; a malformed one is a :class:`StandardsError` naming the file, the field and
the fix. The rules are :mod:`workspace.governance.standards_rules`.
Which file applies: docs/governance.md, "Naming standards" and "Module notes".
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from workspace.governance.standards_rules import (
    LAYERS,
    Standards,
    StandardsError,
    StandardsWarning,
    Violation,
    metadata_violations,
    name_violations,
    suggest_name,
)

__all__ = [
    "DEFAULT_STANDARDS",
    "STANDARDS_ENV",
    "STANDARDS_FILE",
    "Standards",
    "StandardsError",
    "StandardsWarning",
    "Violation",
    "current_standards",
    "load_standards",
    "metadata_violations",
    "name_violations",
    "parse_standards",
    "standards_env",
    "standards_file",
    "suggest_name",
]

#: Environment variable naming the standards file (overrides the pipelines folder's).
STANDARDS_ENV = "WORKSPACE_STANDARDS"
#: The standards file's name in the pipelines folder.
STANDARDS_FILE = "standards.yaml"
#: The pipelines folder's variable and default (as :func:`workspace.jobs.paths.scheduled_root`).
_SCHEDULED_ENV, _SCHEDULED_DEFAULT = "WORKSPACE_SCHEDULED", "scheduled"
#: The standards that ship with the product (used when no file exists).
DEFAULT_STANDARDS = Standards()
_DOCS = 'docs/governance.md, "Naming standards"'

_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], Standards]] = {}


def standards_file(
    scheduled: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> tuple[Path, bool]:
    """The standards file that applies, and whether it was configured explicitly.

    An explicit file (``$WORKSPACE_STANDARDS``) must exist; the pipelines folder's may not.

    Examples
    --------
    >>> standards_file("/srv/scheduled")
    (PosixPath('/srv/scheduled/standards.yaml'), False)
    >>> standards_file(environ={"WORKSPACE_STANDARDS": "/etc/ws/standards.yaml"})
    (PosixPath('/etc/ws/standards.yaml'), True)
    """
    env = os.environ if environ is None else environ
    if scheduled is not None:
        return Path(scheduled).expanduser().absolute() / STANDARDS_FILE, False
    if env.get(STANDARDS_ENV):
        return Path(env[STANDARDS_ENV]).expanduser().absolute(), True
    folder = env.get(_SCHEDULED_ENV) or _SCHEDULED_DEFAULT
    return Path(folder).expanduser().absolute() / STANDARDS_FILE, False


def standards_env(scheduled: str | os.PathLike[str]) -> dict[str, str]:
    """Environment variables giving another process the standards of ``scheduled``.

    Empty when that folder has no standards file (the process then applies its own rule).

    >>> standards_env("/nonexistent/scheduled")
    {}
    """
    path, _ = standards_file(scheduled)
    return {STANDARDS_ENV: str(path)} if path.is_file() else {}


def current_standards(scheduled: str | os.PathLike[str] | None = None) -> Standards:
    """The standards in force (see the module docstring), re-read only when the file changes.

    Raises :class:`StandardsError` for a malformed file or a missing explicit one.

    >>> current_standards("/nonexistent/scheduled") is DEFAULT_STANDARDS
    True
    """
    path, explicit = standards_file(scheduled)
    try:
        st = path.stat()
    except FileNotFoundError:
        if explicit:
            raise StandardsError(
                f"{STANDARDS_ENV}={path} names no file. Create it (the format is in {_DOCS}) "
                f"or unset {STANDARDS_ENV} to use scheduled/{STANDARDS_FILE}."
            ) from None
        return DEFAULT_STANDARDS
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    cached = _cache.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    standards = load_standards(path)
    with _lock:
        _cache[path] = (stamp, standards)
    return standards


def load_standards(path: str | os.PathLike[str]) -> Standards:
    """Read and validate a standards file.

    Raises
    ------
    StandardsError
        The file cannot be read, is not YAML, or a field is invalid (the message names the
        file, the field and what to write instead).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StandardsError(
            f"Cannot read the standards file {path}: {exc.strerror or exc}. Make it readable "
            "or remove it to use the defaults."
        ) from None
    return parse_standards(text, source=str(path))


def parse_standards(text: str, *, source: str = STANDARDS_FILE) -> Standards:
    """Validate standards YAML, merged onto the defaults.

    Examples
    --------
    >>> s = parse_standards("layers:\\n  silver:\\n    table: {prefixes: [stg_]}\\n")
    >>> s.rule("silver", "table").prefixes, s.rule("silver", "table").case
    (['stg_'], 'snake_case')
    >>> parse_standards("layers: {silver: {table: {case: snake}}}")
    Traceback (most recent call last):
    ...
    workspace.governance.standards_rules.StandardsError: standards.yaml, field layers.silver.table.case: ...
    """  # noqa: E501
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise StandardsError(
            f"{source} is not valid YAML{where}: {problem}. Fix the syntax ({_DOCS})."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StandardsError(
            f"{source} must be a mapping of settings (version, defaults, layers, ...), not a "
            f"{type(data).__name__}. See {_DOCS}."
        )
    merged = _merge(DEFAULT_STANDARDS.model_dump(by_alias=True, exclude_none=True), data)
    try:
        standards = Standards.model_validate(merged)
    except ValidationError as exc:
        raise StandardsError(_explain(exc, source)) from None
    _check_layer_names(standards, source)
    return standards


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``override`` onto ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _explain(exc: ValidationError, source: str) -> str:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if p != "[key]"]  # a bad mapping key: its value's
        field = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            what = "is not a known setting; check its spelling"
        elif err["type"] == "literal_error":
            what = f"{err['msg'][0].lower()}{err['msg'][1:]}, not {err['input']!r}"
        else:
            what = f"{err['msg'][0].lower()}{err['msg'][1:]} (got {err['input']!r})"
        problems.append(f"field {field}: {what}")
    return f"{source}, {'; '.join(problems)}. Fix the file ({_DOCS})."


def _check_layer_names(standards: Standards, source: str) -> None:
    """The layer names are fixed by the product: a schema rule they break is a mistake."""
    for layer in LAYERS:
        schema = "main" if layer == "sandbox" else layer
        broken = name_violations(standards, layer, "schema", schema)
        if broken:
            raise StandardsError(
                f"{source}, field layers.{layer}.schema: the layer's schema {schema!r} breaks "
                f"this rule ({broken[0].rule}), but layer names are fixed by the product. "
                "Loosen the schema rule."
            )
