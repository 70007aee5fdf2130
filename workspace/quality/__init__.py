"""Data quality: declared checks that run inside a write's transaction, and monitors that
learn each table's normal from its own history (volume, freshness, schema, nulls,
distribution) and detect PII.

Depends on :mod:`workspace.lake` only; :mod:`workspace.jobs` uses it. Every check and monitor
reports :class:`~workspace.quality.findings.Finding` objects.
"""

from __future__ import annotations

from workspace.quality.findings import Finding, ScanResult

__all__ = ["Finding", "ScanResult"]
