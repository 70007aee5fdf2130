"""Reading runs: one run, its detail, lists and counts (a mixin of ``RunStore``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from workspace.jobs.models import (
    Run,
    RunDetail,
    RunEvent,
    RunState,
)
from workspace.jobs.store.rows import StoreRows, _attempt, _run, _task, _ts


class RunQueriesMixin(StoreRows):
    """Queries of runs (a mixin of ``RunStore``); each one read transaction."""

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
