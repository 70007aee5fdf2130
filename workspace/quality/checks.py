"""Declared checks of a table, run now or inside a write's transaction (issue 12, part 1).

Work in progress: :func:`run_checks` has its final signature; the checks follow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workspace.quality.findings import Finding

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

__all__ = ["run_checks"]


def run_checks(ws: Workspace, table: str) -> list[Finding]:
    """Run the checks declared in ``table``'s contract now; the findings of those that fail.

    A table without a contract has no findings. Checks that pass report nothing; a check
    that fails reports a finding of kind ``check`` with its declared severity; a check that
    cannot run reports a finding of severity ``error`` saying it failed to run.
    """
    return []
