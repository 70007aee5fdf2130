"""What the Pipelines panel and the run detail read from the jobs APIs: what the caller may do
with each pipeline (``can_manage``, ``can_approve``) and a run's effective parameters (the
pipeline's merged with the run's overrides, and each task's own on top)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from test_jobs_api import Api, api_fixture  # noqa: F401 - fixture "api"

from workspace.api.auth import MANAGE_SCOPE, RUN_SCOPE, Identity
from workspace.api.models import PipelineSummary
from workspace.api.routes import with_permissions
from workspace.hub.jobs_authz import HubScopes
from workspace.hub.jobs_visibility import PathScrubber

REGIONAL = """\
parameters: {region: EUROPE, year: 2024}
tasks:
  - {name: load, notebook: nb.ipynb}
  - {name: report, notebook: nb.ipynb, depends_on: [load], parameters: {year: 1999}}
"""


def _regional(api: Api) -> Path:
    folder = Path(api.served.app.settings["jobs_service"].root) / "regional"
    folder.mkdir()
    (folder / "pipeline.yaml").write_text(REGIONAL)
    cell = nbformat.v4.new_code_cell("region = 'ASIA'\nyear = 2000")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / "nb.ipynb")
    return folder


def test_run_detail_has_the_effective_parameters(api: Api) -> None:
    _regional(api)
    status, _, run = api.call("POST", "pipelines/regional/trigger", body={"parameters": {}})
    assert status == 201, run
    body = api.call("GET", f"runs/{run['run_id']}")[2]
    assert body["run"]["parameters"] == {}  # the run overrides nothing ...
    assert body["effective_parameters"] == {"region": "EUROPE", "year": 2024}  # ... it gets these
    assert body["task_parameters"] == {
        "load": {"region": "EUROPE", "year": 2024},
        "report": {"region": "EUROPE", "year": 1999},  # the task's own win
    }

    over = {"parameters": {"region": "ASIA"}}
    run = api.call("POST", "pipelines/regional/trigger", body=over)[2]
    body = api.call("GET", f"runs/{run['run_id']}")[2]
    assert body["effective_parameters"] == {"region": "ASIA", "year": 2024}
    assert body["task_parameters"]["report"] == {"region": "ASIA", "year": 1999}


def test_run_detail_without_a_spec_shows_the_runs_own_parameters(api: Api) -> None:
    run_id = api.failed_run()  # etl run with {"day": ...}
    (Path(api.served.app.settings["jobs_service"].root) / "etl" / "pipeline.yaml").unlink()
    body = api.call("GET", f"runs/{run_id}")[2]
    assert body["effective_parameters"] == {"day": "2025-01-01"}
    assert body["task_parameters"] == {}


def test_listing_says_what_the_static_token_may_do(api: Api) -> None:
    pipelines = api.call("GET", "pipelines")[2]["pipelines"]
    assert pipelines and all(p["can_manage"] and p["can_approve"] for p in pipelines)


def test_permissions_follow_the_callers_scopes() -> None:
    mine = PipelineSummary(name="mine", owner="alice")
    theirs = PipelineSummary(name="theirs", owner="bob")
    platform = PipelineSummary(name="platform", owner=None)
    listing = [mine, theirs, platform]

    def flags(identity: Identity) -> list[tuple[bool, bool]]:
        return [
            (p.can_manage, p.can_approve)
            for p in with_permissions(HubScopes(identity, PathScrubber([])), listing)
        ]

    analyst = Identity("alice", frozenset({"analysts"}), frozenset({RUN_SCOPE}))
    assert flags(analyst) == [(True, False), (False, False), (False, False)]
    engineer = Identity("erin", frozenset({"engineers"}), frozenset({RUN_SCOPE, MANAGE_SCOPE}))
    assert flags(engineer) == [(True, True)] * 3
    stakeholder = Identity("sam", frozenset({"stakeholders"}))
    assert flags(stakeholder) == [(False, False)] * 3
    assert not mine.can_manage  # the listing itself is not changed
