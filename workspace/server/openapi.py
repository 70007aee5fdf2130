"""``python -m workspace.server.openapi --check|--write``: the two OpenAPI documents.

The Lab server's ``workspace/server/openapi.yaml`` and the scheduler service's
``workspace/hub/jobs_openapi.yaml`` are generated from the route table and the pydantic
models (:mod:`workspace.api.openapi`); this command adds the Lab's ``components.schemas``
(:func:`workspace.server.models.component_schemas`: catalog, schedule and jobs payloads),
which only the server layer knows. ``--check`` exits 1 when a committed file is stale.
"""

from __future__ import annotations

from workspace.api import openapi
from workspace.server.models import component_schemas

#: The Lab document's schemas: the server's models.
SCHEMAS: openapi.Schemas = {"lab": component_schemas}


def main(argv: list[str] | None = None) -> int:
    """Check or rewrite both documents (see :func:`workspace.api.openapi.main`)."""
    return openapi.main(argv, SCHEMAS)


if __name__ == "__main__":
    raise SystemExit(main())
