"""Fail when a module under ``workspace/`` is longer than 500 lines (``make lint``).

Run: ``python tests/tools/check_modules.py`` (exit 1 and one line per offender).

Modules that were already over the limit when the rule came in are listed in
:data:`KNOWN_OVER_LIMIT` with the work that will split them: they are printed as a
reminder, not a failure. A listed module that has been split below the limit fails the check
too, so that the list only shrinks.
"""

from __future__ import annotations

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


def line_counts(root: Path = PACKAGE) -> dict[str, int]:
    """Lines of every ``.py`` module under ``root``, keyed by path relative to the repo."""
    counts = {}
    for path in sorted(root.rglob("*.py")):
        if SKIP_PARTS.intersection(path.relative_to(root).parts):
            continue
        with path.open("rb") as f:
            counts[path.relative_to(REPO).as_posix()] = sum(1 for _ in f)
    return counts


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
    found = problems(counts)
    for message in found:
        print(message, file=sys.stderr)
    if not found:
        print(f"module size: {len(counts)} modules, none new over {MAX_LINES} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
