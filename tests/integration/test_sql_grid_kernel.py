"""The result grid in the real "Python (workspace)" kernel: the output's mimebundle (grid
widget next to the static table), a page request over the widget's comm, the static report.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel

from workspace.jobs.execution.report import render_report

WIDGET = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BlockingKernelClient]:
    home = tmp_path_factory.mktemp("grid-kernel") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "gridtester"}
    km, kc = start_new_kernel(kernel_name="workspace", env=env, startup_timeout=120)
    try:
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _run(kc: BlockingKernelClient, code: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    assert reply["content"]["status"] == "ok", messages
    return messages


def _result(messages: list[dict[str, Any]]) -> dict[str, Any]:
    (data,) = [m["content"]["data"] for m in messages if m["msg_type"] == "execute_result"]
    return data


def _grid_comm(messages: list[dict[str, Any]]) -> str:
    (comm,) = [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open"
        and m["content"]["data"]["state"].get("_anywidget_id", "").endswith("ResultGrid")
    ]
    return str(comm)


def _custom(kc: BlockingKernelClient, comm_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """Send a custom message to the widget as its browser side does; wait for the reply."""
    data = {"method": "custom", "content": content}
    kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=60)
        body = msg["content"]
        mine = msg["msg_type"] == "comm_msg" and body.get("comm_id") == comm_id
        if mine and body["data"].get("method") == "custom":
            return dict(body["data"]["content"])
    raise AssertionError("the grid did not answer")


def test_sql_cell_shows_the_grid_next_to_the_static_table(
    kernel: BlockingKernelClient, tmp_path: Path
) -> None:
    cell = "%%sql\nSELECT range AS n, range * 1000.5::DOUBLE AS amount FROM range(5000)"
    messages = _run(kernel, cell)
    data = _result(messages)
    assert set(data) == {"text/plain", "text/html", WIDGET}
    assert "<td style='text-align: right'>1,000.50</td>" in data["text/html"]
    assert "5,000 rows (showing the first 10)" in data["text/plain"]

    comm = _grid_comm(messages)
    reply = _custom(
        kernel,
        comm,
        {"kind": "rows", "request": 3, "offset": 10, "limit": 2, "filters": {"n": ">= 4000"}},
    )
    assert reply == {
        "kind": "rows",
        "request": 3,
        "offset": 10,
        "rows": [[4010, 4012005.0], [4011, 4013005.5]],
        "total": 1000,
    }

    # reports drop the widget and keep the static table
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell(cell)
    code.outputs = [nbformat.v4.new_output("execute_result", data=data, execution_count=1)]
    nb.cells = [code]
    nbformat.write(nb, tmp_path / "executed.ipynb")
    page = render_report(tmp_path / "executed.ipynb", tmp_path / "report.html", title="grid")
    html = page.read_text()
    assert (
        "1,000.50" in html
        and "5,000 rows" in html
        and WIDGET not in html
        and "model_id" not in html
    )


def test_ibis_tables_show_as_a_grid_and_the_grid_can_be_turned_off(
    kernel: BlockingKernelClient,
) -> None:
    data = _result(_run(kernel, 'ws.sql("SELECT range AS n FROM range(1234)")'))
    assert WIDGET in data and "1,234 rows (showing the first 10)" in data["text/html"]

    _run(kernel, "%config SqlMagic.interactive = False")
    try:
        data = _result(_run(kernel, "%%sql\nSELECT 42 AS answer"))
        assert set(data) == {"text/plain", "text/html"}
    finally:
        _run(kernel, "%config SqlMagic.interactive = True")
