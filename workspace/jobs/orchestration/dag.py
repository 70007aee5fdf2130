"""Decisions of a pipeline run that need no I/O: run_if, fan-out items, fan-in parameters.

Task states: ``pending``, ``queued``, ``running`` and the terminal ones, ``succeeded``,
``failed``, ``timed_out``, ``cancelled``, ``skipped`` (its ``run_if`` said no) and
``upstream_failed`` (it could not run because something it needs failed).

A ``for_each`` task runs once per item (task keys ``name[0]``, ``name[1]``, ...). Downstream
tasks see it as one task: succeeded when every item succeeded. A task downstream of a
fan-out receives the list of every item's outputs as the parameter ``<name>_outputs``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from workspace.jobs.spec.pipeline import OutputCondition, Pipeline, Task
from workspace.lake.errors import WorkspaceError

FAILED = frozenset({"failed", "timed_out", "cancelled", "upstream_failed"})
TERMINAL = FAILED | {"succeeded", "skipped"}
Decision = Literal["run", "skip", "upstream_failed", "wait"]

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "in": lambda a, b: a in b,
    "not in": lambda a, b: a not in b,
}


class RunIfError(WorkspaceError):
    """A ``run_if`` condition cannot be evaluated (missing output, incomparable types)."""


def task_key(name: str, index: int | None = None) -> str:
    """The store key of a task or of one fan-out item.

    >>> task_key("report"), task_key("report", 2)
    ('report', 'report[2]')
    """
    return name if index is None else f"{name}[{index}]"


def aggregate(states: Iterable[str]) -> str | None:
    """The state of a logical task from its items' states; ``None`` while any is unfinished.

    >>> aggregate(["succeeded", "succeeded"]), aggregate(["succeeded", "failed"])
    ('succeeded', 'failed')
    >>> aggregate(["succeeded", "running"]) is None
    True
    """
    states = list(states)
    if not states or any(s not in TERMINAL for s in states):
        return None
    for state in ("failed", "timed_out", "cancelled", "upstream_failed"):
        if state in states:
            return state
    if all(s == "skipped" for s in states):
        return "skipped"
    return "succeeded"


def check_condition(cond: OutputCondition, outputs: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``cond`` holds on the upstream task's outputs (on every item of a fan-out)."""
    if not outputs:
        raise RunIfError(f"run_if {cond.output}: task {cond.task!r} published no outputs")
    results = []
    for out in outputs:
        if cond.name not in out:
            published = ", ".join(sorted(out)) or "none"
            raise RunIfError(
                f"run_if {cond.output}: task {cond.task!r} did not publish {cond.name!r} "
                f"(it published: {published}). Call workspace.jobs.output({cond.name!r}, ...) "
                "in its notebook."
            )
        try:
            results.append(bool(_OPS[cond.op](out[cond.name], cond.value)))
        except TypeError as exc:
            raise RunIfError(
                f"run_if {cond.output} {cond.op} {cond.value!r}: cannot compare with "
                f"{out[cond.name]!r} ({exc})"
            ) from None
    return all(results)


def decide(
    task: Task,
    upstream_states: Mapping[str, str | None],
    outputs: Mapping[str, Sequence[Mapping[str, Any]]],
) -> Decision:
    """Whether ``task`` runs, given its direct upstream tasks' (aggregated) states.

    Parameters
    ----------
    upstream_states:
        Upstream task name -> aggregated state (``None`` while unfinished).
    outputs:
        Task name -> outputs of each of its items (one element for plain tasks).

    Examples
    --------
    >>> from workspace.jobs.spec.pipeline import Task
    >>> t = Task(name="b", notebook="b.ipynb", depends_on=["a"])
    >>> decide(t, {"a": "succeeded"}, {}), decide(t, {"a": "failed"}, {})
    ('run', 'upstream_failed')
    """
    states = [upstream_states.get(d) for d in task.depends_on]
    if any(s is None for s in states):
        return "wait"
    rule = task.run_if
    if rule == "all_done":
        return "run"
    if rule == "any_failed":
        return "run" if any(s in FAILED for s in states) else "skip"
    if any(s in FAILED for s in states):
        return "upstream_failed"
    if any(s == "skipped" for s in states):
        return "skip"
    if isinstance(rule, OutputCondition):
        return "run" if check_condition(rule, outputs.get(rule.task, [])) else "skip"
    return "run"


def explain(
    task: Task,
    upstream_states: Mapping[str, str | None],
    outputs: Mapping[str, Sequence[Mapping[str, Any]]],
    decision: Decision,
) -> str:
    """Why :func:`decide` said ``skip`` or ``upstream_failed``: the rule, and what it saw.

    Examples
    --------
    >>> from workspace.jobs.spec.pipeline import Task
    >>> t = Task(name="b", notebook="b.ipynb", depends_on=["a"],
    ...          run_if={"output": "a.passed", "op": "==", "value": True})
    >>> explain(t, {"a": "succeeded"}, {"a": [{"passed": False}]}, "skip")
    'run_if: a.passed == True is false (a.passed was False)'
    """
    rule = task.run_if
    states = {d: upstream_states.get(d) for d in task.depends_on}
    listed = ", ".join(f"{d}: {s}" for d, s in states.items())
    if decision == "upstream_failed":
        failed = [d for d, s in states.items() if s in FAILED]
        return f"upstream {'task' if len(failed) == 1 else 'tasks'} did not succeed ({listed})"
    if rule == "any_failed":
        return f"run_if: any_failed, but no upstream task failed ({listed})"
    skipped = [d for d, s in states.items() if s == "skipped"]
    if skipped:
        return f"upstream skipped: {', '.join(skipped)} (run_if: all_success needs success)"
    if isinstance(rule, OutputCondition):
        seen = [out.get(rule.name) for out in outputs.get(rule.task, [])]
        shown = repr(seen[0]) if len(seen) == 1 else f"{seen!r} (one per item)"
        return (
            f"run_if: {rule.output} {rule.op} {rule.value!r} is false ({rule.output} was {shown})"
        )
    return f"run_if: {rule}"


def expand_items(task: Task, run_query: Callable[[str], list[tuple[Any, ...]]]) -> list[Any]:
    """The items a ``for_each`` task fans out over (``[None]`` for a plain task).

    ``run_query`` runs lake SQL and returns rows (the caller owns the connection).
    """
    spec = task.for_each
    if spec is None:
        return [None]
    if spec.values is not None:
        items = list(spec.values)
    else:
        assert spec.query is not None
        rows = run_query(spec.query)
        items = [dict(row) if spec.row and isinstance(row, Mapping) else row[0] for row in rows]
    if len(items) > spec.max_items:
        raise WorkspaceError(
            f"task {task.name!r}: for_each produced {len(items)} items, more than "
            f"max_items={spec.max_items}; raise max_items or narrow the query"
        )
    return items


def parameters_for(
    pipeline: Pipeline,
    task: Task,
    item: Any,
    outputs: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    run_parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Notebook parameters of one task (item): pipeline, run, task, item, fan-in outputs.

    Later sources win: pipeline ``parameters`` < run parameters (manual trigger) < task
    ``parameters`` < the fan-out item < the fan-in lists.
    """
    params: dict[str, Any] = {**pipeline.parameters, **(run_parameters or {}), **task.parameters}
    if task.for_each is not None:
        params[task.for_each.as_] = item
    for dep in task.depends_on:
        if pipeline.task(dep).for_each is not None:
            params[f"{dep}_outputs"] = [dict(o) for o in outputs.get(dep, [])]
    return params
