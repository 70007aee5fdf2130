"""A table's check results: the :class:`CheckReport`, its JSON shape, and its findings.

Findings never hold raw values of columns annotated as PII (``ws.catalog.annotate(...,
columns={"email": {"pii": True}})``): their values in examples become ``***``, and when
the annotations cannot be read every example value is hidden.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import duckdb

from workspace.lake import metadata
from workspace.lake.names import TableRef
from workspace.lake.protected import ALIAS_PREFIX
from workspace.quality.checks_format import describe_failure, json_safe
from workspace.quality.checks_sql import Outcome
from workspace.quality.contract import Check
from workspace.quality.findings import Finding

__all__ = ["CheckReport", "check_column", "finding_of", "mask_pii", "outcome_json"]

log = logging.getLogger(__name__)
_MASK = "***"


@dataclass
class CheckReport:
    """The outcome of every check of one table, and the findings of those that did not pass."""

    table: str
    contract: str | None
    outcomes: list[Outcome] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    aborted: str | None = None
    seconds: float = 0.0

    @property
    def blocking(self) -> list[Outcome]:
        """Outcomes that block a write: a failed or broken ``error`` check."""
        return [o for o in self.outcomes if o.status != "pass" and o.check.severity == "error"]

    @property
    def passed(self) -> bool:
        """No check failed or broke, whatever its severity."""
        return all(o.status == "pass" for o in self.outcomes)

    def to_json(self) -> dict[str, Any]:
        """The ``workspace quality check --json`` shape (docs/quality.md)."""
        return {
            "table": self.table,
            "contract": self.contract,
            "passed": self.passed,
            "blocking": len(self.blocking),
            "seconds": round(self.seconds, 4),
            "checks": [outcome_json(o) for o in self.outcomes],
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }


def outcome_json(o: Outcome) -> dict[str, Any]:
    """One check's outcome as JSON: name, type, column, severity, status, counts, message."""
    return {
        "name": o.check.name,
        "type": o.check.type,
        "column": check_column(o.check),
        "severity": o.check.severity,
        "status": o.status,
        "violations": o.violations,
        "examples": json_safe(o.examples),
        "message": o.message,
        "seconds": round(o.seconds, 4),
    }


def check_column(check: Check) -> str | None:
    """The one column a check is about, or ``None`` (several, or the whole table)."""
    column = getattr(check, "column", None)
    if isinstance(column, str):
        return column
    cols = check.columns()
    return cols[0] if len(cols) == 1 else None


def mask_pii(con: duckdb.DuckDBPyConnection, ref: TableRef, outcomes: list[Outcome]) -> None:
    """Replace values of PII columns in examples (annotations read only when there are any)."""
    showing = [o for o in outcomes if (o.examples and o.example_key) or o.example_values]
    if not showing:
        return
    try:
        # a confidential table's results are kept beside the shared lake: show none of its values
        protected = ref.catalog.startswith(ALIAS_PREFIX)
        notes = None if protected else metadata.load(con, ref).columns
    except (duckdb.Error, ValueError) as exc:  # unreadable annotations: hide every value
        log.debug("annotations of %s unreadable (%s): examples hidden", ref.display, exc)
        notes = None
    pii = None if notes is None else {c for c, a in notes.items() if a.pii}
    for o in showing:
        o.examples = [_mask(e, o.example_key, pii) for e in o.examples]
        column = check_column(o.check)
        if pii is None or column in pii:
            o.example_values = [_MASK] * len(o.example_values)


def _mask(example: Any, key: list[str], pii: set[str] | None) -> Any:
    if not key:
        return example
    if isinstance(example, dict):
        return {k: _MASK if pii is None or k in pii else v for k, v in example.items()}
    return _MASK if pii is None or key[0] in pii else example


def finding_of(ref: TableRef, o: Outcome) -> Finding:
    check = o.check
    if o.status == "error":
        reason = o.detail.removeprefix("failed to run: ")
        message = f"{ref.display}: check {check.name} failed to run: {reason}"
        severity = "error"
    else:
        message = describe_failure(ref.display, o)
        severity = check.severity
    details: dict[str, Any] = {
        "type": check.type,
        "declared_severity": check.severity,
        "status": o.status,
        "violations": o.violations,
        "examples": json_safe(o.examples),
    }
    if o.example_key:
        details["example_key"] = o.example_key
    if o.example_values:
        details["example_values"] = json_safe(o.example_values)
    if o.observed:
        details["observed"] = json_safe(o.observed)
    column = check_column(check) or o.observed.get("column")
    return Finding(
        table=ref.display, kind="check", column=column, severity=severity,
        message=message, check=check.name, details=details,
    )  # fmt: skip
