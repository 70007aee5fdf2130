"""Promotion through the scheduler service: the gate into production.

``POST api/jobs/promotions`` sends a notebook's content; :func:`promote` runs the same
promotion as ``workspace promote``, records the caller as the owner and, unless
:func:`auto_approved` (``WORKSPACE_AUTO_APPROVE``: ``engineers``, ``none`` or ``all``), leaves the
pipeline **pending review**. The policies: docs/api.md, "Module notes".

Examples
--------
>>> auto_approved(manager=False, policy="engineers")
False
>>> auto_approved(manager=True, policy="engineers")
True
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import nbformat

from workspace.api.models import PromotionRequest, PromotionResponse
from workspace.jobs.errors import ConflictError
from workspace.jobs.orchestration.promote import PromoteError, promote_notebook
from workspace.jobs.paths import (
    PROMOTION_ATTEMPT,
    PROMOTION_SOURCE,
    REPORT_FILE,
    TEST_RECORD,
    JobPaths,
)
from workspace.jobs.spec.pipeline import NAME_PATTERN, PIPELINE_NAME
from workspace.jobs.spec.schedule import CronSchedule
from workspace.jobs.store.run_store import RunStore
from workspace.lake.errors import ConfigurationError, WorkspaceError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

Policy = Literal["engineers", "none", "all"]
AUTO_APPROVE_ENV = "WORKSPACE_AUTO_APPROVE"
DEFAULT_POLICY: Policy = "engineers"
#: A promotion test run's id: ``<pipeline>-<UTC time>``; its files are in
#: :meth:`JobPaths.promotion_dir <workspace.jobs.paths.JobPaths.promotion_dir>`.
TEST_ID = re.compile(rf"^{NAME_PATTERN}-\d{{8}}T\d{{6,12}}$")


class PromotionNotFoundError(WorkspaceError, LookupError):
    """No promotion test run of that id (or its report is gone)."""


def auto_approve_policy(environ: dict[str, str] | None = None) -> Policy:
    """The deployment's ``WORKSPACE_AUTO_APPROVE`` (default ``engineers``)."""
    raw = (os.environ if environ is None else environ).get(AUTO_APPROVE_ENV, "").strip().lower()
    if not raw:
        return DEFAULT_POLICY
    if raw not in ("engineers", "none", "all"):
        raise ConfigurationError(
            f"{AUTO_APPROVE_ENV}={raw!r} is not a policy; use engineers (default), none or all."
        )
    return raw  # type: ignore[return-value]


def auto_approved(*, manager: bool, policy: Policy | None = None) -> bool:
    """Whether a promotion by a caller (``manager``: may manage every pipeline) skips review."""
    policy = policy or auto_approve_policy()
    return policy == "all" or (policy == "engineers" and manager)


@dataclass(frozen=True)
class PromotionTest:
    """A promotion test run: who asked for it, and its report if there is one."""

    test_id: str
    pipeline: str
    requested_by: str | None
    report: Path | None


def promotion_test(settings: Settings, test_id: str) -> PromotionTest:
    """The promotion test run ``test_id`` (404 for a malformed or unknown id)."""
    base = JobPaths.of(settings).promotions_dir.resolve()
    folder = (base / test_id).resolve()
    if not TEST_ID.match(test_id) or not folder.is_relative_to(base) or not folder.is_dir():
        raise PromotionNotFoundError(f"No promotion test run {test_id!r}.")
    try:
        record = json.loads((folder / TEST_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    report = folder / PROMOTION_ATTEMPT / REPORT_FILE
    return PromotionTest(
        test_id=test_id,
        pipeline=str(record.get("pipeline") or test_id.rsplit("-", 1)[0]),
        requested_by=record.get("requested_by"),
        report=report if report.is_file() else None,
    )


def promote(
    settings: Settings,
    scheduled: Path,
    store: RunStore,
    request: PromotionRequest,
    *,
    by: str,
    pending: bool,
) -> PromotionResponse:
    """Test-run the posted notebook and make it pipeline ``request.name``, owned by ``by``
    (a re-promotion keeps its owner) and pending review when ``pending``.

    Raises for what needs no test run: a bad name, cron or notebook (400), an existing
    pipeline without ``force`` (409). A failed test run is returned (``ok=False``) with the
    test's id. Whether ``by`` may replace an existing pipeline is the caller's check.
    """
    name = request.name
    if not PIPELINE_NAME.match(name):
        raise WorkspaceError(
            f"Pipeline name {name!r} is not valid: use lowercase letters, digits and '_', "
            "starting with a letter (e.g. daily_sales)."
        )
    if request.cron:
        CronSchedule(request.cron, request.timezone)
    paths = JobPaths.of(settings, scheduled)
    if paths.spec_file(name).exists() and not request.force:
        raise ConflictError(
            f"Pipeline {name!r} already exists; choose another name or replace it (force)."
        )
    try:
        nb = nbformat.from_dict(request.notebook)
        nbformat.validate(nb)
    except (nbformat.ValidationError, KeyError, TypeError, AttributeError) as exc:
        raise WorkspaceError(
            f"The posted notebook {request.notebook_name} is not a valid .ipynb: "
            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    test_id = f"{name}-{stamp}"
    workdir = paths.promotion_dir(test_id)
    source = workdir / PROMOTION_SOURCE / request.notebook_name
    source.parent.mkdir(parents=True, exist_ok=True)
    (workdir / TEST_RECORD).write_text(
        json.dumps({"pipeline": name, "requested_by": by}), encoding="utf-8"
    )
    nbformat.write(nb, source)
    kernel = request.kernel or str(nb.metadata.get("kernelspec", {}).get("name") or "workspace")
    recorded: dict[str, str | None] = {}

    def record(_spec: object) -> None:
        gov = store.register_promotion(name, owner=by, by=by, pending=pending)
        recorded.update(owner=gov.owner, approval=gov.approval)

    try:
        result = promote_notebook(
            source,
            name=name,
            scheduled=scheduled,
            schedule=request.cron,
            timezone=request.timezone,
            parameters=request.parameters,
            force=request.force,
            settings=settings,
            kernel=kernel,
            timeout=request.timeout,
            progress=lambda m: log.info("promotion %s: %s", test_id, m),
            workdir=workdir,
            before_write=record,
        )
    except PromoteError as exc:
        if not recorded and (workdir / PROMOTION_ATTEMPT).is_dir():
            return PromotionResponse(
                pipeline=name, ok=False, message=str(exc), test_id=test_id, test_status="failed"
            )
        raise
    review = (
        f"pending review: an engineer or admin approves it with `workspace jobs approve {name}`"
        if recorded.get("approval") == "pending"
        else "approved"
    )
    log.info("pipeline %s promoted by %s (%s)", name, by, recorded.get("approval"))
    return PromotionResponse(
        pipeline=name,
        ok=True,
        message=f"Pipeline {name} promoted; the test run passed; {review}.",
        approval=recorded.get("approval"),
        owner=recorded.get("owner"),
        folder=str(result.folder),
        test_id=test_id,
        test_status=str(result.test.status),
    )
