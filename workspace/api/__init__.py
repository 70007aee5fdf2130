"""The service layer of the HTTP APIs, shared by every front end.

:mod:`workspace.api.service` is :class:`~workspace.api.service.JobsService`, the pipeline and
run operations; :mod:`workspace.api.models` their request and response models;
:mod:`workspace.api.errors` is the one mapping from exceptions to HTTP error bodies;
:mod:`workspace.api.routes` is the declarative table of the jobs routes (path, method, the
:class:`~workspace.api.service.JobsService` call, request and response models, permission);
:mod:`workspace.api.dispatch` runs a route behind an :class:`~workspace.api.authz.Authorizer`;
:mod:`workspace.api.openapi` generates the OpenAPI documents from the table and the models.
The Lab server extension (:mod:`workspace.server`) and the scheduler service
(:mod:`workspace.hub.jobs_api`) only mount the table behind their own authentication.
This package imports nothing from ``server``, ``hub`` or ``reports``.
"""
