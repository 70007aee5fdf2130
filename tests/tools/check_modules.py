"""Fail when a module under ``workspace/`` is longer than 500 lines, or its module docstring
longer than 14 lines (``make lint``).

Run: ``python tests/tools/check_modules.py`` (exit 1 and one line per offender).

Modules that were already over the size limit when the rule came in are listed in
:data:`KNOWN_OVER_LIMIT` with the work that will split them: they are printed as a
reminder, not a failure. A listed module that has been split below the limit fails the check
too, so that the list only shrinks. Module docstrings say what the module is for and its
entry points; design notes go to ``docs/`` (:data:`_DOCSTRING_PENDING` lists the modules
still being trimmed).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "workspace"
MAX_LINES = 500
#: Not Python we own: the built Lab extension, demo notebooks.
SKIP_PARTS = frozenset({"labextension", "notebooks", "__pycache__"})

#: Modules allowed over the limit, path relative to the repository -> the work that will split
#: them. Empty since the jobs/ subpackages of issue 10 split the last four; keep it that way.
KNOWN_OVER_LIMIT: dict[str, str] = {}

MAX_DOCSTRING_LINES = 14
#: Modules allowed over MAX_DOCSTRING_LINES while being trimmed (printed as a reminder, not a
#: failure). Empty since issue 10 cut every module docstring to ~10 lines; keep it that way.
_DOCSTRING_PENDING: frozenset[str] = frozenset()


def line_counts(root: Path = PACKAGE) -> dict[str, int]:
    """Lines of every ``.py`` module under ``root``, keyed by path relative to the repo."""
    counts = {}
    for path in sorted(root.rglob("*.py")):
        if SKIP_PARTS.intersection(path.relative_to(root).parts):
            continue
        with path.open("rb") as f:
            counts[path.relative_to(REPO).as_posix()] = sum(1 for _ in f)
    return counts


def docstring_counts(root: Path = PACKAGE) -> dict[str, int]:
    """Lines of every module docstring under ``root`` (as ``ast.get_docstring(clean=False)``
    gives it), keyed by path relative to the repo; modules without one are left out."""
    counts = {}
    for path in sorted(root.rglob("*.py")):
        if SKIP_PARTS.intersection(path.relative_to(root).parts):
            continue
        doc = ast.get_docstring(ast.parse(path.read_bytes(), filename=str(path)), clean=False)
        if doc:
            counts[path.relative_to(REPO).as_posix()] = len(doc.splitlines())
    return counts


def docstring_problems(
    counts: dict[str, int], pending: frozenset[str] = _DOCSTRING_PENDING
) -> list[str]:
    """One message per module docstring over :data:`MAX_DOCSTRING_LINES` (not pending).

    Examples
    --------
    >>> docstring_problems({"workspace/a.py": 15, "workspace/b.py": 14}, pending=frozenset())
    ['workspace/a.py: module docstring of 15 lines (limit 14): keep what the module is for \
and its entry points, move design notes to docs/']
    >>> docstring_problems({"workspace/a.py": 30}, pending=frozenset({"workspace/a.py"}))
    []
    """
    return [
        f"{path}: module docstring of {lines} lines (limit {MAX_DOCSTRING_LINES}): keep what "
        "the module is for and its entry points, move design notes to docs/"
        for path, lines in counts.items()
        if lines > MAX_DOCSTRING_LINES and path not in pending
    ]


def problems(counts: dict[str, int], known: dict[str, str] = KNOWN_OVER_LIMIT) -> list[str]:
    """One message per module over the limit (not known) or known but now under it.

    Examples
    --------
    >>> problems({"workspace/a.py": 501, "workspace/b.py": 500}, known={})
    ['workspace/a.py: 501 lines (limit 500): split it by concern']
    >>> problems({"workspace/a.py": 120}, known={"workspace/a.py": "later"})
    ['workspace/a.py: 120 lines, under the limit: remove it from KNOWN_OVER_LIMIT']
    """
    found = []
    for path, lines in counts.items():
        if lines > MAX_LINES and path not in known:
            found.append(f"{path}: {lines} lines (limit {MAX_LINES}): split it by concern")
        elif lines <= MAX_LINES and path in known:
            found.append(f"{path}: {lines} lines, under the limit: remove it from KNOWN_OVER_LIMIT")
    found.extend(
        f"{path}: listed in KNOWN_OVER_LIMIT but does not exist: remove it"
        for path in known
        if path not in counts
    )
    return found


def main() -> int:
    counts = line_counts()
    for path, why in sorted(KNOWN_OVER_LIMIT.items()):
        if counts.get(path, 0) > MAX_LINES:
            print(f"known: {path}: {counts[path]} lines (limit {MAX_LINES}); to split: {why}")
    docs = docstring_counts()
    for path in sorted(_DOCSTRING_PENDING):
        if docs.get(path, 0) > MAX_DOCSTRING_LINES:
            print(
                f"pending: {path}: module docstring of {docs[path]} lines "
                f"(limit {MAX_DOCSTRING_LINES}); to trim, then remove from _DOCSTRING_PENDING"
            )
    found = problems(counts) + docstring_problems(docs)
    for message in found:
        print(message, file=sys.stderr)
    if not found:
        print(
            f"module size: {len(counts)} modules, none new over {MAX_LINES} lines; "
            f"no new module docstring over {MAX_DOCSTRING_LINES} lines"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
