"""What "Schedule this notebook" does, without HTTP: cron previews, notebook inspection
and promotion (:func:`workspace.jobs.orchestration.promote.promote_notebook`).

Notebook paths are relative to the Jupyter server's root folder, as in the Contents API;
a path that leaves it is refused with :class:`PermissionError`.

Examples
--------
>>> cron_preview("0 6 * * mon-fri", "UTC").description
'At 06:00 AM, Monday through Friday'
>>> suggested_name("2024 Sales-Report (v2).ipynb")
'nb_2024_sales_report_v2'
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from workspace.api.errors import ConflictError
from workspace.jobs.orchestration.promote import PromoteError, promote_notebook
from workspace.jobs.paths import PROMOTION_ATTEMPT, SPEC_FILE, TEST_RECORD, JobPaths
from workspace.jobs.spec.schedule import CronSchedule, ScheduleError
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings
from workspace.server.models import CronPreview, NotebookInfo, NotebookParameter, PromoteRequest


class NotebookNotFoundError(WorkspaceError, LookupError):
    """No notebook at the given path."""


def cron_preview(
    cron: str, timezone: str = "UTC", *, now: dt.datetime | None = None, n: int = 3
) -> CronPreview:
    """A cron expression in words and its next ``n`` times in ``timezone``.

    Uses the scheduler's own :class:`~workspace.jobs.spec.schedule.CronSchedule`, so the times
    follow the same DST rules as the runs.

    Examples
    --------
    >>> start = dt.datetime(2026, 3, 27, 12, tzinfo=dt.UTC)
    >>> cron_preview("0 6 * * *", "Europe/Amsterdam", now=start).next[:2]
    ['2026-03-28T06:00:00+01:00', '2026-03-29T06:00:00+02:00']
    """
    from cron_descriptor import get_description

    cron = " ".join(cron.split())
    schedule = CronSchedule(cron, timezone)
    zone = ZoneInfo(timezone)
    times = schedule.next_times(now or dt.datetime.now(dt.UTC), n)
    try:
        description = get_description(cron)
    except Exception as exc:  # cron-descriptor's own errors; croniter accepted the text
        raise ScheduleError(f"{cron!r} cannot be described: {exc}") from None
    return CronPreview(
        cron=cron,
        timezone=timezone,
        description=description,
        next=[t.astimezone(zone).isoformat() for t in times],
    )


def suggested_name(path: str) -> str:
    """A valid pipeline name from a notebook's file name.

    Examples
    --------
    >>> suggested_name("notebooks/Daily Sales.ipynb")
    'daily_sales'
    """
    stem = Path(path).stem.lower()
    name = re.sub(r"[^a-z0-9]+", "_", stem).strip("_")
    if not name:
        return "pipeline"
    return name if name[0].isalpha() else f"nb_{name}"


def notebook_path(root_dir: str | Path, path: str) -> Path:
    """The notebook file ``path`` (Contents API style) names under ``root_dir``.

    Raises :class:`PermissionError` for a path leaving the root,
    :class:`NotebookNotFoundError` when there is no such file, and
    :class:`WorkspaceError` for a file that is not a notebook.

    Examples
    --------
    >>> notebook_path("/srv/notebooks", "../etc/passwd")
    Traceback (most recent call last):
    PermissionError: '../etc/passwd' is outside the server's root folder; use a path relative to it.
    """
    root = Path(root_dir).expanduser().resolve()
    clean = path.strip().lstrip("/")
    if not clean:
        raise WorkspaceError("path is empty: give the notebook's path relative to the server root")
    target = (root / clean).resolve()
    if not target.is_relative_to(root):
        raise PermissionError(
            f"{path!r} is outside the server's root folder; use a path relative to it."
        )
    if not target.is_file():
        raise NotebookNotFoundError(f"No notebook at {clean!r} under the server's root folder.")
    if target.suffix != ".ipynb":
        raise WorkspaceError(f"{clean!r} is not a notebook: expected a .ipynb file.")
    return target


def _kernel(nb: Any) -> str:
    name = nb.metadata.get("kernelspec", {}).get("name")
    return str(name) if name else "workspace"


def notebook_info(root_dir: str | Path, path: str, scheduled: Path) -> NotebookInfo:
    """The parameters cell of a notebook (papermill's inspection) and a pipeline name.

    Examples
    --------
    >>> notebook_info(root, "daily.ipynb", root / "scheduled").parameters[0].name
    ... # doctest: +SKIP
    'day'
    """
    from workspace.jobs.execution.runner import declared_parameters, load_notebook
    from workspace.params import declared_or_none

    file = notebook_path(root_dir, path)
    nb = load_notebook(file)
    tagged = any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells)
    params: list[NotebookParameter] = []
    if tagged:
        for name, p in declared_parameters(file, nb, kernel_name=_kernel(nb)).items():
            params.append(
                NotebookParameter(
                    name=name,
                    type=_type_name(p.get("inferred_type_name"), p.get("default")),
                    default=_none_text(p.get("default")),
                    help=_none_text(p.get("help")),
                )
            )
    name = suggested_name(file.name)
    return NotebookInfo(
        path=path,
        suggested_name=name,
        has_parameters_cell=tagged,
        parameters=params,
        existing=os.access(scheduled / name / SPEC_FILE, os.F_OK),  # False if unreadable
        declared=declared_or_none(file) if tagged else [],
    )


def _type_name(inferred: Any, default: Any) -> str | None:
    """Papermill's type annotation, else the type of the default's literal (``10`` -> int).

    Examples
    --------
    >>> _type_name("None", "'all'"), _type_name(None, "[1, 2]"), _type_name("float", "1")
    ('str', 'list', 'float')
    """
    if inferred and str(inferred) != "None":
        return str(inferred)
    try:
        value = ast.literal_eval(str(default))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return None if value is None else type(value).__name__


def _none_text(value: Any) -> str | None:
    text = "" if value is None else str(value)
    return text or None


@dataclass
class Promotion:
    """How a promotion ended: the pipeline folder, or the error; the test run's id."""

    folder: Path | None
    test_id: str | None
    error: WorkspaceError | None = None


def test_report(settings: Settings, test_id: str, *, user: str | None = None) -> Path:
    """The report of a promotion test run (``<home>/jobs/promote/<test_id>/``) that ``user``
    started (default: the settings' user, the server's own).

    A test run is the user's when its record (``test.json``, written when the run started)
    names them, or, for a run without a record (``workspace promote`` in a terminal), when
    its folder belongs to this process's OS account. Unknown ids, malformed ids and other
    people's test runs answer the same :class:`NotebookNotFoundError` (404): the route
    does not tell whether someone else's test exists. Engineers and admins read every
    test's report through the scheduler service, which knows their roles.

    Examples
    --------
    >>> test_report(settings, "../../etc")  # doctest: +SKIP
    Traceback (most recent call last):
    NotebookNotFoundError: No report of a promotion test run '../../etc'.
    """
    from workspace.api.promote import PromotionNotFoundError, promotion_test

    who = user or settings.user
    missing = NotebookNotFoundError(f"No report of a promotion test run {test_id!r}.")
    try:
        test = promotion_test(settings, test_id)
    except (PromotionNotFoundError, OSError):  # OSError: a folder this account cannot read
        raise missing from None
    if test.report is None or not _started_by(settings, test_id, test.requested_by, who):
        raise missing
    return test.report


def _started_by(settings: Settings, test_id: str, requested_by: str | None, user: str) -> bool:
    if requested_by is not None:
        return requested_by == user
    try:
        uid = JobPaths.of(settings).promotion_dir(test_id).stat().st_uid
    except OSError:
        return False
    return uid == os.geteuid()


def promote(
    settings: Settings,
    root_dir: str | Path,
    scheduled: Path,
    request: PromoteRequest,
    *,
    progress: Callable[[str], None] | None = None,
) -> Promotion:
    """Test-run and promote a notebook; a failed test is returned, not raised.

    Checks that cannot involve a test run (bad path, cron, existing pipeline -> 409,
    parameters) raise. The test run's id (``test_id``) names its report for
    :func:`test_report`.

    Examples
    --------
    >>> p = promote(settings, root, root / "scheduled",
    ...             PromoteRequest(path="daily.ipynb", name="daily"))  # doctest: +SKIP
    >>> p.folder  # doctest: +SKIP
    PosixPath('/srv/notebooks/scheduled/daily')
    """
    file = notebook_path(root_dir, request.path)
    if request.cron:
        CronSchedule(" ".join(request.cron.split()), request.timezone)
    if (scheduled / request.name / SPEC_FILE).exists() and not request.force:
        raise ConflictError(
            f"Pipeline {request.name!r} already exists in {scheduled}; choose another name "
            "or replace it (force)."
        )
    from workspace.jobs.execution.runner import load_notebook

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    test_id = f"{request.name}-{stamp}"
    workdir = JobPaths.of(settings, scheduled).promotion_dir(test_id)
    workdir.mkdir(parents=True, exist_ok=True)
    # who started the test: only they may read its report (test_report)
    (workdir / TEST_RECORD).write_text(
        json.dumps({"pipeline": request.name, "requested_by": settings.user}), encoding="utf-8"
    )
    try:
        result = promote_notebook(
            file,
            name=request.name,
            scheduled=scheduled,
            schedule=" ".join(request.cron.split()) if request.cron else None,
            timezone=request.timezone,
            parameters=request.parameters,
            force=request.force,
            settings=settings,
            kernel=_kernel(load_notebook(file)),
            progress=progress,
            workdir=workdir,
        )
    except PromoteError as exc:
        if not (workdir / PROMOTION_ATTEMPT).is_dir():  # failed before the test ran
            raise
        return Promotion(folder=None, test_id=test_id, error=exc)
    return Promotion(
        folder=result.folder, test_id=test_id if result.test.report is not None else None
    )
