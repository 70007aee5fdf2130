"""Issue 9, item 11: the Lab's catalog routes see the user's own sandbox writes, made by
another process (the kernel), at once: no manual refresh, no stale count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from server_client import USER, Fetch, call, jp_server_config  # noqa: F401 - override

import workspace

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


def _kernel_writes(home: Path, *tables: str) -> None:
    """Sandbox writes from another process, as the user's kernel makes them."""
    code = (
        "import sys, pandas as pd, workspace\n"
        f"ws = workspace.connect({str(home)!r}, user={USER!r})\n"
        "for t in sys.argv[1:]:\n"
        "    ws.write('sandbox.' + t, pd.DataFrame({'x': [1]}))\n"
    )
    subprocess.run([sys.executable, "-c", code, *tables], check=True, timeout=120)


async def _sandbox(jp_fetch: Fetch) -> tuple[int, list[str]]:
    _, layers = await call(jp_fetch, "GET", "catalog/layers")
    count = {layer["name"]: layer["tables"] for layer in layers["layers"]}["sandbox"]
    _, page = await call(jp_fetch, "GET", "catalog/tables", layer="sandbox")
    return count, sorted(t["name"] for t in page["tables"])


async def test_sandbox_writes_of_the_kernel_show_without_refresh(
    jp_fetch: Fetch, server_home: Path
) -> None:
    with workspace.connect(server_home, user="someone") as ws:
        ws.write("gold.g", pd.DataFrame({"x": [1]}))
    assert await _sandbox(jp_fetch) == (0, [])  # the server's connection has no sandbox yet
    _kernel_writes(server_home, "a")
    assert await _sandbox(jp_fetch) == (1, ["sandbox.a"])
    _kernel_writes(server_home, "b", "c")
    assert await _sandbox(jp_fetch) == (3, ["sandbox.a", "sandbox.b", "sandbox.c"])
