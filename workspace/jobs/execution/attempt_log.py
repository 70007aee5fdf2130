"""The log of one attempt: the executor's log file, else the executed notebook's output.

The subprocess executor writes ``runner.log`` into the attempt folder; attempts run on Dask
have no log file, so their "log" is the text the notebook printed (stream outputs) and the
errors it raised (tracebacks without terminal colours), read from ``executed.ipynb``.
Values of known secrets are replaced by ``[secret NAME]`` as the log is read.

Examples
--------
>>> tail_text(b"x" * 10, limit=4)
('xxxx', True)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workspace.governance.secrets import redactor
from workspace.jobs.models import Attempt
from workspace.jobs.paths import RUNNER_LOG
from workspace.lake.errors import WorkspaceError

#: How much of a log an API returns (its end).
LOG_LIMIT = 256 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
LOG_NAMES = (RUNNER_LOG,)


class AttemptLogNotFoundError(WorkspaceError, LookupError):
    """An attempt has no log file and no executed notebook to read one from."""


def tail_text(data: bytes, *, limit: int = LOG_LIMIT) -> tuple[str, bool]:
    """The last ``limit`` bytes of ``data`` as text, and whether anything was cut off.

    Examples
    --------
    >>> tail_text("héllo".encode(), limit=100)
    ('héllo', False)
    """
    if len(data) <= limit:
        return data.decode("utf-8", "replace"), False
    cut = data[-limit:]
    newline = cut.find(b"\n")
    if 0 <= newline < 1024:  # start on a whole line when one begins soon
        cut = cut[newline + 1 :]
    return cut.decode("utf-8", "replace"), True


def attempt_folder(attempt: Attempt) -> Path | None:
    """The folder of an attempt's files, from the paths the run store recorded."""
    for raw in (attempt.log_path, attempt.notebook_path, attempt.report_path):
        if raw:
            return Path(raw).parent
    return None


def log_file(attempt: Attempt, *, within: Path) -> Path | None:
    """The attempt's log file under ``within`` (the workspace home), if there is one."""
    candidates: list[Path] = []
    if attempt.log_path:
        candidates.append(Path(attempt.log_path))
    folder = attempt_folder(attempt)
    if folder is not None:
        candidates += [folder / name for name in LOG_NAMES]
    root = within.resolve()
    for path in candidates:
        resolved = path.resolve()
        if resolved.is_relative_to(root) and resolved.is_file():
            return resolved
    return None


def notebook_text(path: Path) -> str:
    """Stream output and error tracebacks of an executed notebook, cell by cell.

    Cells are numbered as in the notebook the user wrote, the same numbering as
    ``Attempt.failing_cell``.

    Examples
    --------
    >>> notebook_text(Path("executed.ipynb"))  # doctest: +SKIP
    '[cell 3]\\nloaded 1500 rows\\n'
    """
    nb: dict[str, Any] = json.loads(path.read_text("utf-8"))
    parts: list[str] = []
    # number cells as in the user's notebook, like ``Attempt.failing_cell``: papermill's
    # error banner and injected-parameters cells are not counted
    cells = [
        c
        for c in nb.get("cells", [])
        if not {"papermill-error-cell-tag", "injected-parameters"}
        & set(c.get("metadata", {}).get("tags", []))
    ]
    for index, cell in enumerate(cells, 1):  # 1-based, as people count cells
        chunk: list[str] = []
        for out in cell.get("outputs", []) or []:
            if out.get("output_type") == "stream":
                text = out.get("text", "")
                chunk.append("".join(text) if isinstance(text, list) else str(text))
            elif out.get("output_type") == "error":
                trace = "\n".join(out.get("traceback") or [])
                chunk.append(_ANSI.sub("", trace or f"{out.get('ename')}: {out.get('evalue')}"))
                chunk.append("\n")
        if chunk:
            parts.append(f"[cell {index}]\n" + "".join(chunk))
    return "\n".join(parts)


def read_log(attempt: Attempt, *, within: Path, limit: int = LOG_LIMIT) -> tuple[str, bool, str]:
    """``(text, truncated, source)`` of an attempt's log; ``LookupError`` when it has none.

    Examples
    --------
    >>> text, truncated, source = read_log(attempt, within=settings.home)  # doctest: +SKIP
    """
    path = log_file(attempt, within=within)
    if path is not None:
        text, truncated = tail_text(path.read_bytes(), limit=limit)
        return redactor().text(text), truncated, "log"  # the kernel's stray stderr included
    if attempt.notebook_path:
        nb = Path(attempt.notebook_path).resolve()
        if nb.is_relative_to(within.resolve()) and nb.is_file():
            try:
                text, truncated = tail_text(notebook_text(nb).encode("utf-8"), limit=limit)
            except (OSError, ValueError):
                pass
            else:
                return text, truncated, "notebook"
    raise AttemptLogNotFoundError(
        f"Attempt {attempt.attempt_id} of run {attempt.run_id!r} has no log (yet): it is "
        "written while the attempt runs; open its report instead."
    )
