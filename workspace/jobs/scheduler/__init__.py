"""The scheduler service: one long-running loop that turns pipelines into finished runs.

* :mod:`~workspace.jobs.scheduler.loop`: :class:`Scheduler` (ticks, ``after:``, orphans, SLA);
* :mod:`~workspace.jobs.scheduler.ticks`: what one pass did;
* :mod:`~workspace.jobs.scheduler.load`: the pipelines and pools it runs, reloaded on change;
* :mod:`~workspace.jobs.scheduler.events`: failure, success and SLA events, and their alerts;
* :mod:`~workspace.jobs.scheduler.crash`: named crash points for the crash-safety tests.
"""
