"""Task outputs: small named JSON values a notebook publishes for its run.

Under the runner, ``WORKSPACE_JOB_OUTPUTS`` in the kernel's environment names a JSON file in
the attempt folder; :func:`output` merges each value into it atomically (temporary file plus
rename), so a kernel that dies mid-write never leaves a half-written file. Outside a run the
value is only validated and returned, so the same notebook works interactively.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from workspace.jobs.errors import OutputError

OUTPUTS_ENV = "WORKSPACE_JOB_OUTPUTS"
MAX_OUTPUT_BYTES = 64 * 1024

__all__ = ["MAX_OUTPUT_BYTES", "OUTPUTS_ENV", "output", "read_outputs"]


def output(name: str, value: Any) -> Any:
    """Publish ``value`` under ``name`` for this run and return ``value``.

    Parameters
    ----------
    name:
        A Python identifier (``row_count``, ``max_date``).
    value:
        Any JSON-serializable value whose JSON text is at most 64 KiB. Store large results
        in the lake and publish only their name or a summary.

    Returns
    -------
    The value, unchanged, so ``n = output("n", len(df))`` reads naturally.

    Raises
    ------
    OutputError
        The name is not an identifier, or the value is not JSON-serializable or too large.

    Examples
    --------
    >>> from workspace.jobs import output
    >>> output("row_count", 42)
    42
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise OutputError(
            f"Output name {name!r} is not a valid identifier; use letters, digits and "
            "underscores, not starting with a digit (e.g. output('row_count', n))."
        )
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise OutputError(
            f"Output {name!r} is not JSON-serializable ({type(value).__name__}: {exc}). "
            "Publish plain numbers, strings, booleans, lists or dicts, e.g. convert with "
            "int(), float(), str() or .tolist()."
        ) from None
    size = len(text.encode())
    if size > MAX_OUTPUT_BYTES:
        raise OutputError(
            f"Output {name!r} is {size / 1024:.1f} KiB of JSON, more than the "
            f"{MAX_OUTPUT_BYTES // 1024} KiB limit. Write large results to the lake and "
            "publish their table name or a summary instead."
        )
    target = os.environ.get(OUTPUTS_ENV)
    if target:
        path = Path(target)
        current = read_outputs(path) if path.exists() else {}
        current[name] = json.loads(text)
        _write_atomic(path, current)
    return value


def read_outputs(path: Path | str) -> dict[str, Any]:
    """The outputs published during a run, ``{}`` when the file does not exist.

    Examples
    --------
    >>> read_outputs("/nonexistent/outputs.json")
    {}
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise OutputError(f"Outputs file {path} is corrupt ({exc}).") from None
    if not isinstance(data, dict):
        raise OutputError(f"Outputs file {path} does not hold a JSON object.")
    return data


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".outputs-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
