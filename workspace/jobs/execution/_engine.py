"""The papermill engine of the runner: kernel env, per-cell output caps, kill switch, and
the redaction of secret values from the executed notebook.

Private to :mod:`workspace.jobs.execution.runner`. The engine is registered with papermill lazily by
:func:`register_engine` (never on import).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.utils import remove_args

from workspace.governance.secrets import redactor

ENGINE_NAME = "workspace"
log = logging.getLogger("workspace.jobs.execution.runner")

#: Seconds to wait for a cell's remaining output after its execute reply.
IOPUB_TIMEOUT = 60.0


class Control:
    """Shared state between the runner, the engine and the watchdog thread of one attempt."""

    def __init__(
        self,
        *,
        kernel_env: dict[str, str],
        cwd: Path,
        max_output_bytes: int,
        deadline: float | None,
        cancel_event: threading.Event | None,
        cancel_file: Path | None,
        launch: dict[str, Any] | None = None,
        connection_file: Path | None = None,
        give: Callable[[Path], Path] | None = None,
    ) -> None:
        self.kernel_env = kernel_env
        self.launch = launch or {}  # extra Popen arguments: the runner account (isolation.py)
        self.connection_file = connection_file
        self.give = give
        self.cwd = cwd
        self.max_output_bytes = max_output_bytes
        self.deadline = deadline
        self.cancel_event = cancel_event
        self.cancel_file = cancel_file
        # the values of the secrets the kernel can resolve (workspace.secret), from the same
        # sources: replaced in every output before the notebook is saved (and in errors)
        self.redactor = redactor(kernel_env)
        self.reason: str | None = None  # "cancelled" | "timed_out" once the watchdog fired
        self.kernel_ready = False  # the kernel answered kernel_info: it started
        self.nb: NotebookNode | None = None
        self.current_cell: int | None = None
        self.pid: int | None = None
        self.process: Any = None
        self._sizes: dict[int, int] = {}
        self._markers: dict[int, NotebookNode] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="workspace-watchdog", daemon=True)

    # -- watchdog ---------------------------------------------------------------------
    def __enter__(self) -> Control:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._done.wait(0.1):
            if self.reason is None:
                if cancel_requested(self.cancel_event, self.cancel_file):
                    self.reason = "cancelled"
                elif self.deadline is not None and time.monotonic() > self.deadline:
                    self.reason = "timed_out"
            if self.reason is not None and self.pid is not None:
                self.kill_kernel()

    def kernel_started(self, km: Any) -> None:
        process = getattr(getattr(km, "provisioner", None), "process", None)
        self.process = process
        self.pid = getattr(process, "pid", None)

    def kill_kernel(self) -> None:
        pid, self.pid = self.pid, None
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if os.getpgid(pid) == pid:  # the kernel leads its own session: take its children too
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)

    def kernel_exit_code(self) -> int | None:
        if self.process is None:
            return None
        with contextlib.suppress(Exception):
            self.process.wait(timeout=2)
        return getattr(self.process, "returncode", None)

    # -- output cap -------------------------------------------------------------------
    def cap(self, outs: list[NotebookNode], out: NotebookNode, cell_index: int) -> None:
        size = _size(out)
        used = self._sizes.get(cell_index, 0)
        self._sizes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return
        if outs and outs[-1] is out:
            outs.pop()
        room = self.max_output_bytes - used
        if cell_index not in self._markers and room > 0 and out.get("output_type") == "stream":
            text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
            outs.append(new_output("stream", name=out["name"], text=_head(text, room)))
        marker = self._markers.get(cell_index)
        if marker is None:
            marker = new_output("stream", name="stderr", text="")
            self._markers[cell_index] = marker
        elif marker in outs:
            outs.remove(marker)
        outs.append(marker)  # keep the marker last
        marker["text"] = (
            f"\n[output truncated by workspace: {_mb(used + size)} > "
            f"{_mb(self.max_output_bytes)}]\n"
        )


def cancel_requested(event: threading.Event | None, file: Path | None) -> bool:
    """Whether a cancel was asked: ``event`` set, or ``file`` created by another process."""
    return (event is not None and event.is_set()) or (file is not None and file.exists())


def _size(out: NotebookNode) -> int:
    if out.get("output_type") == "stream":
        text = out.get("text", "")
        return len(text) if isinstance(text, str) else sum(map(len, text))
    total = 0
    for value in out.get("data", {}).values():
        total += len(value) if isinstance(value, str) else len(str(value))
    return total


def _head(text: str, room: int) -> str:
    return text.encode()[:room].decode(errors="ignore")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} KB"


class _Client(PapermillNotebookClient):
    ws_control: Control

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        control = self.ws_control
        kwargs["env"] = control.kernel_env
        kwargs["cwd"] = str(control.cwd)
        kwargs.update(control.launch)
        if control.connection_file is not None and self.km is not None:
            # the kernel (another account) must read its connection file: write it where
            # that account can, and hand it over each time the manager (re)writes it
            km, give = self.km, control.give
            write = km.write_connection_file

            def write_and_give(**kw: Any) -> None:
                write(**kw)
                if give is not None:
                    give(Path(km.connection_file))

            km.connection_file = str(control.connection_file)
            km.write_connection_file = write_and_give
            # Unix sockets in the kernel's private folder, not TCP ports any account could
            # connect to
            km.transport = "ipc"
            km.ip = str(control.connection_file.with_name("k"))
        await super().async_start_new_kernel(**kwargs)
        self.ws_control.kernel_started(self.km)

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()  # waits for kernel_info
        self.ws_control.kernel_ready = True
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, *a: Any, **kw: Any):
        self.ws_control.current_cell = cell_index
        try:
            return await super().async_execute_cell(cell, cell_index, *a, **kw)
        except CellTimeoutError:
            self.ws_control.kill_kernel()  # the cell still runs: do not wait for a shutdown
            raise

    execute_cell = run_sync(async_execute_cell)

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        out = super().output(outs, msg, display_id, cell_index)
        if out is not None:
            self.ws_control.cap(outs, out, cell_index)
        return out


class WorkspaceEngine(NBClientEngine):
    """:class:`papermill.engines.NBClientEngine` with the runner's :class:`Control` hooks."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        workspace_control: Control | None = None,
        **kwargs: Any,
    ) -> NotebookNode:
        assert workspace_control is not None, "the workspace engine needs workspace_control="
        kwargs = remove_args(["input_path", "timeout", "startup_timeout"], **kwargs)
        # nbclient waits only 4 s for a cell's remaining output after its reply; a cell that
        # printed a lot on a busy machine then "timed out" although no timeout was set
        kwargs.setdefault("iopub_timeout", IOPUB_TIMEOUT)
        client = _Client(
            nb_man,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=log,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        client.ws_control = workspace_control
        workspace_control.nb = nb_man.nb
        try:
            return client.execute()
        finally:  # whatever the end: no secret value stays in an output
            workspace_control.redactor.notebook(nb_man.nb)


class _DropInjectedWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Passed unknown parameter: workspace_" not in record.getMessage()


_registered = threading.Lock()


def register_engine() -> str:
    """Register :class:`WorkspaceEngine` with papermill (idempotent); returns its name."""
    with _registered:
        if ENGINE_NAME not in papermill_engines._engines:
            papermill_engines.register(ENGINE_NAME, WorkspaceEngine)
            logging.getLogger("papermill").addFilter(_DropInjectedWarnings())
    return ENGINE_NAME
