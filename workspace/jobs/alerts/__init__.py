"""Alerts: when a run fails, succeeds or misses its SLA, tell people through sinks.

* :mod:`~workspace.jobs.alerts.event`: the event (what happened to a run) and the errors;
* :mod:`~workspace.jobs.alerts.sinks`: where alerts go (webhook, email, or your own class);
* :mod:`~workspace.jobs.alerts.config`: ``alerts.yaml`` and which sinks an event goes to.
"""
