"""The architecture rules of ``make lint``, also run by the test suite.

- the one-way layers and no import cycles (import-linter, ``[tool.importlinter]`` in
  ``pyproject.toml``);
- no module under ``workspace/`` over 500 lines (``tests/tools/check_modules.py``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "tools"))

import check_modules  # noqa: E402


def test_no_new_module_over_500_lines() -> None:
    assert check_modules.problems(check_modules.line_counts()) == []


def test_the_size_check_fails_for_a_long_module_and_a_stale_exception() -> None:
    counts = {"workspace/long.py": 501, "workspace/split.py": 80}
    found = check_modules.problems(counts, known={"workspace/split.py": "was long"})
    assert [m.split(":")[0] for m in found] == ["workspace/long.py", "workspace/split.py"]


@pytest.mark.skipif(
    importlib.util.find_spec("importlinter") is None,
    reason="import-linter is in the dev extra: pip install -e '.[dev]'",
)
def test_layers_and_no_cycles() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(exe), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
