"""The one route table: both front ends mount it, the OpenAPI documents are generated from it,
and the one error mapping answers user mistakes with 4xx."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError

from workspace.api import openapi
from workspace.api.errors import error_response
from workspace.api.models import RunsQuery
from workspace.api.mount import parse_body, parse_query
from workspace.api.routes import ROUTES, ROUTES_BY_NAME, route_path
from workspace.jobs.errors import ConflictError
from workspace.jobs.models import InvalidTransitionError, PipelineNotFoundError
from workspace.lake.errors import WorkspaceError


def test_the_committed_openapi_documents_are_generated_from_the_table() -> None:
    assert openapi.stale() == [], "run: python -m workspace.server.openapi --write"
    assert openapi.main(["--check"]) == 0


def test_every_route_is_in_its_documents() -> None:
    hub = openapi.document("hub")["paths"]
    lab = openapi.document("lab")["paths"]
    for route in ROUTES:
        assert route.method.lower() in hub["/api/jobs/" + route.path]
        assert (
            route.method.lower() in lab.get("/workspace/api/jobs/" + route.path, {})
        ) == route.lab


def test_a_stale_document_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {front: dict(routes) for front, routes in openapi.texts().items()}
    texts["hub"]["run"] = {**texts["hub"]["run"], "summary": "changed"}
    monkeypatch.setattr(openapi, "texts", lambda: texts)
    assert openapi.stale() == ["hub"]
    assert openapi.main(["--check"]) == 1


def test_both_front_ends_mount_the_one_table() -> None:
    from workspace.hub.jobs_api import ROUTES as HUB
    from workspace.server.jobs_handlers import ROUTES as LAB

    patterns = list(dict.fromkeys(r.pattern for r in ROUTES))  # a path may have several methods
    assert [pattern for pattern, _, _ in HUB] == patterns
    assert [path for path, _ in LAB] == list(
        dict.fromkeys(f"jobs/{r.pattern}" for r in ROUTES if r.lab)
    )
    for pattern, handler, _ in HUB:
        assert set(handler.api_routes) == {r.method for r in ROUTES if r.pattern == pattern}


def test_route_paths() -> None:
    assert route_path("trigger", name="etl") == "pipelines/etl/trigger"
    assert (
        ROUTES_BY_NAME["attempt_log"].pattern
        == r"runs/(?P<run_id>[^/]+)/attempts/(?P<attempt_id>\d+)/log"
    )


def test_queries_and_bodies_are_validated_with_field_errors() -> None:
    query = parse_query(
        RunsQuery, {"state": [b"failed", b"queued"], "1700000000": [b""]}, ("state",)
    )
    assert [str(s) for s in query.state] == ["failed", "queued"]
    with pytest.raises(ValidationError) as bad:
        parse_query(RunsQuery, {"limit": [b"many"]})
    body = error_response(bad.value)
    assert body.status == 400 and body.errors[0].field == "limit"

    class Body(BaseModel):
        owner: str

    with pytest.raises(HTTPError) as not_json:
        parse_body(Body, b"{nope")
    assert error_response(not_json.value).status == 400
    assert parse_body(Body, b'{"owner": "ada"}').owner == "ada"


@pytest.mark.parametrize(
    ("exc", "status"),
    [(PipelineNotFoundError("p"), 404), (PermissionError("no"), 403),
     (ConflictError("exists"), 409), (InvalidTransitionError("run r", "succeeded", "running"), 409),
     (WorkspaceError("bad name"), 400), (HTTPError(401, "who?"), 401), (RuntimeError("x"), 500)],
)  # fmt: skip
def test_the_one_error_mapping(exc: BaseException, status: int) -> None:
    body = error_response(exc, generic="generic")
    assert body.status == status
    assert (body.error == "generic") == (status == 500)
