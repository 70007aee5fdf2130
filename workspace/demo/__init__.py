"""The demo lakehouse (TPC-H through bronze, silver and gold) and the tour notebooks."""

from __future__ import annotations

from workspace.demo.build import DemoReport, build_demo, copy_notebooks

__all__ = ["DemoReport", "build_demo", "copy_notebooks"]
