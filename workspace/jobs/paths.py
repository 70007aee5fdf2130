"""Every path of the jobs: the one module that knows where pipelines, runs and their files live.

:class:`JobPaths` builds them from one workspace home and one ``scheduled/`` folder
(:func:`scheduled_root`); the file names are module constants. The layout: docs/pipelines.md,
"Module notes".

Examples
--------
>>> paths = JobPaths(Path("/srv/ws"), Path("/srv/scheduled"))
>>> paths.store_file.as_posix(), paths.alerts_file.as_posix()
('/srv/ws/jobs/runs.sqlite', '/srv/ws/alerts.yaml')
>>> paths.attempt_dir("r1", "load", generation=0, number=2).as_posix()
'/srv/ws/jobs/runs/r1/load/g0-attempt-2'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from workspace.lake.settings import Settings

__all__ = [
    "ALERTS_FILE",
    "ATTEMPT_RESULT",
    "ATTEMPT_SPEC",
    "CANCEL_FILE",
    "DEFAULT_SCHEDULED",
    "EXECUTED_NOTEBOOK",
    "OUTPUTS_FILE",
    "POOLS_FILE",
    "PROMOTION_ATTEMPT",
    "PROMOTION_SOURCE",
    "REPORT_FILE",
    "RUNNER_LOG",
    "SCHEDULED_ENV",
    "SPEC_FILE",
    "TEST_RECORD",
    "WRITES_FILE",
    "JobPaths",
    "scheduled_root",
]

# -- the pipelines folder -------------------------------------------------------------------
#: Environment variable naming the pipelines folder.
SCHEDULED_ENV = "WORKSPACE_SCHEDULED"
#: The pipelines folder used when nothing is configured (relative to the current directory).
DEFAULT_SCHEDULED = "scheduled"
#: A pipeline folder's spec.
SPEC_FILE = "pipeline.yaml"
#: Pool slot counts, beside the pipeline folders.
POOLS_FILE = "pools.yaml"

# -- the workspace home ---------------------------------------------------------------------
JOBS_DIR = "jobs"
STORE_FILE = "runs.sqlite"
RUNS_DIR = "runs"
PROMOTE_DIR = "promote"
#: The deployment's alert sinks, in the home.
ALERTS_FILE = "alerts.yaml"

# -- the files of one attempt ---------------------------------------------------------------
#: What the executor hands the runner process, and what the runner answers.
ATTEMPT_SPEC, ATTEMPT_RESULT = "attempt.json", "result.json"
#: The attempt's log (the run store records its path as ``log_path``).
RUNNER_LOG = "runner.log"
#: Created to ask a running attempt to stop.
CANCEL_FILE = "CANCEL"
EXECUTED_NOTEBOOK, REPORT_FILE = "executed.ipynb", "report.html"
#: ``workspace.jobs.output()`` values, and the kernel's lake writes (one JSON line each).
OUTPUTS_FILE, WRITES_FILE = "outputs.json", "writes.jsonl"
#: The results of the checks a task declares (``workspace.quality.task_checks``).
CHECKS_FILE = "checks.jsonl"
#: What a kernel leaves in its scratch folder for the attempt folder.
KERNEL_FILES = (OUTPUTS_FILE, WRITES_FILE, CHECKS_FILE)

# -- the files of one promotion test run ----------------------------------------------------
#: Who asked for the test run (its report is theirs, and engineers').
TEST_RECORD = "test.json"
#: The posted notebook, and the test run's attempt folder.
PROMOTION_SOURCE, PROMOTION_ATTEMPT = "source", "attempt"


def scheduled_root(
    root_dir: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """The absolute ``scheduled/`` folder (it may not exist yet).

    ``$WORKSPACE_SCHEDULED`` wins; otherwise ``<root_dir>/scheduled`` when it exists (the
    Jupyter server's root); otherwise ``./scheduled``. The CLI's ``--scheduled`` option
    applies the same rule.

    Examples
    --------
    >>> scheduled_root(environ={"WORKSPACE_SCHEDULED": "/srv/pipelines"}).as_posix()
    '/srv/pipelines'
    >>> scheduled_root(environ={}) == Path("scheduled").absolute()
    True
    """
    env = os.environ if environ is None else environ
    configured = env.get(SCHEDULED_ENV)
    if configured:
        return Path(configured).expanduser().absolute()
    if root_dir is not None:
        candidate = Path(root_dir).expanduser().absolute() / DEFAULT_SCHEDULED
        if candidate.is_dir():
            return candidate
    return Path(DEFAULT_SCHEDULED).absolute()


@dataclass(frozen=True)
class JobPaths:
    """The jobs' paths for one workspace home and one ``scheduled/`` folder.

    Examples
    --------
    >>> paths = JobPaths.of(Settings.resolve("/tmp/ws-doc-paths"), Path("/srv/scheduled"))
    >>> paths.spec_file("daily").as_posix(), paths.pools_file.as_posix()
    ('/srv/scheduled/daily/pipeline.yaml', '/srv/scheduled/pools.yaml')
    >>> paths.promotion_dir("daily-20260101T000000").as_posix()
    '/tmp/ws-doc-paths/jobs/promote/daily-20260101T000000'
    """

    home: Path
    scheduled: Path = field(default_factory=scheduled_root)

    @classmethod
    def of(cls, settings: Settings | None = None, scheduled: Path | None = None) -> JobPaths:
        """From ``settings`` (default: resolved from the environment) and a ``scheduled/``
        folder (default: :func:`scheduled_root`)."""
        settings = settings or Settings.resolve()
        return cls(settings.home, Path(scheduled)) if scheduled else cls(settings.home)

    # -- home ----------------------------------------------------------------------------
    @property
    def jobs_dir(self) -> Path:
        """``<home>/jobs``: everything the scheduler service owns."""
        return self.home / JOBS_DIR

    @property
    def store_file(self) -> Path:
        """The run store, ``<home>/jobs/runs.sqlite``."""
        return self.jobs_dir / STORE_FILE

    @property
    def runs_dir(self) -> Path:
        """Where attempts keep their executed notebooks, reports and logs."""
        return self.jobs_dir / RUNS_DIR

    def attempt_dir(self, run_id: str, task_key: str, *, generation: int, number: int) -> Path:
        """The folder of attempt ``number`` of a task, in repair ``generation`` of its run."""
        return self.runs_dir / run_id / task_key / f"g{generation}-attempt-{number}"

    @property
    def promotions_dir(self) -> Path:
        """Where promotion test runs keep their files."""
        return self.jobs_dir / PROMOTE_DIR

    def promotion_dir(self, test_id: str) -> Path:
        """The folder of one promotion test run (not checked: see ``promotion_test``)."""
        return self.promotions_dir / test_id

    @property
    def alerts_file(self) -> Path:
        """The deployment's alert sinks, ``<home>/alerts.yaml``."""
        return self.home / ALERTS_FILE

    # -- scheduled/ ----------------------------------------------------------------------
    def pipeline_dir(self, name: str) -> Path:
        """A pipeline's folder (its name is the folder's name)."""
        return self.scheduled / name

    def spec_file(self, name: str) -> Path:
        """A pipeline's ``pipeline.yaml``."""
        return self.pipeline_dir(name) / SPEC_FILE

    @property
    def pools_file(self) -> Path:
        """``scheduled/pools.yaml``."""
        return self.scheduled / POOLS_FILE
