"""The OpenAPI documents of the jobs routes, generated from the route table and the models.

:func:`jobs_paths` builds every jobs operation from :data:`~workspace.api.routes.ROUTES`, the
pydantic models and the prose in ``openapi_text.yaml``. ``python -m workspace.server.openapi
--check`` fails when a committed document is stale; ``--write`` rewrites them.
What is generated and what is kept: docs/api.md, "Module notes".

Examples
--------
>>> ops = jobs_paths("hub")
>>> ops["/api/jobs/runs/{run_id}"]["get"]["operationId"]
'getRun'
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from workspace.api.routes import ROUTES, Route

Front = Literal["hub", "lab"]
#: The committed document of each front end, and the prefix of its jobs routes.
DOCUMENTS: dict[Front, tuple[str, str, str]] = {
    "hub": ("workspace.hub", "jobs_openapi.yaml", "/api/jobs/"),
    "lab": ("workspace.server", "openapi.yaml", "/workspace/api/jobs/"),
}
#: The schema of each path parameter.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "name": {"type": "string"},
    "run_id": {"type": "string"},
    "test_id": {"type": "string"},
    "attempt_id": {"type": "integer", "minimum": 0},
    "request_id": {"type": "integer", "minimum": 1},
}
#: Routes that answer 409 (a forbidden state change or a conflict).
CONFLICTS = frozenset({"approve", "repair", "cancel", "promotions"})
#: Routes that answer 404 for an unknown user, table, tier, request or grant in the body.
NOT_FOUND = frozenset({"access_request", "access_grant", "access_revoke"})
_HTML = {"text/html": {"schema": {"type": "string"}}}


@cache
def texts() -> dict[str, dict[str, dict[str, Any]]]:
    """The prose of every operation, by front end and route name."""
    text = resources.files("workspace.api").joinpath("openapi_text.yaml").read_text("utf-8")
    data: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(text)
    return data


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _query_parameters(route: Route, prose: dict[str, Any]) -> list[dict[str, Any]]:
    assert route.query is not None
    schema = route.query.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", ()))
    params = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k not in ("title", "description")}
        options = [o for o in field.pop("anyOf", ()) if o.get("type") != "null"]
        if options:  # an optional value: the parameter is simply left out
            field = {**options[0], **field}
            if field.get("default", 0) is None:
                del field["default"]
            field.pop("format", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        text = prose.get(name)
        if isinstance(text, dict):  # {description, schema}: the front end's own schema
            field = text.get("schema", field)
            text = text.get("description")
        if text:
            param["description"] = text
        if name in route.lists:
            param.update(style="form", explode=True)
        param["schema"] = field
        params.append(param)
    return params


def _responses(route: Route, front: Front, prose: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    successes = {int(s): v for s, v in prose.items()} or {route.success(None): {}}
    for status, text in successes.items():
        response: dict[str, Any] = {"description": text.get("description", "")}
        if text.get("headers"):
            response["headers"] = {
                name: {"schema": {"type": "string"}, "description": about}
                for name, about in text["headers"].items()
            }
        if route.response is None:
            response["content"] = _HTML
        else:
            response["content"] = {"application/json": {"schema": _ref(route.response)}}
        responses[str(status)] = response
    errors = [403]
    if route.query is not None or route.body is not None or "name" in route.parameters:
        errors.append(400)
    if front == "hub":
        errors.append(401)
    if route.parameters or route.name in NOT_FOUND:
        errors.append(404)
    if route.name in CONFLICTS:
        errors.append(409)
    if front == "lab" and route.name == "pipelines":
        errors.append(500)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    return responses


def operation(route: Route, front: Front) -> dict[str, Any]:
    """The OpenAPI operation of ``route`` in the document of ``front``."""
    prose = texts()[front][route.name]
    op: dict[str, Any] = {
        key: prose[key] for key in ("operationId", "summary", "description") if key in prose
    }
    if route.query is not None:
        op["parameters"] = _query_parameters(route, prose.get("parameters", {}))
    if route.body is not None:
        # a PUT body is the whole resource; a POST body may be left out if nothing is required
        required = route.method == "PUT" or bool(route.body.model_json_schema().get("required"))
        content = {"application/json": {"schema": _ref(route.body)}}
        op["requestBody"] = {"required": required, "content": content}
    op["responses"] = _responses(route, front, prose.get("responses", {}))
    return op


def jobs_paths(front: Front) -> dict[str, Any]:
    """The path items of the jobs routes of ``front`` (``lab``: the Lab's routes only)."""
    prefix = DOCUMENTS[front][2]
    paths: dict[str, Any] = {}
    for route in ROUTES:
        if front == "lab" and not route.lab:
            continue
        item = paths.setdefault(prefix + route.path, {})
        described = texts()[front][route.name].get("parameters", {})
        if route.parameters and "parameters" not in item:
            item["parameters"] = [
                {"name": name, "in": "path", "required": True}
                | ({"description": described[name]} if name in described else {})
                | {"schema": PATH_SCHEMAS[name]}
                for name in route.parameters
            ]
        item[route.method.lower()] = operation(route, front)
    return paths


def committed_path(front: Front) -> Path:
    """The committed document of ``front``."""
    package, name, _ = DOCUMENTS[front]
    return Path(str(resources.files(package).joinpath(name)))


#: ``components.schemas`` of a document, by front end (the caller adds the Lab's).
Schemas = dict[Front, Callable[[], dict[str, Any]]]


def document(front: Front, schemas: Schemas | None = None) -> dict[str, Any]:
    """The document of ``front``: the committed one with its jobs paths generated, and its
    ``components.schemas`` from ``schemas`` (the scheduler service's: the jobs models)."""
    doc: dict[str, Any] = yaml.safe_load(committed_path(front).read_text("utf-8"))
    prefix = DOCUMENTS[front][2]
    generated = jobs_paths(front)
    paths: dict[str, Any] = {}
    for path, item in doc["paths"].items():  # keep the order: other routes stay in place
        if path.startswith(prefix):
            paths.update(generated)
        else:
            paths[path] = item
    paths.update(generated)
    doc["paths"] = paths
    if front == "hub":
        from workspace.api.models import component_schemas

        doc["components"]["schemas"] = component_schemas()
    elif schemas and front in schemas:
        doc["components"]["schemas"] = schemas[front]()
    return doc


class _Dumper(yaml.SafeDumper):
    """Writes every node in full (no ``&id001`` anchors)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _header(path: Path) -> str:
    lines = path.read_text("utf-8").splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "".join(lines[:end])


def render(front: Front, schemas: Schemas | None = None) -> str:
    """The YAML text of :func:`document` (the committed file's comment header kept)."""
    body = yaml.dump(
        document(front, schemas), Dumper=_Dumper, sort_keys=False, width=100, allow_unicode=True
    )
    return _header(committed_path(front)) + body


def stale(schemas: Schemas | None = None) -> list[Front]:
    """The front ends whose committed document differs from the generated one."""
    out: list[Front] = []
    for front in DOCUMENTS:
        committed = yaml.safe_load(committed_path(front).read_text("utf-8"))
        if committed != document(front, schemas):
            out.append(front)
    return out


def main(argv: list[str] | None = None, schemas: Schemas | None = None) -> int:
    """``--check``: exit 1 if a committed document is out of date; ``--write``: rewrite them.
    Run as ``python -m workspace.server.openapi``, which passes the Lab's schemas."""
    parser = argparse.ArgumentParser(prog="python -m workspace.server.openapi", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--check", action="store_true", help="fail if a document is stale")
    group.add_argument("--write", action="store_true", help="rewrite the stale documents")
    args = parser.parse_args(argv)
    outdated = stale(schemas)
    if args.check:
        for front in outdated:
            print(
                f"{committed_path(front)} is out of date with the route table or the models; "
                "run: python -m workspace.server.openapi --write",
                file=sys.stderr,
            )
        return 1 if outdated else 0
    for front in outdated:
        committed_path(front).write_text(render(front, schemas), "utf-8")
        print(f"wrote {committed_path(front)}")
    return 0
