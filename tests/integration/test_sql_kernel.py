"""The installed "Python (workspace)" kernel: %%sql preloaded, ``ws`` bound, short errors."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
from jupyter_client.manager import KernelManager, start_new_kernel

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingKernelClient]:
    try:
        spec = KernelSpecManager().get_kernel_spec("workspace")
    except NoSuchKernel:
        pytest.fail(
            "The 'workspace' kernel spec is not installed: run `pip install -e .` "
            "(or `jupyter kernelspec install kernels/workspace --sys-prefix`).",
            pytrace=False,
        )
    assert spec.display_name == "Python (workspace)"
    home = tmp_path_factory.mktemp("kernel") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "kerneltester"}
    km: KernelManager
    km, kc = start_new_kernel(kernel_name="workspace", env=env, startup_timeout=120)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(kc: BlockingKernelClient, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    return reply["content"], messages


def test_ws_is_bound_on_start(
    kernel: BlockingKernelClient, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reply, messages = _execute(
        kernel, "print(type(ws).__name__, ws.settings.user, ws.settings.home)"
    )
    assert reply["status"] == "ok"
    out = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    name, user, home = out.split()
    assert (name, user) == ("Workspace", "kerneltester")
    assert Path(home).name == "home" and Path(home).parent.name.startswith("kernel")


def test_sql_cell_displays_table_and_row_count(kernel: BlockingKernelClient) -> None:
    reply, messages = _execute(
        kernel, "%%sql\nSELECT range AS n, 'v' || range AS label FROM range(1234) ORDER BY n"
    )
    assert reply["status"] == "ok"
    (result,) = [m["content"]["data"] for m in messages if m["msg_type"] == "execute_result"]
    html = result["text/html"]
    assert "<th>label</th>" in html and "<td>v9</td>" in html and "v10" not in html
    assert "1,234 rows" in html
    assert "1,234 rows" in result["text/plain"]


def test_error_cell_is_short_without_traceback(kernel: BlockingKernelClient) -> None:
    reply, messages = _execute(kernel, "%%sql\nSELECT 1;\nSELECT * FROM missing_table")
    assert reply["status"] == "error"
    (error,) = [m["content"] for m in messages if m["msg_type"] == "error"]
    text = _ANSI.sub("", "\n".join(error["traceback"]))
    assert error["ename"] == "QueryError"
    assert "missing_table" in text and "ws.catalog.list()" in text and "statement 2" in text
    assert "Traceback" not in text and "File " not in text and ".py" not in text
    assert len(error["traceback"]) <= 8


def test_parameters_and_output_variable(kernel: BlockingKernelClient) -> None:
    reply, _ = _execute(kernel, "threshold = 990")
    assert reply["status"] == "ok"
    reply, _ = _execute(
        kernel, "%%sql -o big\nSELECT range AS n FROM range(1000) WHERE n > $threshold"
    )
    assert reply["status"] == "ok"
    reply, messages = _execute(kernel, "print(type(big).__name__, big.n.tolist())")
    out = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert out.strip() == "DataFrame " + str(list(range(991, 1000)))


def test_altair_charts_use_labs_offline_renderer(kernel: BlockingKernelClient) -> None:
    """Charts are emitted as the Vega-Lite mimetype that JupyterLab renders itself, with the
    data inline, so nothing is loaded from a CDN."""
    reply, messages = _execute(
        kernel,
        "import altair as alt\n"
        "r = %sql SELECT range AS x, range * 2 AS y FROM range(5)\n"
        "alt.Chart(r.df()).mark_line().encode(x='x', y='y')",
    )
    assert reply["status"] == "ok"
    (bundle,) = [m["content"]["data"] for m in messages if m["msg_type"] == "execute_result"]
    vegalite = [k for k in bundle if k.startswith("application/vnd.vegalite.v")]
    assert vegalite == ["application/vnd.vegalite.v5+json"], list(bundle)
    assert "text/html" not in bundle
    spec = bundle[vegalite[0]]
    values = next(iter(spec["datasets"].values()))
    assert [row["y"] for row in values] == [0, 2, 4, 6, 8]
