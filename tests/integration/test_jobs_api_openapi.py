"""``workspace/hub/jobs_openapi.yaml`` matches the application: routes, methods, query
parameters, payload schemas, and the bodies the real server sends."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from support.openapi import assert_every_reference_resolves
from test_jobs_api import ROUTE_SAMPLES, TOKEN, Api, api_fixture  # noqa: F401 - fixture "api"
from tornado.routing import PathMatches

from workspace.api.models import CountQuery, RunsQuery, component_schemas
from workspace.hub.jobs_api import ROUTES, make_app
from workspace.lake.settings import Settings

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    text = resources.files("workspace.hub").joinpath("jobs_openapi.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def _openapi_path(pattern: str) -> str:
    """``runs/(?P<run_id>[^/]+)/report$`` -> ``/api/jobs/runs/{run_id}/report``."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).removesuffix("$")


def _app_operations(tmp_path: Any) -> set[tuple[str, str]]:
    app = make_app(Settings.resolve(tmp_path / "home"), tmp_path, token="t")
    ops = set()
    for rule in app.wildcard_router.rules:
        handler = rule.target
        assert isinstance(rule.matcher, PathMatches)
        for method in METHODS:
            if getattr(handler, method) is not getattr(handler.__mro__[-2], method):
                ops.add((method, _openapi_path(rule.matcher.regex.pattern)))
    app.settings["jobs_service"].store.close()
    return ops


def test_every_route_is_documented_and_vice_versa(spec: dict[str, Any], tmp_path: Any) -> None:
    documented = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }
    assert _app_operations(tmp_path) == documented
    assert len(ROUTES) == len(spec["paths"])


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path


def test_query_parameters_match_the_models(spec: dict[str, Any]) -> None:
    def query(path: str) -> set[str]:
        params = spec["paths"][path]["get"].get("parameters", [])
        return {p["name"] for p in params if p["in"] == "query"}

    assert query("/api/jobs/runs") == set(RunsQuery.model_fields)
    assert (
        query("/api/jobs/next")
        == query("/api/jobs/pipelines/{name}")
        == set(CountQuery.model_fields)
    )


def test_schemas_are_the_pydantic_models(spec: dict[str, Any]) -> None:
    assert spec["components"]["schemas"] == component_schemas(), (
        "jobs_openapi.yaml is out of date with workspace/api/models.py; regenerate "
        "components.schemas from component_schemas()"
    )


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    assert_every_reference_resolves(spec)


def _response_schema(spec: dict[str, Any], method: str, path: str, status: int) -> Any:
    for pattern, item in spec["paths"].items():
        regex = "^/api/jobs/" + re.sub(r"{\w+}", r"[^/]+", pattern.removeprefix("/api/jobs/")) + "$"
        if method.lower() in item and re.match(regex, "/api/jobs/" + path.split("?")[0]):
            response = item[method.lower()]["responses"].get(str(status))
            assert response is not None, f"{method} {pattern}: status {status} is not documented"
            if "$ref" in response:
                response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
            return response
    return None  # an undocumented path: only its error body is checked


def _check(spec: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    response = _response_schema(spec, method, path, status)
    registry: Registry[Any] = Registry().with_resource(
        "urn:jobs-openapi", DRAFT202012.create_resource(spec)
    )
    if response is None:
        schema: Any = {"$ref": "urn:jobs-openapi#/components/schemas/ErrorResponse"}
    elif "application/json" in response["content"]:
        inner = response["content"]["application/json"]["schema"]["$ref"]
        schema = {"$ref": "urn:jobs-openapi" + inner}
    else:
        assert isinstance(body, str) and "text/html" in response["content"]
        return
    Draft202012Validator(schema, registry=registry).validate(body)


@pytest.mark.parametrize("authorized", [True, False])
def test_responses_follow_the_documented_schemas(
    spec: dict[str, Any],
    api: Api,
    authorized: bool,
) -> None:
    run_id = api.failed_run()
    (api.settings.home / "jobs" / "runs" / run_id / "run.html").write_text("<p>ok</p>")
    attempt = api.store.get_run_detail(run_id).attempts[0].attempt_id
    extra = [
        ("GET", "runs?state=bogus"),
        ("GET", "pipelines/nope"),
        ("POST", "pipelines/etl/trigger"),
        ("GET", f"runs/{run_id}/attempts/{attempt}/report"),
    ]
    for method, template in [*ROUTE_SAMPLES, *extra]:
        path = template.format(run=run_id)
        status, _, body = api.call(method, path, token=TOKEN if authorized else None)
        assert status < 500, (method, path, body)
        _check(spec, method, path, status, body)
