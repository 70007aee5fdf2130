"""The scheduler's durable run store: pipelines, runs, tasks, attempts and pool slots.

The store is one SQLite file, ``$WORKSPACE_HOME/jobs/runs.sqlite`` (schema in
``store_schema.sql``, records in :mod:`workspace.jobs.models`). Several processes use it at
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

Layout: this module owns connections, migrations, transactions, pipelines and creating and
querying runs; :mod:`workspace.jobs.store_tasks` owns the transitions of runs, tasks,
attempts and pools; :mod:`workspace.jobs.store_rows` holds the helpers both share.

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
from importlib import resources
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
from workspace.jobs.store_pipelines import Governance, GovernanceMixin, PipelinePendingError
from workspace.jobs.store_rows import StoreRows, _attempt, _new_id, _run, _task, _ts
from workspace.jobs.store_tasks import RunLifecycleMixin
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

#: Migration steps; step ``i`` takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[Callable[[], str], ...] = (
    lambda: resources.files("workspace.jobs").joinpath("store_schema.sql").read_text("utf-8"),
    lambda: resources.files("workspace.jobs").joinpath("store_schema_2.sql").read_text("utf-8"),
    lambda: resources.files("workspace.jobs").joinpath("store_schema_3.sql").read_text("utf-8"),
    lambda: resources.files("workspace.jobs").joinpath("store_schema_4.sql").read_text("utf-8"),
    lambda: resources.files("workspace.jobs").joinpath("store_schema_5.sql").read_text("utf-8"),
)
SCHEMA_VERSION = len(_MIGRATIONS)

#: ``requested_by`` of the runs the scheduler creates itself (schedule ticks, ``after:``).
SCHEDULER_REQUESTER = "scheduler"


class _Keep:
    """Default of :meth:`RunStore.upsert_pipeline`'s ``owner``: leave the stored one."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def store_path(settings: Settings) -> Path:
    """Where the run store of a workspace lives: ``<home>/jobs/runs.sqlite``."""
    return settings.home / "jobs" / "runs.sqlite"


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""


class RunStore(GovernanceMixin, RunLifecycleMixin, StoreRows):
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

    def upsert_pipeline(
        self,
        name: str,
        *,
        spec_hash: str | None = None,
        owner: str | _Keep | None = KEEP,
        enabled: bool | None = None,
    ) -> Pipeline:
        """Register a pipeline (``enabled_at`` = now) or update its spec hash.

        ``enabled`` is the ``enabled:`` of its ``pipeline.yaml`` (None: not known). The store
        remembers when a pipeline was seen disabled; seen enabled again, its ``enabled_at``
        becomes now, so catch-up never runs a tick from before the re-enabling.

        ``owner`` only fills in a pipeline that has no recorded owner and whose folder's
        values were not adopted yet (recorded as an ``owner`` event); it never replaces one:
        ownership changes go through :meth:`set_owner`. The recorded owner is copied into the
        runs created later without an explicit owner.

        Examples
        --------
        >>> store.upsert_pipeline("daily_sales", spec_hash="abc").paused
        False
        """
        now = self._now()
        with self._tx() as con:
            con.execute(
                "INSERT INTO pipelines (name, enabled_at, spec_hash, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                "spec_hash = excluded.spec_hash, updated_at = excluded.updated_at "
                "WHERE pipelines.spec_hash IS NOT excluded.spec_hash",
                (name, now, spec_hash, now),
            )
            if enabled is False:
                con.execute(
                    "UPDATE pipelines SET disabled_at = ?, updated_at = ? "
                    "WHERE name = ? AND disabled_at IS NULL",
                    (now, now, name),
                )
            elif enabled:
                con.execute(
                    "UPDATE pipelines SET enabled_at = ?, disabled_at = NULL, updated_at = ? "
                    "WHERE name = ? AND disabled_at IS NOT NULL",
                    (now, now, name),
                )
            if not isinstance(owner, _Keep) and owner:
                changed = con.execute(
                    "UPDATE pipelines SET owner = ?, updated_at = ? "
                    "WHERE name = ? AND owner IS NULL AND adopted_at IS NULL",
                    (owner, now, name),
                ).rowcount
                if changed:
                    self._pipeline_event(
                        con, name, "owner", None, owner=owner, previous=None, reason="registered"
                    )
            return self._pipeline(con, name)

    @staticmethod
    def _pipeline(con: sqlite3.Connection, name: str) -> Pipeline:
        row = con.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PipelineNotFoundError(name)
        return Pipeline.model_validate(dict(row))

    def get_pipeline(self, name: str) -> Pipeline:
        """One pipeline; :class:`PipelineNotFoundError` if it is not registered."""
        with self._tx(write=False) as con:
            return self._pipeline(con, name)

    def list_pipelines(self) -> list[Pipeline]:
        """All registered pipelines, by name."""
        with self._tx(write=False) as con:
            rows = con.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
        return [Pipeline.model_validate(dict(r)) for r in rows]

    def pause(self, name: str) -> Pipeline:
        """Pause a pipeline: no scheduled run is created until :meth:`resume`."""
        return self._set_paused(name, True)

    def resume(self, name: str) -> Pipeline:
        """Resume a paused pipeline (the scheduler decides whether to catch up)."""
        return self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> Pipeline:
        now = self._now()
        with self._tx() as con:
            self._pipeline(con, name)
            if not paused and self._gov(con, name).pending:
                raise PipelinePendingError(name)
            con.execute(
                "UPDATE pipelines SET paused = ?, paused_at = ?, updated_at = ? WHERE name = ?",
                (int(paused), now if paused else None, now, name),
            )
            return self._pipeline(con, name)

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

    def get_run(self, run_id: str) -> Run:
        """One run; :class:`RunNotFoundError` if there is none."""
        with self._tx(write=False) as con:
            return self._require_run(con, run_id)

    def get_run_detail(self, run_id: str) -> RunDetail:
        """A run with its tasks, every attempt (all repair generations) and its history."""
        with self._tx(write=False) as con:
            run = self._require_run(con, run_id)
            tasks = con.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,))
            task_list = [_task(r) for r in tasks]
            attempts = con.execute(
                "SELECT * FROM attempts WHERE run_id = ? ORDER BY attempt_id", (run_id,)
            )
            attempt_list = [_attempt(r) for r in attempts]
            events = con.execute(
                "SELECT * FROM run_events WHERE run_id = ? ORDER BY event_id", (run_id,)
            )
            event_list = [RunEvent.model_validate(dict(r)) for r in events]
        return RunDetail(run=run, tasks=task_list, attempts=attempt_list, events=event_list)

    def list_runs(
        self,
        *,
        pipeline: str | None = None,
        states: Iterable[RunState | str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[Run]:
        """Runs, newest first, filtered by pipeline, state(s) and date.

        The date of a run is its scheduled time, or its creation time for unscheduled runs;
        ``since`` is inclusive and ``until`` exclusive.

        Examples
        --------
        >>> [r.state for r in store.list_runs(pipeline="daily_sales", states=["queued"])]
        ['queued', 'queued']
        """
        where, args = ["1 = 1"], []
        if pipeline is not None:
            where.append("pipeline = ?")
            args.append(pipeline)
        if states is not None:
            wanted = [RunState(s).value for s in states]
            where.append(f"state IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if since is not None:
            where.append("coalesce(scheduled_for, created_at) >= ?")
            args.append(_ts(since))
        if until is not None:
            where.append("coalesce(scheduled_for, created_at) < ?")
            args.append(_ts(until))
        sql = (
            f"SELECT * FROM runs WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(scheduled_for, created_at) DESC, run_id DESC LIMIT ? OFFSET ?"
        )
        with self._tx(write=False) as con:
            rows = con.execute(sql, [*args, limit, offset]).fetchall()
        return [_run(r) for r in rows]

    def last_scheduled_time(self, pipeline: str) -> datetime | None:
        """The latest time a scheduled run of ``pipeline`` was created for (for catch-up)."""
        with self._tx(write=False) as con:
            row = con.execute(
                "SELECT max(scheduled_for) FROM runs WHERE pipeline = ? AND trigger = 'schedule'",
                (pipeline,),
            ).fetchone()
        return None if row[0] is None else datetime.fromisoformat(row[0])

    def count_active_runs(self, pipeline: str, *, include_queued: bool = False) -> int:
        """How many runs of ``pipeline`` are running (and queued, if asked)."""
        states = ("running", "queued") if include_queued else ("running", "running")
        with self._tx(write=False) as con:
            row = con.execute(
                "SELECT count(*) FROM runs WHERE pipeline = ? AND state IN (?, ?)",
                (pipeline, *states),
            ).fetchone()
        return int(row[0])
