"""Data quality: declared checks that run inside a write's transaction, and monitors that
learn each table's normal from its own history (volume, freshness, schema, nulls,
distribution) and detect PII.

Depends on :mod:`workspace.lake` only; :mod:`workspace.jobs` uses it. Every check and monitor
reports :class:`~workspace.quality.findings.Finding` objects.
"""

from __future__ import annotations

from workspace.quality.audit import QualityCheckError
from workspace.quality.checks import run_checks
from workspace.quality.checks_registry import CheckResult, check
from workspace.quality.contract import Contract, ContractError
from workspace.quality.findings import Finding, ScanResult

__all__ = [
    "CheckResult",
    "Contract",
    "ContractError",
    "Finding",
    "QualityCheckError",
    "ScanResult",
    "check",
    "run_checks",
]
