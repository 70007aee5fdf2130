"""What a pipeline is: its spec, its schedule, where its files live, and how they are found.

* :mod:`~workspace.jobs.spec.pipeline`: ``pipeline.yaml`` validated by pydantic (tasks, pools,
  retries, ``run_if``, ``for_each``, SLA, alerts flags);
* :mod:`~workspace.jobs.spec.schedule`: cron expressions and due ticks;
* :mod:`~workspace.jobs.spec.discovery`: every pipeline under ``scheduled/`` (``scan``), the
  one reader of pipeline folders;
* :mod:`~workspace.jobs.spec.locations`: ``scheduled_root`` (every job path is
  :mod:`workspace.jobs.paths`').
"""
