"""Task outputs: small named values a notebook publishes for the run (placeholder)."""

from __future__ import annotations

from typing import Any


def output(name: str, value: Any) -> Any:
    """Publish ``value`` under ``name`` for this run; returns ``value``."""
    return value
