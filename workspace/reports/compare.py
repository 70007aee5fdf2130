"""Run-to-run comparison on a report's page: this run's key numbers next to the previous run's.

Key numbers are the task outputs a notebook publishes with ``workspace.jobs.output(name,
value)``, stored per task in the run store. :func:`previous_run` finds the pipeline's latest
*succeeded* run before this one (by logical date, as run lists are ordered);
:func:`key_numbers` pairs the scalar outputs of both runs and marks the change: ``▲ 25.0%``,
``▼ 5.0%``, ``= 0%``, ``new`` (no previous value). Numbers are formatted by
:func:`workspace.sql.formatting.format_number` (thousands separators, sensible decimals).
A dict of scalars (``rows = {"orders": 15000, ...}``) gives one line per key
(``rows.orders``); lists and deeper values are not key numbers and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workspace.jobs.models import Run, RunState
from workspace.jobs.store.run_store import RunStore
from workspace.sql.formatting import format_number

__all__ = ["KeyNumber", "key_numbers", "previous_run", "run_outputs"]

_SCAN = 200


@dataclass(frozen=True)
class KeyNumber:
    """One line of the comparison: ``direction`` is ``up``, ``down``, ``same``, ``new`` or
    ``changed`` (a text value that differs)."""

    name: str
    value: str
    previous: str | None
    change: str
    direction: str


def run_outputs(store: RunStore, run_id: str) -> dict[str, dict[str, Any]]:
    """The outputs of a run's tasks, by task key (tasks without outputs left out)."""
    return {t.task_key: dict(t.outputs) for t in store.get_run_detail(run_id).tasks if t.outputs}


def previous_run(store: RunStore, run: Run) -> Run | None:
    """The pipeline's latest succeeded run before ``run`` (``None``: there is none)."""
    runs = store.list_runs(pipeline=run.pipeline, states=[RunState.SUCCEEDED], limit=_SCAN)
    ids = [r.run_id for r in runs]
    if run.run_id in ids:
        later = runs[ids.index(run.run_id) + 1 :]
        return later[0] if later else None
    at = run.scheduled_for or run.created_at
    return next((r for r in runs if (r.scheduled_for or r.created_at) < at), None)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: object) -> str:
    if _is_number(value):
        return format_number(value)  # type: ignore[arg-type]
    return str(value).lower() if isinstance(value, bool) else str(value)


def _change(value: object, before: object) -> tuple[str, str]:
    if _is_number(value) and _is_number(before):
        now, then = float(value), float(before)  # type: ignore[arg-type]
        if now == then:
            return "= 0%", "same"
        arrow, direction = ("▲", "up") if now > then else ("▼", "down")
        if then == 0 or not math.isfinite(now - then):
            return arrow, direction
        return f"{arrow} {abs(now - then) / abs(then) * 100:.1f}%", direction
    return ("", "same") if value == before else ("changed", "changed")


def _flat(outputs: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in outputs.items():
        if isinstance(value, dict):
            flat |= {f"{name}.{k}": v for k, v in value.items() if not isinstance(v, list | dict)}
        else:
            flat[name] = value
    return flat


def key_numbers(
    current: Mapping[str, Mapping[str, Any]], previous: Mapping[str, Mapping[str, Any]] | None
) -> list[KeyNumber]:
    """This run's scalar outputs next to the previous run's, with the change marked.

    Output names are prefixed with their task (``load · rows``) when several tasks publish.

    Examples
    --------
    >>> now = {"main": {"revenue": 1250.0, "orders": 38, "region": "ASIA"}}
    >>> before = {"main": {"revenue": 1000.0, "orders": 40, "region": "ASIA"}}
    >>> [(k.name, k.value, k.previous, k.change) for k in key_numbers(now, before)]
    [('revenue', '1,250', '1,000', '▲ 25.0%'), ('orders', '38', '40', '▼ 5.0%'), ('region', 'ASIA', 'ASIA', '')]
    >>> [(k.name, k.change) for k in key_numbers({"main": {"rows": {"orders": 5}}}, None)]
    [('rows.orders', 'new')]
    """  # noqa: E501
    several = len(current) > 1
    lines = []
    for task, raw in current.items():
        earlier, outputs = _flat((previous or {}).get(task, {})), _flat(raw)
        for name, value in outputs.items():
            if isinstance(value, list | dict) or value is None:
                continue
            label = f"{task} · {name}" if several else name
            if name not in earlier or earlier[name] is None:
                lines.append(KeyNumber(label, _text(value), None, "new", "new"))
                continue
            change, direction = _change(value, earlier[name])
            lines.append(KeyNumber(label, _text(value), _text(earlier[name]), change, direction))
    return lines
