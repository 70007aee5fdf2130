"""Run one attempt of a notebook task with papermill and always end in a terminal state.

:func:`run_notebook` validates the parameters against the notebook's ``parameters`` cell,
runs it on a fresh kernel, writes a read-only ``executed.ipynb`` and a sanitized
``report.html`` into the attempt folder and returns an :class:`AttemptResult` whose status is
``succeeded`` only when every cell ran without error.

Run it in a separate process with ``python -m workspace.jobs.execution.runner ATTEMPT.json``:
it reads an :class:`AttemptSpec` and writes ``result.json`` next to it (used by the executors).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from papermill.exceptions import PapermillExecutionError

from workspace.jobs import paths  # the attempt folder's file names
from workspace.jobs.errors import InvalidNotebookError, JobError, ParameterError
from workspace.jobs.execution._engine import Control, cancel_requested, register_engine
from workspace.jobs.execution.context import (
    DEFAULT_MAX_OUTPUT_BYTES,
    AttemptResult,
    AttemptSpec,
    RunContext,
    Status,
    TableWrite,
)
from workspace.jobs.execution.isolation import KernelScratch, kernel_environment, runner_account
from workspace.jobs.execution.outputs import OUTPUTS_ENV, read_outputs
from workspace.jobs.execution.resources import ResourceSampler
from workspace.lake.writes import WRITE_LOG_ENV
from workspace.params import PARAMETERS_ENV, check_injected, with_declared

# fmt: off
__all__ = [
    "AttemptResult", "RunContext", "load_notebook", "read_writes", "run_notebook",
    "validate_parameters",
]
# fmt: on

log = logging.getLogger(__name__)
_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list, tuple),
    "dict": (dict,),
}


def load_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate a notebook, raising :class:`InvalidNotebookError` with the reason.

    Examples
    --------
    >>> load_notebook(Path("missing.ipynb"))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    InvalidNotebookError: Notebook missing.ipynb does not exist ...
    """
    if not path.is_file():
        raise InvalidNotebookError(f"Notebook {path} does not exist; check the task's path.")
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidNotebookError(
            f"Notebook {path} is not a valid Jupyter notebook ({reason}). Open and save it in "
            "JupyterLab, or restore it from version control."
        ) from None
    for cell in nb.cells:  # papermill expects every cell to have tags, as its loader ensures
        cell.metadata.setdefault("tags", [])
    return nb


def declared_parameters(
    notebook: Path, nb: nbformat.NotebookNode | None = None, *, kernel_name: str = "workspace"
) -> dict[str, dict[str, Any]]:
    """The notebook's parameters cell, inspected by papermill: name -> default, type, help.

    Examples
    --------
    >>> sorted(declared_parameters(Path("daily.ipynb")))  # doctest: +SKIP
    ['day', 'region']
    """
    nb = nb if nb is not None else load_notebook(notebook)
    if nb.metadata.get("kernelspec", {}).get("name"):
        return with_declared(notebook, nb.cells, dict(papermill.inspect_notebook(str(notebook))))
    # papermill's inspect_notebook needs a kernelspec; the run's kernel tells the language
    from papermill.inspection import _infer_parameters

    inferred = _infer_parameters(nb, name=kernel_name, language=_language(nb, kernel_name))
    return with_declared(notebook, nb.cells, {p.name: p._asdict() for p in inferred})


def validate_parameters(
    notebook: Path,
    parameters: dict[str, Any],
    nb: nbformat.NotebookNode | None = None,
    *,
    kernel_name: str = "workspace",
) -> None:
    """Check ``parameters`` against the notebook's ``parameters`` cell.

    Raises :class:`ParameterError` for a missing ``parameters`` cell, unknown names, a value
    whose type differs from the type of the cell's default (``int``, ``float``, ``str``,
    ``bool``, ``list``, ``dict``; ``float`` takes ``int``) or outside its widget declaration.

    Examples
    --------
    >>> validate_parameters(Path("daily.ipynb"), {"day": "2024-01-01"})  # doctest: +SKIP
    """
    nb = nb if nb is not None else load_notebook(notebook)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise ParameterError(
            f"Notebook {notebook} has no cell tagged 'parameters'. In JupyterLab select the "
            "cell that assigns the defaults, open the property inspector and add the tag "
            "'parameters'."
        )
    declared = declared_parameters(notebook, nb, kernel_name=kernel_name)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise ParameterError(
            f"Notebook {notebook} has no parameter {', '.join(map(repr, unknown))} "
            f"(its parameters cell defines: {known}). Fix the name in pipeline.yaml or add it "
            "to the parameters cell."
        )
    problems = []
    for name, value in parameters.items():
        expected = _expected_type(declared[name])
        if expected and not _matches(value, expected):
            problems.append(
                f"{name!r} should be {expected} but got {type(value).__name__} {value!r}"
            )
    if problems:
        raise ParameterError(
            f"Wrong parameter types for notebook {notebook}: {'; '.join(problems)}. "
            "Pass values of the type of the defaults in the parameters cell."
        )
    check_injected(notebook, nb.cells, parameters, ParameterError)  # widgets: choices, bounds


def _language(nb: nbformat.NotebookNode, kernel_name: str) -> str:
    if language := nb.metadata.get("kernelspec", {}).get("language"):
        return str(language)
    try:
        from jupyter_client.kernelspec import get_kernel_spec

        return str(get_kernel_spec(kernel_name).language or "python")
    except Exception:
        return "python"


def _expected_type(info: dict[str, Any]) -> str | None:
    annotated = str(info.get("inferred_type_name") or "None")
    if annotated in _TYPES:
        return annotated
    try:
        default = ast.literal_eval(str(info.get("default")))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    for name, types in _TYPES.items():
        if type(default) in types and (name != "float" or isinstance(default, float)):
            return name
    return None


def _matches(value: Any, kind: str) -> bool:
    return (kind == "bool" or not isinstance(value, bool)) and isinstance(value, _TYPES[kind])


def run_notebook(
    notebook: Path,
    *,
    parameters: dict[str, Any],
    context: RunContext,
    attempt_dir: Path,
    kernel_name: str = "workspace",
    timeout: float | None = None,
    cell_timeout: float | None = None,
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES,
    env: dict[str, str] | None = None,
    cancel_event: threading.Event | None = None,
    report: bool = True,
) -> AttemptResult:
    """Run ``notebook`` once with ``parameters`` and return how the attempt ended.

    Parameters
    ----------
    notebook:
        The source notebook; it needs a cell tagged ``parameters``.
    parameters:
        Values for the parameters cell. ``workspace_run_id``, ``workspace_pipeline``,
        ``workspace_task``, ``workspace_attempt``, ``workspace_logical_date`` (ISO string)
        and ``workspace_environment`` are injected as well, and exported to the kernel as
        ``WORKSPACE_RUN_ID`` etc.
    context:
        The run, pipeline, task, attempt, logical date and environment.
    attempt_dir:
        A new (or empty) folder for ``executed.ipynb`` (read-only), ``report.html``,
        ``outputs.json`` and ``writes.jsonl`` (the kernel gets ``WORKSPACE_WRITE_LOG``
        pointing there; the lake writes it records become ``AttemptResult.writes``).
    kernel_name:
        Kernel spec to run on (``workspace`` binds ``ws`` and ``%%sql``).
    timeout, cell_timeout:
        Seconds for the whole attempt (kernel start included) and for each cell; ``None``
        waits forever. Either ends the attempt as ``timed_out``.
    max_output_bytes:
        Output kept per cell; the rest is dropped and a marker says how much.
    env:
        Extra environment variables for the kernel.
    cancel_event:
        Set it (from another thread) to cancel; creating ``attempt_dir / "CANCEL"`` does
        the same from another process. The attempt ends as ``cancelled``.
    report:
        Render ``report.html`` (default).

    Raises
    ------
    InvalidNotebookError, ParameterError
        Before anything runs, for a broken notebook or parameters that do not fit it.

    Examples
    --------
    >>> ctx = RunContext("r1", "sales", "daily")
    >>> result = run_notebook(Path("daily.ipynb"), parameters={"day": "2024-01-01"},
    ...     context=ctx, attempt_dir=Path("runs/r1/daily/1"))  # doctest: +SKIP
    >>> result.status, result.outputs  # doctest: +SKIP
    ('succeeded', {'row_count': 42})
    """
    notebook, attempt_dir = Path(notebook).resolve(), Path(attempt_dir)
    nb = load_notebook(notebook)
    validate_parameters(notebook, parameters, nb, kernel_name=kernel_name)
    attempt_dir.mkdir(parents=True, exist_ok=True)
    executed = attempt_dir / paths.EXECUTED_NOTEBOOK
    if executed.exists():
        raise JobError(
            f"Attempt folder {attempt_dir} was already used; give every attempt its own."
        )
    started, t0 = datetime.now(UTC), time.monotonic()
    # The kernel runs the pipeline's code: as the runner account when one is configured,
    # in a scratch folder of its own, with an environment cleared of the service's secrets.
    runner = runner_account()
    scratch = KernelScratch(runner) if runner is not None else None
    kernel_dir = scratch.path if scratch is not None else attempt_dir
    outputs_path, writes_path = kernel_dir / paths.OUTPUTS_FILE, kernel_dir / paths.WRITES_FILE
    extra = {
        **(env or {}),
        **context.env(),
        OUTPUTS_ENV: str(outputs_path),
        WRITE_LOG_ENV: str(writes_path),
        PARAMETERS_ENV: json.dumps(parameters, default=str),  # widget declarations check them
    }
    if scratch is not None:
        extra |= {"HOME": str(scratch.home), "IPYTHONDIR": str(scratch.file(".ipython"))}
    control = Control(
        kernel_env=kernel_environment(os.environ, extra),
        cwd=notebook.parent,
        max_output_bytes=max_output_bytes,
        deadline=None if timeout is None else t0 + timeout,
        cancel_event=cancel_event,
        cancel_file=attempt_dir / paths.CANCEL_FILE,
        launch=runner.popen_kwargs() if runner is not None else None,
        connection_file=scratch.file("kernel.json") if scratch is not None else None,
        give=scratch.give if scratch is not None else None,
    )
    status: Status = "succeeded"
    info: dict[str, Any] = {}
    try:  # the sampler measures the kernel's process tree from outside it
        with control, ResourceSampler(lambda: control.pid) as sampler:
            status, info = _execute(nb, parameters, context, control, kernel_name, cell_timeout)
        if scratch is not None:  # what the kernel reported, kept with the attempt
            for name in paths.KERNEL_FILES:
                if (scratch.path / name).is_file():
                    shutil.copyfile(scratch.path / name, attempt_dir / name)
    finally:
        if scratch is not None:
            scratch.cleanup()
    if control.reason is not None and status != "succeeded":
        status = "cancelled" if control.reason == "cancelled" else "timed_out"
        info["error"] = (
            "The attempt was cancelled."
            if status == "cancelled"
            else f"The attempt ran longer than its timeout of {timeout:g}s."
        )
    executed_path = _save_executed(control.nb if control.nb is not None else nb, executed)
    result = AttemptResult(
        status=status,
        started=started,
        finished=datetime.now(UTC),
        attempt_dir=attempt_dir,
        executed_notebook=executed_path,
        outputs=_safe_outputs(attempt_dir / paths.OUTPUTS_FILE),
        writes=read_writes(attempt_dir / paths.WRITES_FILE),
        resources=sampler.result(),
        **info,
    )
    if report:
        result.report = _render(result, context, executed_path, attempt_dir / paths.REPORT_FILE)
    return result


def _execute(
    nb: nbformat.NotebookNode,
    parameters: dict[str, Any],
    context: RunContext,
    control: Control,
    kernel_name: str,
    cell_timeout: float | None,
) -> tuple[Status, dict[str, Any]]:
    """Run the notebook through papermill; the status and what is known of a failure."""
    status: Status = "succeeded"
    info: dict[str, Any] = {}
    try:
        papermill.execute_notebook(
            nb,
            None,
            parameters={**parameters, **context.parameters()},
            engine_name=register_engine(),
            kernel_name=kernel_name,
            language=_language(nb, kernel_name),
            execution_timeout=cell_timeout,
            progress_bar=False,
            workspace_control=control,
        )
        failed = _first_error(control.nb)
        if failed is not None:  # papermill lets SystemExit(0) pass; a run must not
            index, err = failed
            status, info = "failed", _cell_info(control, index)
            info.update(ename=err.get("ename"), evalue=err.get("evalue"))
            info["error"] = f"{err.get('ename')}: {err.get('evalue')}"
    except PapermillExecutionError as exc:
        status, info = "failed", _cell_info(control, exc.cell_index)
        info.update(ename=exc.ename, evalue=exc.evalue)
        info["error"] = f"{exc.ename}: {exc.evalue}".strip(": ")
    except CellTimeoutError as exc:
        status, info = "timed_out", _cell_info(control, control.current_cell)
        info["error"] = (
            f"A cell ran longer than the cell timeout of {cell_timeout:g}s."
            if cell_timeout is not None and "IOPub" not in str(exc)
            else f"The kernel stopped sending a cell's output: {str(exc).splitlines()[0]}"
        )
    except DeadKernelError:
        status, info = "failed", _cell_info(control, control.current_cell)
        info["error"] = _dead_kernel_message(control)
    except Exception as exc:  # kernel start failures, I/O errors: never a success
        status, info = "failed", _cell_info(control, control.current_cell)
        info["error"] = f"The run failed: {type(exc).__name__}: {exc}"
        if not control.kernel_ready and control.reason is None:
            # e.g. nbclient's "Kernel didn't respond in 60 seconds": an infrastructure failure
            info["infrastructure"] = True
            info["error"] = f"The kernel did not start: {type(exc).__name__}: {exc}"
        log.warning("attempt of %s failed outside a cell", context.task, exc_info=True)
    return status, control.redactor.mapping(info)  # an error message may quote a secret


def _first_error(nb: nbformat.NotebookNode | None) -> tuple[int, dict[str, Any]] | None:
    for index, cell in enumerate(nb.cells if nb is not None else []):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return index, out
    return None


def _cell_info(control: Control, index: int | None) -> dict[str, Any]:
    if index is None or control.nb is None:
        return {}
    cells = [c for c in control.nb.cells if "papermill-error-cell-tag" not in _tags(c)]
    if index >= len(cells):
        return {}
    injected = sum("injected-parameters" in _tags(c) for c in cells[:index])
    source = cells[index].source
    # 1-based, as people count their cells, the injected parameters cell left out
    return {"cell_index": index - injected + 1, "cell_source": source[:500]}


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _dead_kernel_message(control: Control) -> str:
    code = control.kernel_exit_code()
    how = f"exit code {code}" if code is not None and code >= 0 else ""
    if code is not None and code < 0:
        how = f"killed by {signal.Signals(-code).name}"
    hint = (
        " The usual cause is running out of memory: process less data per cell or use a "
        "bigger worker."
        if code in (-signal.SIGKILL, None)
        else " Check the cell for os._exit() or a crashing extension."
    )
    return f"The kernel died ({how or 'unknown cause'}).{hint}"


def _save_executed(nb: nbformat.NotebookNode, path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=".executed-", suffix=".ipynb", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return path


def _safe_outputs(path: Path) -> dict[str, Any]:
    try:
        return read_outputs(path)
    except JobError as exc:
        log.warning("%s", exc)
        return {}


def read_writes(path: Path) -> list[TableWrite]:
    """The lake writes a kernel recorded in ``path`` (``writes.jsonl``), in commit order.

    A missing file means no writes; an unreadable line (a kernel killed mid-write) is skipped.

    Examples
    --------
    >>> read_writes(Path("/nonexistent/writes.jsonl"))
    []
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    writes = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            writes.append(TableWrite.from_dict(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("skipped line %d of %s: %s", number, path, exc)
    return writes


def _render(result: AttemptResult, ctx: RunContext, executed: Path, out: Path) -> Path | None:
    from workspace.jobs.execution.report import render_report

    try:
        title = f"{ctx.pipeline} / {ctx.task}"
        return render_report(executed, out, title=title, context=ctx, status=result.status)
    except Exception:
        log.warning("could not render the report of %s", executed, exc_info=True)
        return None


def run_spec(spec: AttemptSpec, cancel_event: threading.Event | None = None) -> AttemptResult:
    """Run an :class:`AttemptSpec`; user errors become a ``failed`` result, never a raise."""
    started = datetime.now(UTC)
    try:
        return run_notebook(
            spec.notebook,
            parameters=spec.parameters,
            context=spec.context,
            attempt_dir=spec.attempt_dir,
            kernel_name=spec.kernel_name,
            timeout=spec.timeout,
            cell_timeout=spec.cell_timeout,
            max_output_bytes=spec.max_output_bytes,
            env=spec.env,
            cancel_event=cancel_event,
        )
    except Exception as exc:  # an error on the way down from a cancel is still a cancel
        asked = cancel_requested(cancel_event, spec.attempt_dir / paths.CANCEL_FILE)
        status: Status = "cancelled" if asked else "failed"
        return AttemptResult(status, started, datetime.now(UTC), spec.attempt_dir, error=str(exc))


def main(argv: list[str] | None = None) -> int:
    """``python -m workspace.jobs.execution.runner ATTEMPT.json``: write ``result.json``."""
    args = sys.argv[1:] if argv is None else argv
    spec_path = Path(args[0])
    result = run_spec(AttemptSpec.from_dict(json.loads(spec_path.read_text())))
    tmp = spec_path.with_name(f".{paths.ATTEMPT_RESULT}.tmp")
    tmp.write_text(json.dumps(result.to_dict()))
    os.replace(tmp, spec_path.with_name(paths.ATTEMPT_RESULT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
