"""The scheduler's durable run store (one SQLite file): pipelines, runs, tasks, attempts, pools.

:class:`~workspace.jobs.store.run_store.RunStore` is the facade every caller uses; each of its
public methods is one transaction. It composes :class:`~workspace.jobs.store.database.RunDatabase`
(connection, WAL, migrations of :mod:`~workspace.jobs.store.schema`, the transaction) with one
repository per concern, each working inside the caller's transaction:
:mod:`~workspace.jobs.store.pipelines` (registration, owner, review, audience),
:mod:`~workspace.jobs.store.runs` (creating, ending, repairing runs; history; queries),
:mod:`~workspace.jobs.store.tasks`, :mod:`~workspace.jobs.store.attempts` (claims, heartbeats,
orphans), :mod:`~workspace.jobs.store.pools` and :mod:`~workspace.jobs.store.lineage`.

A run from creation to repair:

>>> import tempfile
>>> from datetime import UTC, datetime
>>> from pathlib import Path
>>> from workspace.jobs.store.run_store import RunStore
>>> store = RunStore.open(Path(tempfile.mkdtemp()) / "runs.sqlite")
>>> _ = store.upsert_pipeline("daily_sales", spec_hash="abc")
>>> run, created = store.create_scheduled_run(
...     "daily_sales", datetime(2025, 1, 1, tzinfo=UTC), tasks=["load", "report"]
... )
>>> store.start_run(run.run_id)
True
>>> _ = store.set_task_state(run.run_id, "load", "queued")
>>> attempt = store.claim_task(run.run_id, "load", pool="db", pool_capacity=2)
>>> attempt.number, store.pool_usage()
(1, {'db': 1})
>>> store.finish_attempt(attempt.attempt_id, "failed", error="boom").state
<AttemptState.FAILED: 'failed'>
>>> store.finish_run(run.run_id, "failed").state
<RunState.FAILED: 'failed'>
>>> store.repair(run.run_id, downstream={"load": ["report"]}, requested_by="ada")
['load', 'report']
>>> store.get_run(run.run_id).state, store.get_run(run.run_id).requested_by
(<RunState.QUEUED: 'queued'>, 'ada')
>>> store.close()
"""
