"""Turning a pipeline run into finished tasks.

* :mod:`~workspace.jobs.orchestration.dag`: decisions without I/O (``run_if``, fan-out, fan-in);
* :mod:`~workspace.jobs.orchestration.orchestrator`: :class:`RunDriver`, which drives one run;
* :mod:`~workspace.jobs.orchestration.task_checks`: a task's declared checks, to its kernel
  and back as its outputs;
* :mod:`~workspace.jobs.orchestration.adhoc`: one-off runs of a notebook;
* :mod:`~workspace.jobs.orchestration.promote`: a notebook becomes a pipeline after a test run.
"""
