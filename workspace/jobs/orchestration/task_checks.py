"""The checks a pipeline task declares: handed to its kernel, read back as its outputs.

A task's ``checks:`` in ``pipeline.yaml`` (see :mod:`workspace.quality.task_checks`) reach
the kernel as ``WORKSPACE_TASK_CHECKS`` (:func:`kernel_env`); the quality write hook runs
them in each write's transaction and leaves their results in the attempt folder's
``checks.jsonl``. :func:`attempt_outputs` adds them to the attempt's outputs as
``checks.passed``, ``checks.failed`` and ``checks.<layer>.<table>.passed`` / ``.failed``,
so a downstream task can say ``run_if: {output: silver.checks.passed, value: true}``.
An ``on_failure`` handler runs without its task's checks.
"""

from __future__ import annotations

from typing import Any

from workspace.jobs.execution.context import AttemptResult
from workspace.jobs.paths import CHECKS_FILE
from workspace.jobs.spec.pipeline import Task
from workspace.quality.task_checks import check_outputs, read_task_results, task_checks_env

__all__ = ["attempt_outputs", "kernel_env"]


def kernel_env(task: Task, *, handler: bool = False) -> dict[str, str]:
    """Environment variables that give ``task``'s kernel its declared checks.

    >>> kernel_env(Task(name="t", notebook="t.ipynb"))
    {}
    """
    return {} if handler else task_checks_env(task.checks)


def attempt_outputs(task: Task, result: AttemptResult, *, handler: bool = False) -> dict[str, Any]:
    """The attempt's outputs, with its check outputs when ``task`` declares checks."""
    if handler or not task.checks:
        return dict(result.outputs)
    results = read_task_results(result.attempt_dir / CHECKS_FILE)
    return {**result.outputs, **check_outputs(task.checks, results)}
