"""Which pipelines declare checks for a table: the ``checks:`` of their tasks.

``workspace quality contract TABLE`` shows them beside the table's contract file: a table's
checks may be declared in ``pipeline.yaml`` under the task that writes it
(:mod:`workspace.quality.task_checks`). The pipelines come from the process's one
:class:`~workspace.jobs.spec.discovery.PipelineScanner` of the ``scheduled/`` folder; an
invalid pipeline declares nothing.

Examples
--------
>>> checks_for_table("/nonexistent/scheduled", "silver.orders")
[]
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workspace.jobs.spec.discovery import scanner
from workspace.jobs.spec.pipeline import Pipeline
from workspace.quality.contract import Check

__all__ = ["DeclaredCheck", "checks_for_table"]


@dataclass(frozen=True)
class DeclaredCheck:
    """One check a pipeline task declares for a table."""

    pipeline: str
    task: str
    check: Check

    def to_json(self) -> dict[str, str]:
        """``{"pipeline", "task", "name", "type", "severity"}``."""
        c = self.check
        return {"pipeline": self.pipeline, "task": self.task, "name": c.name, "type": c.type,
                "severity": c.severity}  # fmt: skip


def checks_for_table(root: str | Path, table: str) -> list[DeclaredCheck]:
    """The checks the pipelines under ``root`` declare for ``table`` (``layer.name``), by
    pipeline and task."""
    found = []
    for name, spec in sorted(scanner(root).scan().items()):
        if not isinstance(spec, Pipeline):
            continue
        for task in spec.tasks:
            contract = task.checks.get(table)
            if contract is not None:
                found += [DeclaredCheck(name, task.name, c) for c in contract.checks]
    return found
