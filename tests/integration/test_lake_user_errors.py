"""Issue 9, item 10: what an analyst meets when the OS refuses them a write is one clear line.

The lake (bronze, silver, gold) belongs to root here, as it belongs to the runner account in
a deployment; the analyst is a real OS account with its own sandbox folder, running cells in
the workspace kernel's shell (``workspace.kernel`` loaded into IPython, as the "Python
(workspace)" kernel does). The library only translates the OS refusal after the fact: the
account that owns the files still writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from support.hub import interpreter_reachable, new_user_name, remove_os_user

import workspace

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates an OS account (needs root)")

#: Cells run in the analyst's kernel shell, in this order; each one's output is checked.
CELLS = {
    "write_silver": 'import pandas as pd\nws.write("silver.x", pd.DataFrame({"a": [1]}))',
    "delete_gold": "%%sql\nDELETE FROM gold.sales",
    "unknown_table": 'ws.table("gold.unknown")',
    "drop_gold": 'ws.drop("gold.sales")',
    "sandbox_write": 'print(ws.write("sandbox.t", pd.DataFrame({"a": [1]})).rows)',
    "profile": 'print(ws.catalog.profile("gold.sales").row_count)',
    "profile_again": 'print(ws.catalog.profile("gold.sales").cached)',
}
MARK = "@@cell "

SHELL = textwrap.dedent(
    """
    import json, sys
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    shell.extension_manager.load_extension("workspace.kernel")
    for name, code in json.loads(sys.argv[1]).items():
        print("{mark}" + name, flush=True)
        result = shell.run_cell(code)
        print("{mark}ok" if result.success else "{mark}failed", flush=True)
    """
).format(mark=MARK)


@pytest.fixture(scope="module")
def analyst_run() -> Iterator[tuple[dict[str, tuple[bool, list[str]]], str, Path]]:
    """Run :data:`CELLS` as a fresh analyst against a root-owned lake; per cell its
    success and output lines, plus the whole stderr and the workspace home."""
    home = Path(tempfile.mkdtemp(prefix="ws-user-errors-", dir="/tmp"))
    os.chmod(home, 0o755)
    with workspace.connect(home, user="root") as ws:
        ws.write("gold.sales", pd.DataFrame({"x": [1, 2]}))
        ws.write("silver.orders", pd.DataFrame({"x": [1]}))
    name = new_user_name()
    subprocess.run(["useradd", "--no-create-home", name], check=True, capture_output=True)
    sandbox = home / "sandboxes" / name  # as the hub's ensure_sandbox makes it
    sandbox.mkdir(parents=True)
    shutil.chown(sandbox, name, name)
    os.chmod(sandbox, 0o700)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(sandbox),
        "WORKSPACE_HOME": str(home),
        "PYTHONWARNINGS": "ignore",
    }
    import json

    try:
        with interpreter_reachable():
            proc = subprocess.run(
                [sys.executable, "-c", SHELL, json.dumps(CELLS)],
                user=name, group=name, extra_groups=[], env=env, cwd=str(sandbox),
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        cells: dict[str, tuple[bool, list[str]]] = {}
        current, lines = "", []
        for line in proc.stdout.splitlines():
            if line.startswith(MARK):
                tag = line[len(MARK) :]
                if tag in ("ok", "failed"):
                    cells[current] = (tag == "ok", [x for x in lines if x.strip()])
                else:
                    current, lines = tag, []
            else:
                lines.append(line)
        yield cells, proc.stderr, home
    finally:
        remove_os_user(name)
        shutil.rmtree(home, ignore_errors=True)


def _one_line(cells: dict[str, tuple[bool, list[str]]], name: str) -> str:
    ok, lines = cells[name]
    assert not ok, f"{name} should have failed: {lines}"
    assert len(lines) == 1, f"{name}: expected one line, got:\n" + "\n".join(lines)
    return lines[0]


def test_write_to_silver_is_one_clear_line(analyst_run) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(analyst_run[0], "write_silver")
    assert line.startswith("WriteRefusedError: silver is written by pipelines")
    assert "ws.write('sandbox.x', df)" in line and "promote" in line


def test_sql_delete_from_gold_is_one_clear_line(analyst_run) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(analyst_run[0], "delete_gold")
    assert line.startswith("WriteRefusedError: gold is written by pipelines")
    assert "gold.sales" in line and "ducklake_max_retry_count" not in line


def test_drop_of_a_lake_table_is_one_clear_line(analyst_run) -> None:  # type: ignore[no-untyped-def]
    assert "gold is written by pipelines" in _one_line(analyst_run[0], "drop_gold")


def test_unknown_table_is_one_line(analyst_run) -> None:  # type: ignore[no-untyped-def]
    line = _one_line(analyst_run[0], "unknown_table")
    assert line.startswith("TableNotFoundError: Table 'gold.unknown' not found")


def test_sandbox_writes_and_profiles_work_without_warnings(analyst_run) -> None:  # type: ignore[no-untyped-def]
    cells, stderr, _home = analyst_run
    assert cells["sandbox_write"] == (True, ["1"])
    assert cells["profile"] == (True, ["2"])
    assert cells["profile_again"] == (True, ["True"])  # cached, per user
    assert stderr.strip() == "", stderr


def test_the_account_owning_the_lake_still_writes(analyst_run) -> None:  # type: ignore[no-untyped-def]
    home = analyst_run[2]
    with workspace.connect(home, user="root") as ws:
        assert ws.write("silver.x", pd.DataFrame({"a": [1]})).rows == 1
        ws.drop("silver.x")
