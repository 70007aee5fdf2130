"""``workspace promote``: turn a notebook into a scheduled pipeline after a test run.

:func:`promote_notebook` checks the notebook (a ``parameters`` cell), runs it once as a test
on a throwaway copy of the catalog (it reads the shared lake and can write none of it) and,
when every cell ran and its tables follow the naming standards, writes ``scheduled/<name>/``
with a clean copy of the notebook and a ``pipeline.yaml``.

Design notes: docs/pipelines.md, "Module notes" and "Why a promotion test cannot change
silver or gold".
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from workspace.governance.secrets_scan import describe, hard_coded_secrets
from workspace.governance.standards import current_standards, standards_env
from workspace.governance.standards_check import PromotionCheck, check_promotion
from workspace.jobs.execution.context import AttemptResult, RunContext
from workspace.jobs.execution.isolation import (
    give_tree,
    runner_for_service,
    share_with_runner,
    traversable,
)
from workspace.jobs.paths import PROMOTION_ATTEMPT, SPEC_FILE, JobPaths
from workspace.jobs.spec.pipeline import PIPELINE_NAME, Pipeline, parse_pipeline
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = ["PromoteError", "PromotionResult", "promote_notebook", "throwaway_lake"]


class PromoteError(WorkspaceError):
    """The notebook cannot be promoted; the message says why and what to do."""


@dataclass(frozen=True)
class PromotionResult:
    """A promoted pipeline: its folder, validated spec and the test run that passed."""

    folder: Path
    pipeline: Pipeline
    test: AttemptResult


# -- the throwaway lake ------------------------------------------------------------------
@contextmanager
def throwaway_lake(settings: Settings, folder: Path) -> Iterator[dict[str, str]]:
    """Environment variables giving a process a writable copy of the lake (see module doc).

    The copy lives in ``folder / "lake"`` and is deleted on exit.

    Examples
    --------
    >>> with throwaway_lake(Settings.resolve(), Path("/tmp/promote-x")) as env:
    ...     env["WORKSPACE_CATALOG"].endswith("/lake/catalog.sqlite")
    True
    """
    if settings.catalog.kind != "sqlite" or settings.catalog.path is None:
        raise PromoteError(
            f"The lake catalog {settings.catalog.redacted()} is not an embedded SQLite file, "
            "so a promotion test cannot run on a throwaway copy of it. Test the notebook "
            "with `workspace run` against a staging WORKSPACE_HOME, then add the pipeline "
            "folder under scheduled/ yourself."
        )
    lake = folder / "lake"
    data = lake / "data"
    data.mkdir(parents=True, exist_ok=True)
    copy = lake / "catalog.sqlite"
    try:
        if settings.catalog.path.exists():
            with (
                closing(sqlite3.connect(f"file:{settings.catalog.path}?mode=ro", uri=True)) as src,
                closing(sqlite3.connect(copy)) as dst,
            ):
                src.backup(dst)
            _redirect(copy, data, lake / "shared")
        env = settings.env()
        runner = runner_for_service()
        if runner is not None:
            # Under the scheduler service the test kernel runs as the runner account: the
            # copy is its own, and so is the sandbox (inside the copy, thrown away with it;
            # the promoting user's sandbox is theirs alone).
            traversable(settings.home, folder)
            give_tree(runner, lake)
            env["WORKSPACE_HOME"] = str(lake)
        yield env | {
            "WORKSPACE_CATALOG": f"sqlite:///{copy}",
            "WORKSPACE_DATA_PATH": str(data),
            "WORKSPACE_DASK_SCHEDULER": "",
        }
    finally:
        shutil.rmtree(lake, ignore_errors=True)


def _redirect(copy: Path, data: Path, links: Path) -> None:
    """Point the copied catalog's files at links to the real files, its writes at ``data``."""
    links.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(copy)) as con, con:
        row = con.execute(
            "SELECT value FROM ducklake_metadata WHERE key = 'data_path' AND scope IS NULL"
        ).fetchone()
        if row is None:  # not a DuckLake catalog yet
            return
        real = str(row[0])
        schemas = {
            sid: (path, rel)
            for sid, path, rel in con.execute(
                "SELECT schema_id, path, path_is_relative FROM ducklake_schema "
                "ORDER BY begin_snapshot"
            )
        }
        tables: dict[int, str] = {}
        for tid, sid, path, rel in con.execute(
            "SELECT table_id, schema_id, path, path_is_relative FROM ducklake_table "
            "ORDER BY begin_snapshot"
        ):
            s_path, s_rel = schemas.get(sid, ("", True))
            base = (real + (s_path or "")) if s_rel else (s_path or "")
            tables[tid] = (base + (path or "")) if rel else (path or "")
        for table, id_col in (("ducklake_data_file", "data_file_id"),
                              ("ducklake_delete_file", "delete_file_id")):  # fmt: skip
            rows = con.execute(
                f"SELECT {id_col}, table_id, path, path_is_relative FROM {table}"
            ).fetchall()
            for file_id, tid, path, rel in rows:
                target = (tables.get(tid, real) + path) if rel else path
                link = links / f"{table.removeprefix('ducklake_')}-{file_id}-{Path(path).name}"
                link.symlink_to(target)
                con.execute(
                    f"UPDATE {table} SET path = ?, path_is_relative = 0 WHERE {id_col} = ?",
                    (str(link), file_id),
                )
        con.execute("UPDATE ducklake_schema SET path = schema_name || '/', path_is_relative = 1")
        con.execute("UPDATE ducklake_table SET path = table_name || '/', path_is_relative = 1")
        con.execute("DELETE FROM ducklake_files_scheduled_for_deletion")
        con.execute(
            "UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path' AND scope IS NULL",
            (str(data) + "/",),
        )


# -- promotion ---------------------------------------------------------------------------
def _spec(
    notebook: Path,
    name: str,
    *,
    task: str,
    schedule: str | None,
    timezone: str,
    parameters: Mapping[str, Any],
) -> str:
    data: dict[str, Any] = {"description": f"Promoted from {notebook.name}"}
    if schedule:
        data["schedule"] = {"cron": schedule, "timezone": timezone}
    task_spec: dict[str, Any] = {"name": task, "notebook": notebook.name}
    if parameters:
        task_spec["parameters"] = dict(parameters)
    data["tasks"] = [task_spec]
    header = (
        f"# Promoted with `workspace promote` on {dt.date.today().isoformat()}.\n"
        "# Its owner, review state and audience are recorded by the scheduler service.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _clean_copy(notebook: Path, dest: Path) -> None:
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, dest)


def promote_notebook(
    notebook: Path,
    *,
    name: str,
    scheduled: Path,
    schedule: str | None = None,
    timezone: str = "UTC",
    parameters: Mapping[str, Any] | None = None,
    force: bool = False,
    settings: Settings | None = None,
    kernel: str = "workspace",
    timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
    workdir: Path | None = None,
    before_write: Callable[[Pipeline], None] | None = None,
) -> PromotionResult:
    """Test-run ``notebook`` on a throwaway lake, then write ``scheduled/<name>/``.

    ``workdir`` is where the test run keeps its files (default
    ``<home>/jobs/promote/<name>-<time>``); ``before_write`` is called with the validated
    spec after the test passed and before the folder appears (the service records the
    owner and review state there, so the scheduler never sees an unrecorded folder).

    Raises
    ------
    PromoteError
        Bad name, existing pipeline without ``force``, non-SQLite catalog, a hard-coded
        credential (the message names the cell and the kind of secret), or a failed test
        run (the message names the failing cell, the error and the test's report).
    ParameterError
        No ``parameters`` cell, or ``parameters`` it does not declare.

    Examples
    --------
    >>> promote_notebook(Path("daily.ipynb"), name="daily", scheduled=Path("scheduled"),
    ...                  parameters={"scale": 0.1})  # doctest: +SKIP
    PromotionResult(folder=PosixPath('scheduled/daily'), ...)
    >>> result = promote_notebook(Path("daily.ipynb"), name="daily_sales",
    ...     scheduled=Path("scheduled"), schedule="0 6 * * *")  # doctest: +SKIP
    >>> result.folder  # doctest: +SKIP
    PosixPath('scheduled/daily_sales')
    """
    from workspace.jobs.execution.runner import load_notebook, run_notebook, validate_parameters
    from workspace.jobs.orchestration.adhoc import adhoc_pipeline

    say = progress or (lambda _m: None)
    settings = settings or Settings.resolve()
    notebook = Path(notebook).absolute()
    params = dict(parameters or {})
    if not PIPELINE_NAME.match(name):
        raise PromoteError(
            f"Pipeline name {name!r} is not valid: use lowercase letters, digits and '_', "
            "starting with a letter (e.g. daily_sales)."
        )
    if notebook.suffix != ".ipynb":
        raise PromoteError(f"{notebook} is not a notebook: expected a .ipynb file.")
    target = Path(scheduled) / name
    if (target / SPEC_FILE).exists() and not force:
        raise PromoteError(
            f"Pipeline {name!r} already exists at {target}; pass --force to replace it, or "
            "choose another --pipeline name."
        )
    nb = load_notebook(notebook)
    validate_parameters(notebook, params, nb, kernel_name=kernel)
    found = hard_coded_secrets(nb)  # detect-secrets, before anything runs
    if found:
        raise PromoteError(f"Not promoted: {describe(found, notebook.name)}.")
    runner = runner_for_service()
    if runner is not None and notebook.parent.is_relative_to(settings.home):
        share_with_runner(runner, notebook.parent)  # the test kernel starts beside it
    task = adhoc_pipeline(notebook).tasks[0].name
    spec_text = _spec(
        notebook,
        name,
        task=task,
        schedule=schedule,
        timezone=timezone,
        parameters=params,
    )
    spec = parse_pipeline(spec_text, source=f"{target / SPEC_FILE}", name=name, folder=target)

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    workdir = workdir or JobPaths.of(settings, Path(scheduled)).promotion_dir(f"{name}-{stamp}")
    # the naming standards of the pipelines folder: its kernel refuses new names that break
    # them, and the tables the test run wrote are checked below (docs/governance.md)
    standards = current_standards(scheduled)
    say(f"test run of {notebook.name} on kernel {kernel} (writes go to a throwaway lake)")
    checked = PromotionCheck()
    with throwaway_lake(settings, workdir) as env:
        result = run_notebook(
            notebook,
            parameters=params,
            context=RunContext(f"promote-{stamp}", name, task),
            attempt_dir=workdir / PROMOTION_ATTEMPT,
            kernel_name=kernel,
            timeout=timeout,
            env=env | standards_env(scheduled),
        )
        if result.ok:
            checked = check_promotion([w.table for w in result.writes], env, standards)
    say(f"test run {result.status} in {result.duration:.1f}s")
    if not result.ok:
        cell = f" in cell {result.cell_index}" if result.cell_index is not None else ""
        raise PromoteError(
            f"Not promoted: the test run of {notebook.name} {result.status}{cell}: "
            f"{result.error or 'no error message'}. Fix the notebook and promote again; "
            f"report: {result.report or result.executed_notebook or workdir}"
        )
    for warning in checked.warnings:
        say(f"warning: {warning.message}")
    if checked.refused:
        raise PromoteError(checked.message(notebook.name))
    if before_write is not None:
        before_write(spec)
    _write(target, notebook, spec_text, force=force)
    return PromotionResult(folder=target, pipeline=spec, test=result)  # the spec it wrote


def _write(target: Path, notebook: Path, spec_text: str, *, force: bool) -> None:
    """Write the folder next to ``target`` and move it into place in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        _clean_copy(notebook, staging / notebook.name)
        (staging / SPEC_FILE).write_text(spec_text, encoding="utf-8")
        if target.exists():
            if not force:
                raise PromoteError(f"{target} already exists; pass --force to replace it.")
            old = target.with_name(f".{target.name}-replaced-{os.getpid()}")
            os.replace(target, old)
            os.replace(staging, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    runner = runner_for_service()
    if runner is not None:  # its kernels start in the folder and read what lies beside
        share_with_runner(runner, target)
