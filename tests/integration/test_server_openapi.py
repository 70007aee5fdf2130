"""``workspace/server/openapi.yaml`` matches the extension: routes and methods both ways,
path and query parameters, payload schemas, and the routes a live server registered."""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import pytest
import yaml
from jupyter_server.base.handlers import APIHandler
from server_client import Fetch, call, jp_server_config  # noqa: F401 - override
from support.openapi import assert_every_reference_resolves

from workspace.api.models import CountQuery, RunsQuery
from workspace.server import API_PREFIX, ROUTES
from workspace.server.models import (
    CronQuery,
    NotebookQuery,
    PreviewQuery,
    ProfileQuery,
    TablesQuery,
    component_schemas,
)

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]
METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    text = resources.files("workspace.server").joinpath("openapi.yaml").read_text("utf-8")
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def _openapi_path(pattern: str) -> str:
    """``jobs/runs/(?P<run_id>[^/]+)/report`` -> ``/workspace/api/jobs/runs/{run_id}/report``."""
    return f"/{API_PREFIX}/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)


def _code_operations() -> set[tuple[str, str]]:
    return {
        (method, _openapi_path(path))
        for path, handler in ROUTES
        for method in METHODS
        if getattr(handler, method) is not getattr(APIHandler, method)
    }


def test_every_route_is_documented_and_vice_versa(spec: dict[str, Any]) -> None:
    documented = {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }
    assert _code_operations() == documented
    assert len(ROUTES) == len(spec["paths"])


def test_path_parameters_are_declared(spec: dict[str, Any]) -> None:
    for path, item in spec["paths"].items():
        declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path


@pytest.mark.parametrize(
    ("path", "model"),
    [("catalog/tables", TablesQuery), ("catalog/tables/{name}/preview", PreviewQuery),
     ("catalog/tables/{name}/profile", ProfileQuery), ("jobs/runs", RunsQuery),
     ("jobs/next", CountQuery), ("jobs/pipelines/{name}", CountQuery),
     ("schedule/cron", CronQuery), ("schedule/notebook", NotebookQuery)],
)  # fmt: skip
def test_query_parameters_match_the_models(spec: dict[str, Any], path: str, model: Any) -> None:
    params = spec["paths"][f"/{API_PREFIX}/{path}"]["get"].get("parameters", [])
    assert {p["name"] for p in params if p["in"] == "query"} == set(model.model_fields)


def test_schemas_are_the_pydantic_models(spec: dict[str, Any]) -> None:
    assert spec["components"]["schemas"] == component_schemas(), (
        "openapi.yaml is out of date with workspace/server/models.py; regenerate "
        "components.schemas from component_schemas()"
    )


def test_every_reference_resolves(spec: dict[str, Any]) -> None:
    assert_every_reference_resolves(spec)


async def test_the_live_server_registered_every_route(
    jp_fetch: Fetch, jp_serverapp: Any, spec: dict[str, Any]
) -> None:
    registered: set[str] = set()

    def walk(router: Any) -> None:
        for rule in router.rules:
            if hasattr(rule.target, "load_all"):  # workspace.server.LazyRoutes
                rule.target.load_all()
            if hasattr(rule.target, "rules"):
                walk(rule.target)
                continue
            pattern = getattr(getattr(rule.matcher, "regex", None), "pattern", "")
            if "/workspace/api/" in pattern and "(?P<rest>" not in pattern:
                path = pattern.removesuffix("$").split("/workspace/api/", 1)[1]
                registered.add(_openapi_path(path))

    walk(jp_serverapp.web_app.default_router)
    assert registered == set(spec["paths"])
    status, body = await call(jp_fetch, "GET", "no/such/route")
    assert status == 404 and "No such endpoint" in body["error"]
