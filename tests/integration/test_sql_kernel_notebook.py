"""The workspace kernel's SQL completion, progress bar and cancel, through a real kernel.

One kernel for the module: completion answers the standard ``complete_request``
(JupyterLab's Tab), a long query shows a progress bar, and the kernel's interrupt cancels
the running query and leaves the connection usable.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

SEED = """
import pandas as pd
ws.write("gold.orders", pd.DataFrame({"o_id": [1], "o_total": [2.0], "o_customer": [3]}))
ws.write("silver.customer", pd.DataFrame({"c_id": [3], "c_name": ["x"]}))
ws.write("bronze.clicks", pd.DataFrame({"url": ["/"]}))
"""
#: Runs for minutes unless cancelled (no estimate of progress: DuckDB reports -1).
ENDLESS = "%%sql\nSELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3"


@pytest.fixture(scope="module")
def kernel(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[KernelManager, BlockingKernelClient]]:
    home = tmp_path_factory.mktemp("notebook") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "notebooktester"}
    km, kc = start_new_kernel(kernel_name="workspace", env=env, startup_timeout=120)
    try:
        reply, _ = _execute(kc, SEED)
        assert reply["status"] == "ok", reply
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(kc: BlockingKernelClient, code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    messages: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, timeout=120, output_hook=messages.append)
    return reply["content"], messages


def _complete(kc: BlockingKernelClient, cell: str) -> list[str]:
    """Completions at the "|" of ``cell``, as JupyterLab asks for them on Tab."""
    at = cell.index("|")
    reply = kc.complete(cell.replace("|", ""), at, reply=True, timeout=60)["content"]
    assert reply["status"] == "ok"
    code = cell.replace("|", "")
    # every match replaces the same range, which ends at the cursor
    assert reply["cursor_end"] == at
    return [code[: reply["cursor_start"]] + m for m in reply["matches"]]


def test_tab_completes_tables_columns_and_keywords(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    assert _complete(kc, "%%sql\nSELECT * FROM gold.or|") == ["%%sql\nSELECT * FROM gold.orders"]
    assert "%%sql\nSELECT * FROM customer" in _complete(kc, "%%sql\nSELECT * FROM cust|")
    columns = _complete(kc, "%%sql\nSELECT o.| FROM gold.orders o JOIN customer c ON")
    assert [c.rsplit("\n", 1)[1].split()[1] for c in columns] == [
        "o.o_id",
        "o.o_total",
        "o.o_customer",
    ]
    where = _complete(kc, "%%sql\nSELECT * FROM silver.customer WHERE c_n|")
    assert where[0].endswith("WHERE c_name")
    assert _complete(kc, "%%sql\nSELECT 1 AS one FR|")[0].endswith("FROM")
    assert _complete(kc, 'df = ws.table("bronze.cl|') == ['df = ws.table("bronze.clicks']
    # a table created by a cell is offered at once
    reply, _ = _execute(kc, "_ = ws.write('gold.orders_2024', pd.DataFrame({'x': [1]}))")
    assert reply["status"] == "ok"
    assert _complete(kc, "%%sql\nFROM gold.orders_|") == ["%%sql\nFROM gold.orders_2024"]


def test_interrupt_cancels_the_query_and_the_connection_stays_usable(
    kernel: tuple[KernelManager, BlockingKernelClient],
) -> None:
    km, kc = kernel
    timer = threading.Timer(1.5, km.interrupt_kernel)
    timer.start()
    try:
        reply, messages = _execute(kc, ENDLESS)
    finally:
        timer.cancel()
    assert reply["status"] == "error" and reply["ename"] == "QueryCancelled"
    (error,) = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert error["traceback"] == [
        "QueryCancelled: The query was cancelled (the kernel was interrupted). The connection "
        "is still usable: run the cell again, or change it first."
    ]
    # without con.interrupt() DuckDB would still be running the query, and this would wait
    reply, messages = _execute(kc, "print(ws.con.execute('SELECT 42').fetchall())")
    assert reply["status"] == "ok"
    assert "[(42,)]" in "".join(m["content"].get("text", "") for m in messages)


def test_a_running_query_shows_progress_then_blanks_it(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    reply, _ = _execute(kc, "%config QueryProgress.after = 0")
    assert reply["status"] == "ok"
    try:
        reply, messages = _execute(
            kc, "%%sql\nSELECT count(DISTINCT i % 1000003) AS d FROM range(3000000) t(i)"
        )
    finally:
        _execute(kc, "%config QueryProgress.after = 1.0")
    assert reply["status"] == "ok"
    (shown,) = [m["content"] for m in messages if m["msg_type"] == "display_data"]
    assert shown["data"]["text/plain"].startswith("Query running · ")
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    display_id = shown["transient"]["display_id"]
    updates = [m["content"] for m in messages if m["msg_type"] == "update_display_data"]
    assert updates[-1]["transient"]["display_id"] == display_id
    assert updates[-1]["data"] == {"text/plain": ""}  # nothing left in the saved notebook
    assert any(m["msg_type"] == "execute_result" for m in messages)


def test_widgets_for_dask_progress_are_installed(kernel: tuple[Any, Any]) -> None:
    _, kc = kernel
    reply, _ = _execute(
        kc, "import ipywidgets\nfrom distributed.diagnostics.progressbar import ProgressWidget"
    )
    assert reply["status"] == "ok", reply
