"""Checks a pipeline task declares in ``pipeline.yaml``, enforced in its writes, as outputs.

A task's ``checks:`` maps each table it writes to a list of check declarations, the same as
the ``checks:`` of a contract file (:mod:`workspace.quality.contract`). The pipeline loader
validates them (:func:`parse_task_checks`); the orchestrator hands them to the task's
kernel as JSON in ``WORKSPACE_TASK_CHECKS`` (:func:`task_checks_env`). In the kernel the
quality write hook merges them with the table's own contract (:func:`merge_contracts`; a
declared check replaces the contract's check of the same name), runs them in the write's
transaction, and appends each write's results to ``checks.jsonl`` beside the kernel's write
log (``WORKSPACE_WRITE_LOG``). After the task, :func:`check_outputs` turns that file into
the task outputs ``checks.passed``, ``checks.failed`` and ``checks.<layer>.<table>.passed``
/ ``.failed``, which ``run_if`` can test. This module knows nothing of :mod:`workspace.jobs`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo

from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef, parse_name
from workspace.lake.writes import WRITE_LOG_ENV
from workspace.quality.checks_report import CheckReport
from workspace.quality.contract import Contract, ContractError, validate_contract

__all__ = [
    "RESULTS_FILE",
    "TASK_CHECKS_ENV",
    "check_outputs",
    "declared_contract",
    "merge_contracts",
    "parse_task_checks",
    "read_task_results",
    "record_task_result",
    "task_checks_env",
    "task_source",
    "validate_task_checks",
]

#: The kernel's environment variable holding the task's declared checks (JSON).
TASK_CHECKS_ENV = "WORKSPACE_TASK_CHECKS"
#: The file, beside the kernel's write log, where each checked write's results go.
RESULTS_FILE = "checks.jsonl"

log = logging.getLogger(__name__)
_parsed: tuple[str, dict[str, Contract]] | None = None


def validate_task_checks(raw: Any, info: ValidationInfo) -> dict[str, Contract]:
    """:func:`parse_task_checks` as the pydantic ``BeforeValidator`` of the task model."""
    return parse_task_checks(raw, task=info.data.get("name"))


def parse_task_checks(raw: Any, *, task: str | None = None) -> dict[str, Contract]:
    """Validate a task's ``checks:`` (table -> list of checks) into contracts.

    Errors are ``ValueError`` naming the task, the table, the check and the fix.

    Examples
    --------
    >>> c = parse_task_checks({"silver.orders": [{"check": "not_null", "column": "id"}]})
    >>> [k.name for k in c["silver.orders"].checks]
    ['not_null(id)']
    >>> parse_task_checks({"silver.orders": [{"check": "nope"}]}, task="silver")
    Traceback (most recent call last):
    ValueError: task silver: checks of silver.orders: checks[0]: check must be one of not_null, ...
    """
    who = f"task {task}: " if task else ""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(
            f"{who}checks must map each table the task writes to a list of checks, e.g. "
            "{silver.orders: [{check: not_null, column: o_orderkey}]}"
        )
    out: dict[str, Contract] = {}
    for table, checks in raw.items():
        if isinstance(checks, Contract):
            out[str(table)] = checks
            continue
        ref = _table(table, who)
        if not isinstance(checks, list):
            raise ValueError(f"{who}checks of {ref.display} must be a list of checks")
        items = [_aliased(c) for c in checks]
        try:
            contract = validate_contract(
                {"table": ref.display, "checks": items}, source="", table=ref.display
            )
        except ContractError as exc:
            reason = str(exc).split(" is invalid: ", 1)[-1].rstrip(".")
            reason = reason.replace(": type must be one of", ": check must be one of")
            raise ValueError(f"{who}checks of {ref.display}: {reason}") from None
        out[ref.display] = contract
    return out


def _table(name: Any, who: str) -> TableRef:
    try:
        catalog, schema, table = parse_name(str(name))
    except WorkspaceError as exc:
        raise ValueError(f"{who}checks: {exc}") from None
    if catalog is None or schema is None:
        raise ValueError(
            f"{who}checks: {name!r} must name a layer, e.g. silver.{name} or sandbox.{name}"
        )
    return TableRef(catalog, schema, table)


def _aliased(check: Any) -> Any:
    """``check: not_null`` (pipeline.yaml's spelling) is ``type: not_null`` in contracts."""
    if isinstance(check, Mapping) and "check" in check and "type" not in check:
        return {"type": check["check"], **{k: v for k, v in check.items() if k != "check"}}
    return check


def task_checks_env(checks: Mapping[str, Contract]) -> dict[str, str]:
    """The kernel environment that carries a task's declared checks (empty when none).

    >>> env = task_checks_env(parse_task_checks({"gold.x": [{"check": "row_count", "min": 1}]}))
    >>> list(json.loads(env[TASK_CHECKS_ENV]))
    ['gold.x']
    """
    if not checks:
        return {}
    data = {t: c.model_dump(mode="json", by_alias=True) for t, c in checks.items()}
    return {TASK_CHECKS_ENV: json.dumps(data)}


def declared_contract(ref: TableRef) -> Contract | None:
    """The checks the running task declares for ``ref`` (``None``: none, or not in a task)."""
    global _parsed
    text = os.environ.get(TASK_CHECKS_ENV)
    if not text:
        return None
    if _parsed is None or _parsed[0] != text:
        try:
            raw = json.loads(text)
            parsed = {t: Contract.model_validate(c) for t, c in raw.items()}
        except ValueError as exc:  # the orchestrator wrote it: a bug, never let writes by
            raise ContractError(
                f"{TASK_CHECKS_ENV} does not hold the task's checks ({exc}); run the task "
                "again from the scheduler."
            ) from None
        _parsed = (text, parsed)
    return _parsed[1].get(ref.display)


def merge_contracts(own: Contract | None, declared: Contract | None) -> Contract | None:
    """The table's own contract plus the task's checks; a declared check replaces the
    contract's check of the same name.

    >>> own = Contract.model_validate({"key": ["id"], "checks": [{"type": "not_null",
    ...     "column": "id", "severity": "warn"}]})
    >>> task = parse_task_checks({"gold.x": [{"check": "not_null", "column": "id"}]})
    >>> [(c.name, c.severity) for c in merge_contracts(own, task["gold.x"]).checks]
    [('not_null(id)', 'error')]
    """
    if declared is None or own is None:
        return own if declared is None else declared
    names = {c.name for c in declared.checks}
    checks = [c for c in own.checks if c.name not in names] + list(declared.checks)
    return own.model_copy(update={"checks": checks})


def task_source(contract: str | None) -> str:
    """Where the checks of a write come from, for messages: the running task's
    ``pipeline.yaml``, and the table's contract file if it has one.

    >>> task_source(None)  # outside a pipeline run the task is unknown
    'pipeline.yaml (the checks of the task)'
    """
    pipeline, task = os.environ.get("WORKSPACE_PIPELINE"), os.environ.get("WORKSPACE_TASK")
    where = f"scheduled/{pipeline}/" if pipeline else ""
    who = f"task {task}" if task else "the task"
    label = f"{where}pipeline.yaml (the checks of {who})"
    return f"{contract} and {label}" if contract else label


def _results_path() -> Path | None:
    if not os.environ.get(TASK_CHECKS_ENV):
        return None
    target = os.environ.get(WRITE_LOG_ENV)
    return Path(target).with_name(RESULTS_FILE) if target else None


def record_task_result(report: CheckReport, outcome: str) -> None:
    """In a task that declares checks, append one write's check results (best effort).

    ``outcome`` is ``passed``, ``warned`` or ``blocked`` (the write was rolled back).
    """
    path = _results_path()
    if path is None:
        return
    line = {
        "table": report.table,
        "outcome": outcome,
        "passed": report.passed,
        "failed": [o.check.name for o in report.outcomes if o.status != "pass"],
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
    except OSError as exc:
        log.warning("check results of %s not recorded in %s: %s", report.table, path, exc)


def read_task_results(path: Path) -> list[dict[str, Any]]:
    """The results :func:`record_task_result` appended to ``path`` (``[]`` when none)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # a kernel killed mid-write
            continue
    return out


def check_outputs(declared: Iterable[str], results: list[dict[str, Any]]) -> dict[str, Any]:
    """A task's check outputs, from its declared tables and the results of its writes.

    * ``checks.failed``: checks that did not pass, over every checked write;
    * ``checks.<layer>.<table>.failed`` and ``.passed``: the same per table. A declared
      table the task did not write has not been checked: ``passed`` is false;
    * ``checks.passed``: every table's ``passed``.

    Examples
    --------
    >>> out = check_outputs(["silver.orders"], [{"table": "silver.orders", "failed": ["x"]}])
    >>> out["checks.passed"], out["checks.failed"], out["checks.silver.orders.passed"]
    (False, 1, False)
    >>> check_outputs(["gold.x"], [])["checks.gold.x.passed"]
    False
    """
    failed: dict[str, int] = {t: 0 for t in declared}
    written: set[str] = set()
    for r in results:
        table = str(r.get("table"))
        written.add(table)
        failed[table] = failed.get(table, 0) + len(r.get("failed") or [])
    out: dict[str, Any] = {
        "checks.passed": all(n == 0 and t in written for t, n in failed.items()),
        "checks.failed": sum(failed.values()),
    }
    for table, n in sorted(failed.items()):
        out[f"checks.{table}.passed"] = n == 0 and table in written
        out[f"checks.{table}.failed"] = n
    return out
