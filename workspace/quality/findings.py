"""What every check and monitor reports: a :class:`Finding`, in one stable JSON shape.

``workspace quality scan --json`` prints ``{"findings": [...]}``; each finding has ``table``,
``kind`` (``volume``, ``freshness``, ``schema``, ``nulls``, ``distribution``, ``check``,
``pii``), ``column`` (or null), ``severity`` and ``message``. ``details`` carries the numbers
behind the message (counts, thresholds, masked examples); it never holds raw values of PII
columns.

Examples
--------
>>> f = Finding(table="gold.revenue", kind="nulls", column="amount", severity="warn",
...             message="gold.revenue.amount: null share 0.40, usually 0.00")
>>> f.model_dump()["kind"]
'nulls'
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Finding", "FindingKind", "ScanResult", "Severity"]

FindingKind = Literal["volume", "freshness", "schema", "nulls", "distribution", "check", "pii"]
#: ``info``: recorded only; ``warn``: recorded and alerted; ``error``: blocks the write.
Severity = Literal["info", "warn", "error"]


class Finding(BaseModel):
    """One result of a check or a monitor that needs attention."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(description="The table as users name it, `layer.name`.")
    kind: FindingKind
    column: str | None = Field(None, description="The column, or null for the whole table.")
    severity: Severity
    message: str = Field(description="One line: what was seen, against what was expected.")
    check: str | None = Field(None, description="The declared check's name (kind `check`).")
    details: dict[str, Any] = Field(default_factory=dict)


class ScanResult(BaseModel):
    """``workspace quality scan --json``: the findings of the tables scanned."""

    model_config = ConfigDict(extra="forbid")

    tables: list[str]
    findings: list[Finding]
