"""Executors run notebook attempts away from the scheduler process.

:class:`Executor` fixes the lifecycle (template method): :meth:`~Executor.start` once,
then any number of :meth:`~Executor.submit` / :meth:`~Executor.poll` /
:meth:`~Executor.cancel`, then :meth:`~Executor.shutdown`. Subclasses implement the
``_start``/``_submit``/``_poll``/``_cancel``/``_shutdown`` hooks; the public methods check
the state. :meth:`poll` returns ``None`` while running and an :class:`AttemptResult` once the
attempt ended; an executor never raises for a failing notebook.

Cancellation writes ``attempt_dir/CANCEL``; the runner kills the kernel and ends the attempt
as ``cancelled`` with its executed notebook and report. Select an executor with
:func:`get_executor` by name (``"subprocess"``, ``"dask"``) or ``"package.module:Class"``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any

from workspace.jobs.errors import ExecutorError
from workspace.jobs.execution.context import AttemptResult, AttemptSpec
from workspace.jobs.paths import ATTEMPT_RESULT, ATTEMPT_SPEC, CANCEL_FILE, RUNNER_LOG

__all__ = [
    "DEFAULT_EXECUTOR",
    "DaskExecutor",
    "Executor",
    "SubprocessExecutor",
    "executor_names",
    "get_executor",
]

#: Where attempts run unless told otherwise (``workspace scheduler --executor``, the
#: :class:`~workspace.jobs.scheduler.loop.Scheduler`): the Dask cluster of
#: :func:`workspace.scale.cluster` (``WORKSPACE_DASK_SCHEDULER``, else a local one).
DEFAULT_EXECUTOR = "dask"


def _failed(spec: AttemptSpec, message: str, status: str = "failed") -> AttemptResult:
    now = datetime.now(UTC)
    return AttemptResult(status, now, now, spec.attempt_dir, error=message)  # type: ignore[arg-type]


class Executor(ABC):
    """Runs :class:`AttemptSpec` s somewhere and reports their :class:`AttemptResult`.

    Examples
    --------
    >>> executor = get_executor("subprocess")
    >>> executor.start()  # doctest: +SKIP
    >>> handle = executor.submit(spec)  # doctest: +SKIP
    >>> while (result := executor.poll(handle)) is None: time.sleep(1)  # doctest: +SKIP
    >>> executor.shutdown()
    """

    name = "abstract"

    def __init__(self) -> None:
        self._state = "new"

    def start(self) -> None:
        """Acquire resources (a cluster client...). Idempotent."""
        if self._state == "started":
            return
        if self._state == "shut down":
            raise ExecutorError(f"The {self.name} executor was shut down; create a new one.")
        self._start()
        self._state = "started"

    def submit(self, spec: AttemptSpec) -> Any:
        """Start running ``spec``; returns an opaque handle for poll/cancel."""
        self._check()
        spec.attempt_dir.mkdir(parents=True, exist_ok=True)
        return self._submit(spec)

    def poll(self, handle: Any) -> AttemptResult | None:
        """``None`` while the attempt runs, else its result (never raises for a bad run)."""
        self._check()
        return self._poll(handle)

    def cancel(self, handle: Any) -> None:
        """Ask the attempt to stop; :meth:`poll` then reports ``cancelled``."""
        self._check()
        (handle.spec.attempt_dir / CANCEL_FILE).touch()
        self._cancel(handle)

    def shutdown(self) -> None:
        """Release resources. Running attempts are cancelled."""
        if self._state == "started":
            self._shutdown()
        self._state = "shut down"

    def _check(self) -> None:
        if self._state != "started":
            raise ExecutorError(f"The {self.name} executor is {self._state}; call start() first.")

    def _start(self) -> None:  # noqa: B027 - optional hook
        """Hook: acquire resources."""

    @abstractmethod
    def _submit(self, spec: AttemptSpec) -> Any: ...

    @abstractmethod
    def _poll(self, handle: Any) -> AttemptResult | None: ...

    def _cancel(self, handle: Any) -> None:  # noqa: B027 - optional hook
        """Hook: stop the attempt harder than the cancel file (default: nothing)."""

    def _shutdown(self) -> None:  # noqa: B027 - optional hook
        """Hook: release resources."""


class _ProcHandle:
    def __init__(self, spec: AttemptSpec, proc: subprocess.Popen[bytes]) -> None:
        self.spec, self.proc = spec, proc
        self.kill_at: float | None = None


class SubprocessExecutor(Executor):
    """Each attempt in its own ``python -m workspace.jobs.execution.runner`` process.

    ``grace`` is how long a cancelled attempt may take to end itself before its process is
    killed (its result is then ``cancelled`` without a report).
    """

    name = "subprocess"

    def __init__(self, *, python: str = sys.executable, grace: float = 15.0) -> None:
        super().__init__()
        self.python, self.grace = python, grace
        self._handles: list[_ProcHandle] = []

    def _submit(self, spec: AttemptSpec) -> _ProcHandle:
        path = spec.attempt_dir / ATTEMPT_SPEC
        path.write_text(json.dumps(spec.to_dict()))
        log = open(spec.attempt_dir / RUNNER_LOG, "wb")  # noqa: SIM115 - owned by the child
        with log:
            proc = subprocess.Popen(
                [self.python, "-m", "workspace.jobs.execution.runner", str(path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        handle = _ProcHandle(spec, proc)
        self._handles.append(handle)
        return handle

    def _poll(self, handle: _ProcHandle) -> AttemptResult | None:
        code = handle.proc.poll()
        if code is None:
            if handle.kill_at is not None and time.monotonic() > handle.kill_at:
                os.killpg(handle.proc.pid, 9)
            return None
        self._handles = [h for h in self._handles if h is not handle]
        result_path = handle.spec.attempt_dir / ATTEMPT_RESULT
        if result_path.exists():
            return AttemptResult.from_dict(json.loads(result_path.read_text()))
        if handle.kill_at is not None:
            return _failed(handle.spec, "The attempt was cancelled.", "cancelled")
        return _failed(
            handle.spec,
            f"The runner process exited with code {code} without a result; see "
            f"{handle.spec.attempt_dir / RUNNER_LOG}.",
        )

    def _cancel(self, handle: _ProcHandle) -> None:
        handle.kill_at = time.monotonic() + self.grace

    def _shutdown(self) -> None:
        for handle in self._handles:
            (handle.spec.attempt_dir / CANCEL_FILE).touch()
        for handle in self._handles:
            try:
                handle.proc.wait(self.grace)
            except subprocess.TimeoutExpired:
                os.killpg(handle.proc.pid, 9)
                handle.proc.wait()


class _ThisThread(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.ident = threading.get_ident()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.thread == self.ident


def _run_on_worker(spec_data: dict[str, Any]) -> dict[str, Any]:
    """Run one attempt on a Dask worker, logging to ``runner.log`` in its folder like the
    subprocess executor (the worker's other tasks run in other threads: not logged)."""
    from workspace.jobs.execution.runner import run_spec

    spec = AttemptSpec.from_dict(spec_data)
    spec.attempt_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(spec.attempt_dir / RUNNER_LOG, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ThisThread())
    loggers = [logging.getLogger(name) for name in ("workspace", "papermill", "nbclient")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        logging.getLogger("workspace.jobs.execution.runner").warning(
            "attempt %s of %s/%s on Dask worker pid %d",
            spec.context.attempt, spec.context.pipeline, spec.context.task, os.getpid(),
        )  # fmt: skip
        return run_spec(spec).to_dict()
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()


class _DaskHandle:
    def __init__(self, spec: AttemptSpec, future: Any) -> None:
        self.spec, self.future = spec, future


class DaskExecutor(Executor):
    """Attempts as tasks on a Dask cluster (process workers; the attempt folder must be shared).

    Uses ``client`` if given, else :func:`workspace.scale.cluster` (``WORKSPACE_DASK_SCHEDULER``
    or a local cluster).
    """

    name = "dask"

    def __init__(self, *, client: Any = None, address: str | None = None) -> None:
        super().__init__()
        self.client, self.address = client, address

    def _start(self) -> None:
        if self.client is None:
            from workspace.scale import cluster

            # no dashboard: nobody but this service may look into its cluster
            self.client = cluster(address=self.address, quiet=True, dashboard=False)

    def _submit(self, spec: AttemptSpec) -> _DaskHandle:
        ctx = spec.context
        key = f"workspace-attempt-{ctx.run_id}-{ctx.task}-{ctx.attempt}"
        future = self.client.submit(_run_on_worker, spec.to_dict(), key=key, pure=False)
        return _DaskHandle(spec, future)

    def _poll(self, handle: _DaskHandle) -> AttemptResult | None:
        future = handle.future
        if not future.done():
            return None
        if future.cancelled():
            return _failed(handle.spec, "The attempt was cancelled.", "cancelled")
        try:
            return AttemptResult.from_dict(future.result())
        except Exception as exc:  # worker lost, deserialization...: a terminal failure
            return _failed(handle.spec, f"The Dask task failed: {type(exc).__name__}: {exc}")

    def _shutdown(self) -> None:
        self.client = None  # the client belongs to workspace.scale.cluster() or the caller


_BUILTIN: dict[str, type[Executor]] = {
    "subprocess": SubprocessExecutor,
    "dask": DaskExecutor,
}


def executor_names() -> list[str]:
    """Names :func:`get_executor` accepts besides dotted paths."""
    return sorted(_BUILTIN)


def get_executor(name: str, **options: Any) -> Executor:
    """An executor by name (``"subprocess"``, ``"dask"``) or ``"module:Class"``/``"module.Class"``.

    Examples
    --------
    >>> get_executor("subprocess").name
    'subprocess'
    """
    cls = _BUILTIN.get(name)
    if cls is None:
        module_name, _, attr = name.replace(":", ".").rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), attr) if module_name else None
        except (ImportError, AttributeError):
            cls = None
        if not (isinstance(cls, type) and issubclass(cls, Executor)):
            raise ExecutorError(
                f"Unknown executor {name!r}: use one of {', '.join(executor_names())} or a "
                "dotted path to an Executor subclass (e.g. mypkg.executors:MyExecutor)."
            )
    return cls(**options)
