"""Stakeholder re-runs through the one route table: ``POST pipelines/{name}/reruns``.

The route runs as both front ends run it (:func:`workspace.api.mount.invoke`), with the
scheduler service's hub scopes and the reports service's viewer authorizer, over a real
run store and real pipeline folders whose notebooks declare widget parameters.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.notebooks import make_notebook

from workspace.api.auth import RUN_SCOPE, STAKEHOLDERS, VIEW_SCOPE, Identity
from workspace.api.errors import error_body
from workspace.api.models import RerunRequest, RerunResponse
from workspace.api.mount import invoke
from workspace.api.reruns import parameter_key
from workspace.api.routes import ROUTES_BY_NAME
from workspace.api.service import JobsService
from workspace.hub.jobs_authz import HubScopes
from workspace.hub.jobs_visibility import PathScrubber
from workspace.jobs.models import RunState, Trigger
from workspace.jobs.spec.pipeline import Audience, PipelineSpecError, load_pipeline
from workspace.lake.settings import Settings
from workspace.reports.reruns import ViewerAuthorizer, controls, form_html, someone_elses, values

PARAMS = (
    'region = params.dropdown("region", ["ASIA", "EUROPE", "AMERICA"], default="ASIA")\n'
    'start = params.date("start", "2024-01-01")\n'
    'min_orders = params.integer("min_orders", 5, min=0, max=100)\n'
    'weekly = params.checkbox("weekly", False)\n'
    'segment = params.dropdown("segment", query="SELECT 1")'
)
OWNER = "ana"
SAM = Identity("sam", frozenset({STAKEHOLDERS}), frozenset({VIEW_SCOPE}))
OUTSIDER = Identity("olga", frozenset({"analysts"}), frozenset({VIEW_SCOPE, RUN_SCOPE}))


def _pipeline(scheduled: Path, name: str, extra: str) -> None:
    folder = scheduled / name
    folder.mkdir(parents=True)
    make_notebook(folder / "main.ipynb", params=PARAMS)
    (folder / "pipeline.yaml").write_text(
        f"{extra}tasks:\n  - {{name: main, notebook: main.ipynb}}\n", encoding="utf-8"
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[JobsService]:
    scheduled = tmp_path / "scheduled"
    _pipeline(scheduled, "sales", "audience_reruns: true\n")
    _pipeline(scheduled, "fixed", "audience_reruns: false\n")
    settings = Settings.resolve(tmp_path / "home", user="tester")
    jobs = JobsService(settings, scheduled)
    for name in ("sales", "fixed"):
        jobs.store.adopt(name, owner=OWNER, audience=Audience(groups=[STAKEHOLDERS]))
    with contextlib.closing(jobs.store):
        yield jobs


def _rerun(jobs: JobsService, who: Identity, name: str = "sales", **values: object) -> object:
    route = ROUTES_BY_NAME["reruns"]
    auth = HubScopes(who, PathScrubber([]))
    try:
        return invoke(route, jobs, auth, {"name": name}, body=RerunRequest(parameters=values))
    except Exception as exc:  # the one error mapping, as the HTTP front ends answer
        return error_body(exc)


def test_an_audience_member_reruns_with_checked_values_under_their_name(
    service: JobsService,
) -> None:
    result = _rerun(service, SAM, region="EUROPE", start="2024-02-01", min_orders=7)
    assert isinstance(result, RerunResponse) and not result.cached
    run = service.store.get_run(result.run.run_id)
    assert (run.trigger, run.state, run.requested_by, run.owner) == (
        Trigger.MANUAL, RunState.QUEUED, "sam", OWNER,
    )  # fmt: skip
    assert run.parameters == {"min_orders": 7, "region": "EUROPE", "start": "2024-02-01"}
    assert ROUTES_BY_NAME["reruns"].success(result) == 201


def test_the_same_values_reuse_the_run_while_it_runs_and_after_it_succeeded(
    service: JobsService,
) -> None:
    first = _rerun(service, SAM, region="EUROPE")
    assert isinstance(first, RerunResponse)
    again = _rerun(service, SAM, region="EUROPE")
    assert isinstance(again, RerunResponse) and again.cached
    assert again.run.run_id == first.run.run_id
    assert ROUTES_BY_NAME["reruns"].success(again) == 200

    store = service.store
    store.start_run(first.run.run_id)
    store.set_run_report(first.run.run_id, str(service.settings.home / "report.html"))
    store.finish_run(first.run.run_id, RunState.SUCCEEDED)
    done = _rerun(service, Identity("eve", SAM.groups, SAM.scopes), region="EUROPE")
    assert isinstance(done, RerunResponse) and done.cached
    assert done.run.run_id == first.run.run_id

    other = _rerun(service, SAM, region="ASIA")
    assert isinstance(other, RerunResponse) and not other.cached
    assert other.run.run_id != first.run.run_id


def test_a_newer_scheduled_run_makes_the_cached_result_stale(service: JobsService) -> None:
    first = _rerun(service, SAM, region="AMERICA")
    assert isinstance(first, RerunResponse)
    store = service.store
    store.start_run(first.run.run_id)
    store.set_run_report(first.run.run_id, "report.html")
    store.finish_run(first.run.run_id, RunState.SUCCEEDED)
    store.create_scheduled_run("sales", datetime.now(UTC), owner=OWNER)
    fresh = _rerun(service, SAM, region="AMERICA")
    assert isinstance(fresh, RerunResponse) and not fresh.cached


def test_outside_the_audience_is_403(service: JobsService) -> None:
    refused = _rerun(service, OUTSIDER, region="EUROPE")
    assert refused.status == 403 and "not in the audience of pipeline 'sales'" in refused.error
    assert service.store.list_runs(pipeline="sales") == []


def test_a_pipeline_without_audience_reruns_is_403_with_the_reason(service: JobsService) -> None:
    refused = _rerun(service, SAM, "fixed", region="EUROPE")
    assert refused.status == 403 and "audience_reruns: true" in refused.error
    assert service.store.list_runs(pipeline="fixed") == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"region": "MARS"}, "parameter region: 'MARS' is not one of ASIA, EUROPE, AMERICA"),
        ({"min_orders": 500}, "parameter min_orders: 500 is outside 0 .. 100"),
        ({"start": "soon"}, "parameter start: 'soon' is not a date"),
        ({"limit": 3}, "parameter limit cannot be set by a re-run"),
        ({"segment": "x"}, "parameter segment cannot be set by a re-run"),  # query-backed
    ],
)
def test_a_bad_value_is_400_naming_the_parameter_and_starts_nothing(
    service: JobsService, values: dict[str, object], message: str
) -> None:
    refused = _rerun(service, SAM, **values)
    assert refused.status == 400 and message in refused.error, refused.error
    assert service.store.list_runs(pipeline="sales") == []


def test_the_reports_viewer_may_only_rerun(service: JobsService) -> None:
    viewer = ViewerAuthorizer(SAM)
    body = RerunRequest(parameters={"region": "EUROPE"})
    result = invoke(ROUTES_BY_NAME["reruns"], service, viewer, {"name": "sales"}, body=body)
    assert result.run.requested_by == "sam" and someone_elses(result.run)
    with pytest.raises(PermissionError):
        invoke(ROUTES_BY_NAME["trigger"], service, viewer, {"name": "sales"})


def test_the_form_shows_the_declared_controls_with_the_runs_values(
    service: JobsService,
) -> None:
    run = service.store.create_manual_run("sales", parameters={"region": "EUROPE"})
    items = controls(service.spec("sales"), run)
    assert [(c.name, c.kind, c.value) for c in items] == [
        ("region", "dropdown", "EUROPE"), ("start", "date", "2024-01-01"),
        ("min_orders", "integer", 5), ("weekly", "checkbox", False),
    ]  # fmt: skip
    html = form_html("/services/reports/pipelines/sales/reruns", items, "<input name=_xsrf>")
    assert '<option value="EUROPE" selected>' in html and 'type="date"' in html
    assert 'min="0"' in html and 'max="100"' in html and 'type="checkbox"' in html
    assert controls(service.spec("fixed"), run) == []

    form = {"region": [b"AMERICA"], "start": [b"2024-03-01"], "min_orders": [b"9"], "_xsrf": [b"t"]}
    assert values(service.spec("sales"), form) == {
        "region": "AMERICA", "start": "2024-03-01", "min_orders": 9, "weekly": False,
    }  # fmt: skip


def test_the_field_is_declared_once_and_unknown_fields_still_fail(tmp_path: Path) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    make_notebook(folder / "main.ipynb")
    spec = folder / "pipeline.yaml"
    spec.write_text("audience_rerun: true\ntasks: [{name: main, notebook: main.ipynb}]\n")
    with pytest.raises(PipelineSpecError, match="audience_rerun"):
        load_pipeline(folder)
    spec.write_text("audience_reruns: true\ntasks: [{name: main, notebook: main.ipynb}]\n")
    assert load_pipeline(folder).audience_reruns is True


def test_the_cache_key_is_canonical_json() -> None:
    assert parameter_key({"a": 1, "b": "x"}) == parameter_key(json.loads('{"b":"x","a":1}'))
