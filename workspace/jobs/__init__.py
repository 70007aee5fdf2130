"""``workspace.jobs``: parameterized notebooks as scheduled production pipelines.

Inside a notebook run by a pipeline, publish small named values with :func:`output`; they
are stored with the run, and downstream conditions and fan-in read them.
"""

from __future__ import annotations

from workspace.jobs.execution.outputs import output

__all__ = ["output"]
