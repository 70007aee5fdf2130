"""Hub-managed services: thin HTTP layers over the workspace library.

:mod:`workspace.hub.jobs_api` is the scheduler's REST API (described by
``jobs_openapi.yaml``), run by ``workspace scheduler --port`` and, behind JupyterHub, as a
hub service under its ``base_url``.
"""
