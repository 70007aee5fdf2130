"""One-off runs of a notebook (``workspace run NOTEBOOK``), recorded in the run store.

:func:`run_adhoc` runs the notebook as a manual run of an in-memory *ad-hoc pipeline*
(``adhoc_<notebook stem>``) through the same run driver and runner as scheduled runs, so it
gets the same executed notebook, report, outputs and history. :class:`InlineExecutor` runs
attempts in threads of the calling process (the CLI only).

Design notes: docs/pipelines.md, "Module notes".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workspace.jobs.execution.context import AttemptResult, AttemptSpec
from workspace.jobs.execution.executors import Executor
from workspace.jobs.models import RunDetail
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import Pipeline, Task, TaskDefaults
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = [
    "ADHOC_PREFIX",
    "InlineExecutor",
    "adhoc_pipeline",
    "notebook_kernel",
    "parse_parameters",
    "parse_value",
    "run_adhoc",
]

ADHOC_PREFIX = "adhoc_"
_NOT_NAME = re.compile(r"[^a-z0-9_]+")


def parse_value(raw: str) -> Any:
    """A ``-p NAME VALUE`` value, read as YAML like ``papermill -p`` does.

    Numbers, booleans and ``null`` become Python values, ``[..]`` and ``{..}`` lists and
    dicts; anything else (dates included) stays the string that was typed.

    Examples
    --------
    >>> [parse_value(v) for v in ["3", "0.5", "true", "abc", "[1, 2]", "2024-01-01", ""]]
    [3, 0.5, True, 'abc', [1, 2], '2024-01-01', '']
    """
    if not raw.strip():
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw
    try:
        json.dumps(value)
    except (TypeError, ValueError):  # dates, timestamps, ...: keep what was typed
        return raw
    return value


def parse_parameters(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> dict[str, Any]:
    """``-p NAME VALUE`` pairs as a dict (a repeated name keeps its last value).

    >>> parse_parameters([("n", "3"), ("label", "eu")])
    {'n': 3, 'label': 'eu'}
    """
    return {name: parse_value(value) for name, value in pairs}


def notebook_kernel(notebook: Path, default: str = "workspace") -> str:
    """The kernel named in the notebook's metadata, else ``default``."""
    try:
        data = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default
    name = (
        data.get("metadata", {}).get("kernelspec", {}).get("name")
        if isinstance(data, dict)
        else None
    )
    return str(name) if name else default


def _slug(stem: str) -> str:
    slug = _NOT_NAME.sub("_", stem.lower()).strip("_")
    slug = slug.lstrip("0123456789_")
    return slug or "notebook"


def adhoc_pipeline(notebook: Path, *, kernel: str | None = None) -> Pipeline:
    """The in-memory one-task pipeline of a one-off run of ``notebook``.

    Examples
    --------
    >>> p = adhoc_pipeline(Path("/work/Daily Sales.ipynb"), kernel="python3")
    >>> p.name, p.tasks[0].name, p.tasks[0].notebook, p.folder.as_posix()
    ('adhoc_daily_sales', 'daily_sales', 'Daily Sales.ipynb', '/work')
    """
    notebook = Path(notebook).absolute()
    slug = _slug(notebook.stem)
    return Pipeline(
        name=f"{ADHOC_PREFIX}{slug}",
        description=f"One-off runs of {notebook}",
        max_active_runs=100,
        defaults=TaskDefaults(retries=0, kernel=kernel or notebook_kernel(notebook)),
        tasks=[Task(name=slug, notebook=notebook.name)],
        folder=notebook.parent,
    )


@dataclass
class _InlineHandle:
    spec: AttemptSpec
    future: Future[AttemptResult]
    cancel: threading.Event


def _warm_up() -> None:
    with contextlib.suppress(Exception):  # the render reports its own errors later
        import workspace.jobs.execution.report  # noqa: F401


class InlineExecutor(Executor):
    """Runs each attempt in a thread of this process (for the CLI, never the scheduler).

    ``max_workers`` bounds the attempts running at once. Cancellation sets the attempt's
    cancel event (and the ``CANCEL`` file), so the runner kills the kernel and ends it as
    ``cancelled``.

    Examples
    --------
    >>> executor = InlineExecutor()
    >>> executor.start()
    >>> handle = executor.submit(spec)  # doctest: +SKIP
    >>> executor.shutdown()
    """

    name = "inline"

    def __init__(self, *, max_workers: int = 4) -> None:
        super().__init__()
        self.max_workers = max_workers
        self._pool: ThreadPoolExecutor | None = None
        self._handles: list[_InlineHandle] = []

    def _start(self) -> None:
        self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="workspace-inline")
        # Import the report renderer while the first kernel starts (it is idle time for
        # this process); a fresh CLI process saves that import after the notebook ran.
        threading.Thread(target=_warm_up, name="workspace-warm-up", daemon=True).start()

    def _submit(self, spec: AttemptSpec) -> _InlineHandle:
        from workspace.jobs.execution.runner import run_spec

        assert self._pool is not None
        cancel = threading.Event()
        handle = _InlineHandle(spec, self._pool.submit(run_spec, spec, cancel), cancel)
        self._handles.append(handle)
        return handle

    def _poll(self, handle: _InlineHandle) -> AttemptResult | None:
        if not handle.future.done():
            return None
        self._handles = [h for h in self._handles if h is not handle]
        try:
            return handle.future.result()
        except Exception as exc:  # run_spec never raises for a bad notebook; be safe anyway
            now = dt.datetime.now(dt.UTC)
            error = f"The attempt failed: {type(exc).__name__}: {exc}"
            return AttemptResult("failed", now, now, handle.spec.attempt_dir, error=error)

    def _cancel(self, handle: _InlineHandle) -> None:
        handle.cancel.set()

    def _shutdown(self) -> None:
        for handle in self._handles:
            handle.cancel.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self._pool = None


def run_adhoc(
    notebook: Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    settings: Settings,
    kernel: str | None = None,
    executor: Executor | None = None,
    progress: Callable[[str], None] | None = None,
    timeout: float | None = None,
) -> RunDetail:
    """Run ``notebook`` once as a manual run of its ad-hoc pipeline; returns the run detail.

    Parameters are checked against the notebook's ``parameters`` cell before the run is
    created (:class:`~workspace.jobs.errors.ParameterError` otherwise). The executor
    defaults to an :class:`InlineExecutor`.

    Examples
    --------
    >>> detail = run_adhoc(Path("daily.ipynb"), {"n": 3},
    ...                    settings=Settings.resolve())  # doctest: +SKIP
    >>> detail.run.pipeline  # doctest: +SKIP
    'adhoc_daily'
    >>> from workspace.lake.settings import Settings
    >>> detail = run_adhoc(Path("daily.ipynb"), {"day": "2024-01-01"},
    ...                    settings=Settings.resolve())  # doctest: +SKIP
    >>> detail.run.state  # doctest: +SKIP
    <RunState.SUCCEEDED: 'succeeded'>
    """
    from workspace.jobs.execution.runner import validate_parameters
    from workspace.jobs.store.run_store import RunStore

    notebook = Path(notebook).absolute()
    if not notebook.is_file():
        raise WorkspaceError(f"Notebook {notebook} does not exist; check the path.")
    if notebook.suffix != ".ipynb":
        raise WorkspaceError(f"{notebook} is not a notebook: expected a .ipynb file.")
    pipeline = adhoc_pipeline(notebook, kernel=kernel)
    params = dict(parameters or {})
    validate_parameters(notebook, params, kernel_name=pipeline.defaults.kernel)
    own = executor is None
    ex = executor or InlineExecutor(max_workers=1)
    with RunStore.open(settings) as store:
        store.upsert_pipeline(pipeline.name)
        run = store.create_manual_run(pipeline.name, parameters=params)
        if progress:
            progress(f"run {run.run_id}: {notebook.name} on kernel {pipeline.defaults.kernel}")
        ex.start()
        try:
            driver = RunDriver(
                pipeline,
                store,
                ex,
                settings=settings,
                run_id=run.run_id,
                poll_interval=0.01,
                progress=progress,
            )
            return driver.run(timeout=timeout)
        finally:
            if own:
                ex.shutdown()
