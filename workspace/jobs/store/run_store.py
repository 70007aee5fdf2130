"""The scheduler's durable run store: pipelines, runs, tasks, attempts and pool slots.

The store is one SQLite file, ``$WORKSPACE_HOME/jobs/runs.sqlite`` (schema in
``schema.sql``, records in :mod:`workspace.jobs.models`). Several processes use it at
once (the scheduler, CLI commands, the HTTP API): WAL mode lets readers run beside the one
writer, every state change is one short ``BEGIN IMMEDIATE`` transaction (so checks and
writes are atomic across processes, and a writer waits up to ``busy_timeout`` instead of
failing), and ``synchronous=FULL`` makes a committed change survive a crash.

Crash safety. A process killed at any point (SIGKILL) leaves either the whole transaction or
none of it. ``UNIQUE (pipeline, scheduled_for)`` makes :meth:`RunStore.create_scheduled_run`
idempotent: a restarted scheduler that re-creates the runs it may have missed gets the
existing run back (``created=False``), so there is exactly one run per scheduled time, and a
run is created together with its tasks. Attempts orphaned by a crash keep a stale
``heartbeat_at``; :meth:`RunStore.find_orphaned_attempts` finds them and
:meth:`RunStore.fail_orphaned_attempts` or :meth:`RunStore.requeue` settles them.

Layout: this module owns connections, transactions and creating runs; the file and its
migrations are :mod:`workspace.jobs.store.schema`; the mixins own pipelines
(:mod:`~workspace.jobs.store.pipelines`), reading runs (:mod:`~workspace.jobs.store.queries`),
run and task transitions (:mod:`~workspace.jobs.store.tasks`) and attempts and pools
(:mod:`~workspace.jobs.store.attempts`); :mod:`workspace.jobs.store.rows` holds the helpers
they share.

Sharing the store in a larger deployment
----------------------------------------
* Run **one scheduler process per deployment** (one per ``WORKSPACE_HOME``); it owns the
  SQLite file, which must be on a **local disk** of that machine: SQLite locking is not
  reliable on NFS/SMB, and WAL needs shared memory between the processes.
* The HTTP API (the hub's scheduler service) and CLI commands on the same machine open the
  same file; they read freely and make small writes (pause, resume, manual run, repair). Pool
  slots and ``max_active_runs`` are enforced inside the store, so they hold across processes.
* Users' JupyterLab servers on other machines talk to the HTTP API, never to the file.
* High availability (schedulers on several machines, or a store that outlives one disk)
  needs a PostgreSQL-backed store with the same API and tables. What changes: ``BEGIN
  IMMEDIATE`` becomes ``SELECT ... FOR UPDATE`` on the pipeline row (or a transaction-level
  advisory lock per pipeline/pool) so claims stay serialised; times become ``timestamptz``
  and JSON columns ``jsonb``; ``AUTOINCREMENT`` becomes identity columns; ``user_version``
  becomes a ``schema_version`` table. The uniqueness constraints stay, and carry the
  exactly-once guarantee; the heartbeat-based orphan detection is unchanged, and two
  schedulers may run active-active because every claim is a guarded transaction.

Examples
--------
>>> from datetime import UTC, datetime
>>> store = RunStore.open("/tmp/ws-doc-store/runs.sqlite")
>>> _ = store.upsert_pipeline("daily_sales", spec_hash="abc")
>>> run, created = store.create_scheduled_run(
...     "daily_sales", datetime(2025, 1, 1, tzinfo=UTC), tasks=["load", "report"]
... )
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workspace.jobs.models import (
    REPAIRABLE,
    RUN_TRANSITIONS,
    TASK_TRANSITIONS,
    Attempt,
    AttemptNotFoundError,
    AttemptState,
    InvalidTransitionError,
    NewTask,
    Pipeline,
    PipelineNotFoundError,
    PipelinePausedError,
    Run,
    RunDetail,
    RunEvent,
    RunNotFoundError,
    RunState,
    RunStoreVersionError,
    Task,
    TaskNotFoundError,
    TaskState,
    Trigger,
)
from workspace.jobs.store.pipelines import (
    Governance,
    PipelinePendingError,
    PipelinesMixin,
)
from workspace.jobs.store.queries import RunQueriesMixin
from workspace.jobs.store.rows import StoreRows, _new_id, _run, _task, _ts
from workspace.jobs.store.schema import _MIGRATIONS, SCHEMA_VERSION, _statements, store_path
from workspace.jobs.store.tasks import RunLifecycleMixin
from workspace.lake.settings import Settings

#: The store, plus the records and errors of :mod:`workspace.jobs.models` it works with.
# fmt: off
__all__ = [
    "REPAIRABLE", "RUN_TRANSITIONS", "SCHEMA_VERSION", "TASK_TRANSITIONS", "Attempt",
    "AttemptNotFoundError", "AttemptState", "Governance", "InvalidTransitionError", "NewTask",
    "Pipeline", "PipelineNotFoundError", "PipelinePausedError", "PipelinePendingError", "Run",
    "RunDetail", "RunEvent", "RunNotFoundError", "RunState", "RunStore", "RunStoreVersionError",
    "Task", "TaskNotFoundError", "TaskState", "Trigger", "store_path",
]
# fmt: on


#: ``requested_by`` of the runs the scheduler creates itself (schedule ticks, ``after:``).
SCHEDULER_REQUESTER = "scheduler"


class RunStore(PipelinesMixin, RunLifecycleMixin, RunQueriesMixin, StoreRows):
    """Durable state of the pipeline scheduler, safe to share between local processes.

    Open it with :meth:`open`. Every public method is one transaction. Times default to
    ``clock()`` (UTC now); pass ``clock`` to control time in tests.
    """

    def __init__(
        self,
        path: Path,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self.clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self._pid = os.getpid()
        self._inherited: list[sqlite3.Connection] = []

    @classmethod
    def open(
        cls,
        target: Settings | str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> RunStore:
        """Open (creating and migrating if needed) the store of a workspace or at a path.

        Parameters
        ----------
        target
            :class:`Settings` (the store is ``settings.home / "jobs" / "runs.sqlite"``), a
            file path, or ``None`` for ``Settings.resolve()``.
        busy_timeout
            Seconds a write waits for another process's transaction before failing.

        Examples
        --------
        >>> store = RunStore.open(Settings.resolve(home="/tmp/ws-doc"))
        >>> store.path.as_posix()
        '/tmp/ws-doc/jobs/runs.sqlite'
        """
        if target is None or isinstance(target, Settings):
            path = store_path(target or Settings.resolve())
        else:
            path = Path(target).expanduser().absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path, busy_timeout=busy_timeout, clock=clock)
        store._migrate()
        return store

    def close(self) -> None:
        """Close this process's connection (the store reopens on next use)."""
        with self._lock:
            if self._con is not None and self._pid == os.getpid():
                self._con.close()
            self._con = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._con is not None and self._pid != os.getpid():
            # inherited through fork: never use (or close) the parent's connection
            self._inherited.append(self._con)
            self._con = None
        if self._con is None:
            con = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,
                check_same_thread=False,
            )
            con.row_factory = sqlite3.Row
            con.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            self._con, self._pid = con, os.getpid()
        return self._con

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = self._connection()
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._tx() as con:
            version = con.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunStoreVersionError(
                    f"Run store {self.path} has schema version {version}, newer than this "
                    f"version of the workspace understands ({SCHEMA_VERSION}). "
                    "Upgrade analytics-workspace."
                )
            for step in range(version, SCHEMA_VERSION):
                for statement in _statements(_MIGRATIONS[step]()):
                    con.execute(statement)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- pipelines ------------------------------------------------------------------------

    # -- runs -----------------------------------------------------------------------------

    def create_scheduled_run(
        self,
        pipeline: str,
        scheduled_for: datetime,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        trigger: Trigger = Trigger.SCHEDULE,
        owner: str | None = None,
        requested_by: str | None = SCHEDULER_REQUESTER,
    ) -> tuple[Run, bool]:
        """Create the run of ``pipeline`` for ``scheduled_for``, or return the existing one.

        Idempotent and safe across processes: there is at most one run per (pipeline,
        scheduled time). The run and its tasks are created in one transaction. ``owner``
        defaults to the pipeline's registered owner.

        Returns
        -------
        (run, created)
            ``created`` is False when the run already existed.

        Raises
        ------
        PipelineNotFoundError, PipelinePausedError

        Examples
        --------
        >>> t = datetime(2025, 1, 2, 6, tzinfo=UTC)
        >>> run, created = store.create_scheduled_run("daily_sales", t, tasks=["load"])
        >>> store.create_scheduled_run("daily_sales", t)[1]
        False
        """
        return self._create(
            pipeline, trigger, _ts(scheduled_for), None, tasks, parameters, owner, requested_by
        )

    def create_manual_run(
        self,
        pipeline: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        owner: str | None = None,
        requested_by: str | None = None,
    ) -> Run:
        """Create a run started by a person (allowed while the pipeline is paused).

        ``requested_by`` is that person (a hub user, or the OS user of a CLI command);
        ``owner`` defaults to the pipeline's registered owner.
        """
        return self._create(
            pipeline, Trigger.MANUAL, None, None, tasks, parameters, owner, requested_by
        )[0]

    def create_triggered_run(
        self,
        pipeline: str,
        upstream_run_id: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
        owner: str | None = None,
        requested_by: str | None = SCHEDULER_REQUESTER,
    ) -> tuple[Run, bool]:
        """Create the run that follows ``upstream_run_id`` (``after:``), at most once."""
        return self._create(
            pipeline,
            Trigger.AFTER,
            None,
            upstream_run_id,
            tasks,
            parameters,
            owner,
            requested_by,
        )

    def _create(
        self,
        pipeline: str,
        trigger: Trigger,
        scheduled_for: str | None,
        triggered_by: str | None,
        tasks: Iterable[NewTask | str],
        parameters: Mapping[str, Any] | None,
        owner: str | None = None,
        requested_by: str | None = None,
    ) -> tuple[Run, bool]:
        params = json.dumps(dict(parameters or {}), sort_keys=True, default=str)
        now = self._now()
        with self._tx() as con:
            record = self._pipeline(con, pipeline)
            if self._gov(con, pipeline).pending:
                raise PipelinePendingError(pipeline)
            if record.paused and trigger != Trigger.MANUAL:
                raise PipelinePausedError(pipeline)
            owner = owner if owner is not None else record.owner
            if triggered_by is not None:
                self._require_run(con, triggered_by)
            existing = con.execute(
                "SELECT * FROM runs WHERE pipeline = ? AND (scheduled_for = ? OR triggered_by = ?)",
                (pipeline, scheduled_for, triggered_by),
            ).fetchone()
            if existing is not None:
                return _run(existing), False
            run_id = _new_id()
            con.execute(
                "INSERT INTO runs (run_id, pipeline, scheduled_for, trigger, triggered_by, "
                "parameters, created_at, owner, requested_by) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    pipeline,
                    scheduled_for,
                    trigger,
                    triggered_by,
                    params,
                    now,
                    owner,
                    requested_by,
                ),
            )
            self._insert_tasks(con, run_id, tasks)
            by = f" by {requested_by}" if requested_by else ""
            self._event(con, run_id, f"created ({trigger}){by}")
            return self._require_run(con, run_id), True

    def repair(
        self,
        run_id: str,
        *,
        downstream: Mapping[str, Iterable[str]] | None = None,
        requested_by: str | None = None,
    ) -> list[str]:
        """Reset failed tasks and everything downstream of them (see the mixin's ``repair``).

        With ``requested_by``, the run's ``requested_by`` becomes that person (the run's
        history keeps who created it) once the repair reset something.
        """
        keys = super().repair(run_id, downstream=downstream)
        if keys and requested_by is not None:
            with self._tx() as con:
                con.execute(
                    "UPDATE runs SET requested_by = ? WHERE run_id = ?", (requested_by, run_id)
                )
                self._event(con, run_id, f"repair requested by {requested_by}")
        return keys

    def _insert_tasks(
        self, con: sqlite3.Connection, run_id: str, tasks: Iterable[NewTask | str]
    ) -> None:
        now = self._now()
        for spec in tasks:
            t = NewTask(key=spec, name=spec) if isinstance(spec, str) else spec
            value = None if t.item_value is None else json.dumps(t.item_value, default=str)
            con.execute(
                "INSERT INTO tasks (run_id, task_key, name, item_index, item_value, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, task_key) DO UPDATE SET "
                "name = excluded.name, item_index = excluded.item_index, "
                "item_value = excluded.item_value, updated_at = excluded.updated_at "
                "WHERE tasks.state = 'pending'",
                (run_id, t.key, t.name, t.item_index, value, now),
            )

    def add_tasks(self, run_id: str, tasks: Iterable[NewTask | str]) -> list[Task]:
        """Add tasks to an unfinished run (fan-out items); re-adding a pending task updates it.

        Examples
        --------
        >>> store.add_tasks(run.run_id, [NewTask(key="report[0]", name="report", item_index=0)])
        [...]
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if run.state.finished:
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, "adding tasks", "Repair the run first."
                )
            self._insert_tasks(con, run_id, tasks)
            rows = con.execute(
                "SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,)
            ).fetchall()
        return [_task(r) for r in rows]
