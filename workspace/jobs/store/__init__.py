"""The scheduler's durable run store (one SQLite file): pipelines, runs, tasks, attempts, pools.

:class:`~workspace.jobs.store.run_store.RunStore` (connections, migrations, transactions,
creating runs) is composed of mixins: :mod:`~workspace.jobs.store.pipelines` (registration,
ownership and review), :mod:`~workspace.jobs.store.queries` (reading runs),
:mod:`~workspace.jobs.store.tasks` (run and task transitions, repair),
:mod:`~workspace.jobs.store.attempts` (claims, attempts, pool slots, orphans) and
:mod:`~workspace.jobs.store.lineage` (table writes), over the helpers of
:mod:`~workspace.jobs.store.rows`. The schema is ``schema.sql`` plus the ``schema_N.sql``
migrations (:mod:`~workspace.jobs.store.schema`).
"""
