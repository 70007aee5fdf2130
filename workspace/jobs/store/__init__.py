"""The scheduler's durable run store (one SQLite file): pipelines, runs, tasks, attempts, pools.

:class:`~workspace.jobs.store.run_store.RunStore` is the facade every caller uses; each of its
public methods is one transaction. It composes :class:`~workspace.jobs.store.database.RunDatabase`
(connection, migrations, the transaction) with one repository per concern (pipelines, runs,
tasks, attempts, pools, lineage), each working inside the caller's transaction. A run from
creation to repair is the example of :class:`~workspace.jobs.store.runs.RunRepository`.

Design notes: docs/run-store.md.
"""
