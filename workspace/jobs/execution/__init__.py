"""Running one notebook attempt, away from the scheduler process.

* :mod:`~workspace.jobs.execution.executors`: where attempts run (subprocess, Dask);
* :mod:`~workspace.jobs.execution.runner` (``python -m workspace.jobs.execution.runner``) and
  its papermill engine :mod:`~workspace.jobs.execution._engine`;
* :mod:`~workspace.jobs.execution.context`: what an attempt is and how it ended;
* :mod:`~workspace.jobs.execution.outputs`, :mod:`~workspace.jobs.execution.report`,
  :mod:`~workspace.jobs.execution.attempt_log`: published values, HTML report, log;
* :mod:`~workspace.jobs.execution.isolation`: the unprivileged runner account.
"""
