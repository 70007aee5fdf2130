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
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
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
from workspace.lake.settings import Settings

#: Migration steps; step ``i`` takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[Callable[[], str], ...] = (
    lambda: resources.files("workspace.jobs").joinpath("store_schema.sql").read_text("utf-8"),
)
SCHEMA_VERSION = len(_MIGRATIONS)


class _Declined(Exception):
    """A claim found no capacity: roll the transaction back and report None."""


def store_path(settings: Settings) -> Path:
    """Where the run store of a workspace lives: ``<home>/jobs/runs.sqlite``."""
    return settings.home / "jobs" / "runs.sqlite"


def _ts(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; pass a timezone-aware UTC datetime")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _new_id() -> str:
    """A 32-hex-digit id that sorts by creation time (milliseconds, then 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""


def _run(row: sqlite3.Row) -> Run:
    return Run.model_validate({**dict(row), "parameters": json.loads(row["parameters"])})


def _task(row: sqlite3.Row) -> Task:
    value = row["item_value"]
    return Task.model_validate(
        {
            **dict(row),
            "outputs": json.loads(row["outputs"]),
            "item_value": None if value is None else json.loads(value),
        }
    )


def _attempt(row: sqlite3.Row) -> Attempt:
    return Attempt.model_validate(dict(row))


class RunStore:
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

    def _now(self) -> str:
        return _ts(self.clock())

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

    @staticmethod
    def _require_run(con: sqlite3.Connection, run_id: str) -> Run:
        row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFoundError(run_id)
        return _run(row)

    @staticmethod
    def _require_task(con: sqlite3.Connection, run_id: str, task_key: str) -> Task:
        row = con.execute(
            "SELECT * FROM tasks WHERE run_id = ? AND task_key = ?", (run_id, task_key)
        ).fetchone()
        if row is None:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
                raise RunNotFoundError(run_id)
            raise TaskNotFoundError(run_id, task_key)
        return _task(row)

    @staticmethod
    def _require_attempt(con: sqlite3.Connection, attempt_id: int) -> Attempt:
        row = con.execute("SELECT * FROM attempts WHERE attempt_id = ?", (attempt_id,)).fetchone()
        if row is None:
            raise AttemptNotFoundError(attempt_id)
        return _attempt(row)

    def _event(
        self,
        con: sqlite3.Connection,
        run_id: str,
        message: str,
        *,
        task_key: str | None = None,
        level: str = "info",
    ) -> None:
        con.execute(
            "INSERT INTO run_events (run_id, task_key, at, level, message) VALUES (?, ?, ?, ?, ?)",
            (run_id, task_key, self._now(), level, message),
        )

    def _set_task(
        self, con: sqlite3.Connection, task: Task, state: TaskState, reason: str | None = None
    ) -> None:
        if state not in TASK_TRANSITIONS.get(task.state, frozenset()):
            raise InvalidTransitionError(
                f"task {task.task_key!r} of run {task.run_id!r}", task.state, state
            )
        con.execute(
            "UPDATE tasks SET state = ?, reason = ?, updated_at = ? "
            "WHERE run_id = ? AND task_key = ?",
            (state, reason, self._now(), task.run_id, task.task_key),
        )

    # -- pipelines ------------------------------------------------------------------------

    def upsert_pipeline(self, name: str, *, spec_hash: str | None = None) -> Pipeline:
        """Register a pipeline (``enabled_at`` = now) or update its spec hash.

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
    ) -> tuple[Run, bool]:
        """Create the run of ``pipeline`` for ``scheduled_for``, or return the existing one.

        Idempotent and safe across processes: there is at most one run per (pipeline,
        scheduled time). The run and its tasks are created in one transaction.

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
        return self._create(pipeline, trigger, _ts(scheduled_for), None, tasks, parameters)

    def create_manual_run(
        self,
        pipeline: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
    ) -> Run:
        """Create a run started by a person (allowed while the pipeline is paused)."""
        return self._create(pipeline, Trigger.MANUAL, None, None, tasks, parameters)[0]

    def create_triggered_run(
        self,
        pipeline: str,
        upstream_run_id: str,
        *,
        tasks: Iterable[NewTask | str] = (),
        parameters: Mapping[str, Any] | None = None,
    ) -> tuple[Run, bool]:
        """Create the run that follows ``upstream_run_id`` (``after:``), at most once."""
        return self._create(pipeline, Trigger.AFTER, None, upstream_run_id, tasks, parameters)

    def _create(
        self,
        pipeline: str,
        trigger: Trigger,
        scheduled_for: str | None,
        triggered_by: str | None,
        tasks: Iterable[NewTask | str],
        parameters: Mapping[str, Any] | None,
    ) -> tuple[Run, bool]:
        params = json.dumps(dict(parameters or {}), sort_keys=True, default=str)
        now = self._now()
        with self._tx() as con:
            if self._pipeline(con, pipeline).paused and trigger != Trigger.MANUAL:
                raise PipelinePausedError(pipeline)
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
                "parameters, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, pipeline, scheduled_for, trigger, triggered_by, params, now),
            )
            self._insert_tasks(con, run_id, tasks)
            self._event(con, run_id, f"created ({trigger})")
            return self._require_run(con, run_id), True

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

    def running_task_count(self, pipeline: str | None = None) -> int:
        """How many tasks are running, in one pipeline's runs or in all."""
        with self._tx(write=False) as con:
            return self._running_tasks(con, pipeline)

    @staticmethod
    def _running_tasks(con: sqlite3.Connection, pipeline: str | None) -> int:
        row = con.execute(
            "SELECT count(*) FROM tasks t JOIN runs r USING (run_id) "
            "WHERE t.state = 'running' AND (? IS NULL OR r.pipeline = ?)",
            (pipeline, pipeline),
        ).fetchone()
        return int(row[0])

    def set_run_report(self, run_id: str, report_path: str) -> Run:
        """Record where the run's rendered report is (the link the UI shows)."""
        with self._tx() as con:
            self._require_run(con, run_id)
            con.execute("UPDATE runs SET report_path = ? WHERE run_id = ?", (report_path, run_id))
            return self._require_run(con, run_id)

    def add_event(
        self, run_id: str, message: str, *, task_key: str | None = None, level: str = "info"
    ) -> None:
        """Append a line to a run's history (level ``info``, ``warning`` or ``error``)."""
        with self._tx() as con:
            self._require_run(con, run_id)
            self._event(con, run_id, message, task_key=task_key, level=level)

    # -- lifecycle -----------------------------------------------------------------------

    def start_run(self, run_id: str, *, max_active_runs: int | None = None) -> bool:
        """Move a queued run to running, unless ``max_active_runs`` runs already run.

        The check and the change are one transaction, so two schedulers (or a scheduler and
        a CLI) can never exceed the limit. Returns False when the limit is reached.
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if run.state != RunState.QUEUED:
                raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.RUNNING)
            if max_active_runs is not None:
                active = con.execute(
                    "SELECT count(*) FROM runs WHERE pipeline = ? AND state = 'running'",
                    (run.pipeline,),
                ).fetchone()[0]
                if active >= max_active_runs:
                    return False
            con.execute(
                "UPDATE runs SET state = 'running', started_at = ? WHERE run_id = ?",
                (self._now(), run_id),
            )
            self._event(con, run_id, "started")
            return True

    def finish_run(self, run_id: str, state: RunState | str, *, reason: str | None = None) -> Run:
        """End a running run (or cancel a queued one).

        ``succeeded`` requires every task to be succeeded or skipped; no state is allowed
        while a task is still running. Tasks left pending or queued become ``cancelled``.
        """
        target = RunState(state)
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if target not in RUN_TRANSITIONS.get(run.state, frozenset()):
                raise InvalidTransitionError(f"run {run_id!r}", run.state, target)
            counts = dict(
                con.execute(
                    "SELECT state, count(*) FROM tasks WHERE run_id = ? GROUP BY state", (run_id,)
                ).fetchall()
            )
            if counts.get("running"):
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, target, "Tasks are still running."
                )
            if target == RunState.SUCCEEDED and set(counts) - {"succeeded", "skipped"}:
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, target, f"Its tasks are {sorted(counts)}."
                )
            self._end_run(con, run_id, target, reason)
            return self._require_run(con, run_id)

    def _end_run(
        self, con: sqlite3.Connection, run_id: str, state: RunState, reason: str | None
    ) -> None:
        now = self._now()
        con.execute(
            "UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ? "
            "WHERE run_id = ? AND state IN ('pending', 'queued')",
            (f"run {state}", now, run_id),
        )
        con.execute(
            "UPDATE runs SET state = ?, finished_at = ? WHERE run_id = ?", (state, now, run_id)
        )
        self._event(con, run_id, f"{state}" + (f": {reason}" if reason else ""))

    def cancel_run(self, run_id: str, *, reason: str | None = None) -> list[Attempt]:
        """Cancel a queued or running run; returns the running attempts the caller must stop.

        Pending and queued tasks become ``cancelled`` at once; each returned attempt is
        finished as ``cancelled`` by whoever stops it (:meth:`finish_attempt`).
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if run.state.finished:
                raise InvalidTransitionError(f"run {run_id!r}", run.state, RunState.CANCELLED)
            self._end_run(con, run_id, RunState.CANCELLED, reason)
            rows = con.execute(
                "SELECT * FROM attempts WHERE run_id = ? AND state = 'running'", (run_id,)
            ).fetchall()
        return [_attempt(r) for r in rows]

    def set_task_state(
        self, run_id: str, task_key: str, state: TaskState | str, *, reason: str | None = None
    ) -> Task:
        """Move a task that is not running: queue it, skip it, mark it upstream_failed...

        Running is entered only through :meth:`claim_task` and left only through
        :meth:`finish_attempt`; any other change not in ``TASK_TRANSITIONS`` raises
        :class:`InvalidTransitionError`.

        Examples
        --------
        >>> store.set_task_state(run.run_id, "load", "queued").state
        <TaskState.QUEUED: 'queued'>
        """
        target = TaskState(state)
        with self._tx() as con:
            task = self._require_task(con, run_id, task_key)
            if TaskState.RUNNING in (task.state, target):
                raise InvalidTransitionError(
                    f"task {task_key!r} of run {run_id!r}",
                    task.state,
                    target,
                    "Use claim_task to start a task and finish_attempt to end it.",
                )
            self._set_task(con, task, target, reason)
            return self._require_task(con, run_id, task_key)

    def claim_task(
        self,
        run_id: str,
        task_key: str,
        *,
        executor: str | None = None,
        worker: str | None = None,
        pid: int | None = None,
        log_path: str | None = None,
        pool: str | None = None,
        pool_capacity: int | None = None,
        max_running_tasks: int | None = None,
        stale_after: timedelta | None = None,
    ) -> Attempt | None:
        """Start a queued task: create its next attempt and take a pool slot, atomically.

        Returns None (and changes nothing) when ``pool`` has no free slot out of
        ``pool_capacity`` or the pipeline already runs ``max_running_tasks`` tasks. Slots
        of holders whose heartbeat is older than ``stale_after`` count as free.

        Examples
        --------
        >>> attempt = store.claim_task(run.run_id, "load", pool="db", pool_capacity=2)
        >>> attempt.number, attempt.state
        (1, <AttemptState.RUNNING: 'running'>)
        """
        try:
            with self._tx() as con:
                run = self._require_run(con, run_id)
                task = self._require_task(con, run_id, task_key)
                if run.state != RunState.RUNNING:
                    raise InvalidTransitionError(
                        f"task {task_key!r} of run {run_id!r}",
                        task.state,
                        TaskState.RUNNING,
                        f"The run is {run.state}; start it with start_run first.",
                    )
                self._set_task(con, task, TaskState.RUNNING)
                if max_running_tasks is not None and (
                    self._running_tasks(con, run.pipeline) > max_running_tasks  # includes this one
                ):
                    raise _Declined
                now = self._now()
                attempt_id = con.execute(
                    "INSERT INTO attempts (run_id, task_key, number, repair_generation, executor, "
                    "worker, pid, pool, started_at, heartbeat_at, log_path) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING attempt_id",
                    (run_id, task_key, task.attempts + 1, run.repair_generation, executor, worker,
                     pid, pool, now, now, log_path),
                ).fetchone()[0]  # fmt: skip
                if pool is not None and not self._acquire(
                    con, pool, pool_capacity, attempt_id, stale_after
                ):
                    raise _Declined
                con.execute(
                    "UPDATE tasks SET attempts = attempts + 1 WHERE run_id = ? AND task_key = ?",
                    (run_id, task_key),
                )
                return self._require_attempt(con, attempt_id)
        except _Declined:
            return None

    def _acquire(
        self,
        con: sqlite3.Connection,
        pool: str,
        capacity: int | None,
        attempt_id: int,
        stale_after: timedelta | None,
    ) -> bool:
        if capacity is None or capacity < 0:
            raise ValueError(f"pool {pool!r} needs a slot count (pool_capacity >= 0)")
        held = con.execute(
            "SELECT pool FROM pool_slots WHERE attempt_id = ?", (attempt_id,)
        ).fetchone()
        if held is not None:
            return bool(held[0] == pool)
        fresh = None if stale_after is None else _ts(self.clock() - stale_after)
        used = con.execute(
            "SELECT count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
            "WHERE s.pool = ? AND a.state = 'running' AND (? IS NULL OR a.heartbeat_at >= ?)",
            (pool, fresh, fresh),
        ).fetchone()[0]
        if used >= capacity:
            return False
        con.execute(
            "INSERT INTO pool_slots (pool, attempt_id, acquired_at) VALUES (?, ?, ?)",
            (pool, attempt_id, self._now()),
        )
        return True

    def try_acquire_slot(
        self,
        pool: str,
        capacity: int,
        attempt_id: int,
        *,
        stale_after: timedelta | None = None,
    ) -> bool:
        """Take one of ``capacity`` slots of ``pool`` for a running attempt (idempotent).

        Pools are shared by every pipeline. A slot is released by :meth:`release_slot`,
        when its attempt finishes, or when its attempt is declared lost.
        """
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING:
                raise InvalidTransitionError(
                    f"attempt {attempt_id}", attempt.state, "holding a slot of " + repr(pool)
                )
            return self._acquire(con, pool, capacity, attempt_id, stale_after)

    def release_slot(self, attempt_id: int) -> None:
        """Give back the pool slot an attempt holds (no-op if it holds none)."""
        with self._tx() as con:
            con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt_id,))

    def pool_usage(self) -> dict[str, int]:
        """Slots in use per pool (held by running attempts)."""
        with self._tx(write=False) as con:
            rows = con.execute(
                "SELECT s.pool, count(*) FROM pool_slots s JOIN attempts a USING (attempt_id) "
                "WHERE a.state = 'running' GROUP BY s.pool"
            ).fetchall()
        return {r[0]: int(r[1]) for r in rows}

    def heartbeat(self, attempt_id: int) -> bool:
        """Record that an attempt is alive. False means it was declared lost: stop working."""
        with self._tx() as con:
            cur = con.execute(
                "UPDATE attempts SET heartbeat_at = ? WHERE attempt_id = ? AND state = 'running'",
                (self._now(), attempt_id),
            )
            if cur.rowcount == 0:
                self._require_attempt(con, attempt_id)
                return False
            return True

    def finish_attempt(
        self,
        attempt_id: int,
        state: AttemptState | str,
        *,
        error: str | None = None,
        failing_cell: int | None = None,
        notebook_path: str | None = None,
        report_path: str | None = None,
        outputs: Mapping[str, Any] | None = None,
        retry: bool = False,
    ) -> Attempt:
        """End a running attempt; its task takes the same state (``queued`` if ``retry``).

        Raises :class:`InvalidTransitionError` if the attempt is no longer running (for
        example it was declared lost): its late result is not recorded.

        Examples
        --------
        >>> store.finish_attempt(attempt.attempt_id, "succeeded", outputs={"rows": 10}).state
        <AttemptState.SUCCEEDED: 'succeeded'>
        """
        target = AttemptState(state)
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING or target in (
                AttemptState.RUNNING,
                AttemptState.LOST,
            ):
                raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, target)
            task = self._require_task(con, attempt.run_id, attempt.task_key)
            succeeded = target == AttemptState.SUCCEEDED
            task_state = TaskState.QUEUED if retry and not succeeded else TaskState(target)
            self._set_task(con, task, task_state, error)
            con.execute(
                "UPDATE attempts SET state = ?, finished_at = ?, error = ?, failing_cell = ?, "
                "notebook_path = ?, report_path = ? WHERE attempt_id = ?",
                (target, self._now(), error, failing_cell, notebook_path, report_path,
                 attempt_id),
            )  # fmt: skip
            if succeeded:
                con.execute(
                    "UPDATE tasks SET outputs = ? WHERE run_id = ? AND task_key = ?",
                    (json.dumps(dict(outputs or {}), default=str), task.run_id, task.task_key),
                )
            con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt_id,))
            if not succeeded:
                self._event(con, task.run_id, f"attempt {attempt.number} {target}: {error}",
                            task_key=task.task_key, level="error")  # fmt: skip
            return self._require_attempt(con, attempt_id)

    def find_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Running attempts whose last heartbeat is older than ``stale_after``."""
        with self._tx(write=False) as con:
            return self._orphans(con, stale_after)

    def _orphans(self, con: sqlite3.Connection, stale_after: timedelta) -> list[Attempt]:
        rows = con.execute(
            "SELECT * FROM attempts WHERE state = 'running' AND heartbeat_at < ? "
            "ORDER BY attempt_id",
            (_ts(self.clock() - stale_after),),
        ).fetchall()
        return [_attempt(r) for r in rows]

    def _abandon(self, con: sqlite3.Connection, attempt: Attempt, task_state: TaskState) -> None:
        message = f"heartbeat lost (last at {attempt.heartbeat_at.isoformat()})"
        con.execute(
            "UPDATE attempts SET state = 'lost', finished_at = ?, error = ? WHERE attempt_id = ?",
            (self._now(), message, attempt.attempt_id),
        )
        con.execute("DELETE FROM pool_slots WHERE attempt_id = ?", (attempt.attempt_id,))
        task = self._require_task(con, attempt.run_id, attempt.task_key)
        self._set_task(con, task, task_state, message)
        self._event(con, attempt.run_id, f"attempt {attempt.number} {message}; task {task_state}",
                    task_key=attempt.task_key, level="warning")  # fmt: skip

    def fail_orphaned_attempts(self, stale_after: timedelta) -> list[Attempt]:
        """Mark orphaned attempts ``lost`` and their tasks ``failed``; returns them."""
        with self._tx() as con:
            orphans = self._orphans(con, stale_after)
            for attempt in orphans:
                self._abandon(con, attempt, TaskState.FAILED)
            return [self._require_attempt(con, a.attempt_id) for a in orphans]

    def requeue(self, attempt_id: int, *, stale_after: timedelta | None = None) -> Attempt | None:
        """Mark a running attempt ``lost`` and queue its task again (the next attempt resumes).

        With ``stale_after``, nothing happens (None) if the attempt sent a heartbeat since.
        """
        with self._tx() as con:
            attempt = self._require_attempt(con, attempt_id)
            if attempt.state != AttemptState.RUNNING:
                raise InvalidTransitionError(f"attempt {attempt_id}", attempt.state, "lost")
            if stale_after is not None and attempt.heartbeat_at >= self.clock() - stale_after:
                return None
            self._abandon(con, attempt, TaskState.QUEUED)
            return self._require_attempt(con, attempt_id)

    def repair(
        self, run_id: str, *, downstream: Mapping[str, Iterable[str]] | None = None
    ) -> list[str]:
        """Reset failed tasks and everything downstream of them, under the same run id.

        Tasks that failed, timed out, were cancelled or upstream_failed go back to
        ``pending``, together with their dependents (``downstream`` maps a task name or key
        to the names or keys that depend on it; a name covers all its fan-out items). Other
        tasks keep their state and outputs; every attempt is kept (new attempts get the next
        ``repair_generation``). The run goes back to ``queued``.

        Returns the reset task keys ([] and no change if nothing needs repair).

        Examples
        --------
        >>> store.repair(run.run_id, downstream={"load": {"report"}})
        ['load', 'report[0]']
        """
        with self._tx() as con:
            run = self._require_run(con, run_id)
            if not run.state.finished:
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, "repair", "Wait for it to finish or cancel it."
                )
            tasks = {t.task_key: t for t in map(_task, con.execute(
                "SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,)))}  # fmt: skip
            if any(t.state == TaskState.RUNNING for t in tasks.values()):
                raise InvalidTransitionError(
                    f"run {run_id!r}", run.state, "repair", "Some attempts are still running."
                )
            by_name: dict[str, set[str]] = {}
            for t in tasks.values():
                by_name.setdefault(t.name, set()).add(t.task_key)
            reset = {k for k, t in tasks.items() if t.state in REPAIRABLE}
            todo, deps = list(reset), downstream or {}
            while todo:
                task = tasks[todo.pop()]
                for dep in {*deps.get(task.task_key, ()), *deps.get(task.name, ())}:
                    for key in by_name.get(dep, {dep} & tasks.keys()) - reset:
                        reset.add(key)
                        todo.append(key)
            if not reset:
                return []
            keys = [k for k in tasks if k in reset]
            con.executemany(
                "UPDATE tasks SET state = 'pending', outputs = '{}', reason = NULL, "
                "updated_at = ? WHERE run_id = ? AND task_key = ?",
                [(self._now(), run_id, k) for k in keys],
            )
            con.execute(
                "UPDATE runs SET state = 'queued', finished_at = NULL, "
                "repair_generation = repair_generation + 1 WHERE run_id = ?",
                (run_id,),
            )
            self._event(con, run_id, f"repair {run.repair_generation + 1}: {', '.join(keys)}")
            return keys
