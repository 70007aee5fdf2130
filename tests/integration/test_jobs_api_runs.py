"""The scheduler's HTTP API: listing, filtering, detail, reports, repair and cancel of runs,
and the error mapping (fixtures in ``test_jobs_api.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_jobs_api import Api, api_fixture  # noqa: F401 - fixture "api"

from workspace.hub.jobs_api import error_response, make_app
from workspace.jobs.execution.report import REPORT_CSP
from workspace.jobs.models import RunNotFoundError
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

# -- runs -------------------------------------------------------------------------------------


def test_list_and_filter_runs(api: Api) -> None:
    failed = api.failed_run()
    queued = [api.call("POST", "pipelines/hourly/trigger")[2]["run_id"] for _ in range(3)]
    status, _, body = api.call("GET", "runs")
    assert status == 200 and [r["run_id"] for r in body["runs"]] == [*queued[::-1], failed]
    assert (body["limit"], body["offset"]) == (100, 0)
    ids = lambda q: [r["run_id"] for r in api.call("GET", f"runs?{q}")[2]["runs"]]  # noqa: E731
    assert ids("state=failed") == [failed]
    assert ids("state=failed,queued") == ids("state=failed&state=queued") == ids("")
    assert ids("pipeline=etl") == [failed]
    assert ids("limit=2&offset=1") == queued[1::-1]
    assert ids("since=2000-01-01&until=2999-01-01T00:00:00Z") == ids("")
    assert ids("since=2000-01-01T00:00:00+02:00") == ids("")  # unescaped + in the offset
    assert ids("until=2000-01-01") == []


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("state=exploded", "state[0]", "'queued'"),
        ("since=yesterday", "since", "datetime"),
        ("until=2025-13-01", "until", "datetime"),
        ("limit=0", "limit", "greater than or equal to 1"),
        ("limit=501", "limit", "less than or equal to 500"),
        ("offset=-1", "offset", "greater than or equal to 0"),
        ("colour=red", "colour", "Extra inputs"),
        ("since=2025-02-01&until=2025-01-01", "body", "'since' must be earlier than 'until'"),
    ],
)
def test_run_filters_are_validated(api: Api, query: str, field: str, words: str) -> None:
    status, _, body = api.call("GET", f"runs?{query}")
    assert status == 400
    assert body["errors"][0]["field"] == field and words in body["errors"][0]["message"]
    assert field in body["error"]


def test_run_detail(api: Api) -> None:
    run_id = api.failed_run()
    status, _, body = api.call("GET", f"runs/{run_id}")
    assert status == 200 and body["run"]["state"] == "failed"
    assert body["report_url"] == f"/api/jobs/runs/{run_id}/report"
    assert [t["task_key"] for t in body["tasks"]] == ["load", "clean", "report", "audit"]
    failed = [a for a in body["attempts"] if a["state"] == "failed"]
    assert len(failed) == 1 and failed[0]["task_key"] == "clean"
    assert failed[0]["error"].startswith("ZeroDivisionError") and failed[0]["failing_cell"] == 1
    assert failed[0]["notebook_path"].endswith("clean.ipynb")
    assert (
        failed[0]["report_url"]
        == f"/api/jobs/runs/{run_id}/attempts/{failed[0]['attempt_id']}/report"
    )
    assert body["outputs"] == {"load": {"rows": 3}, "report": {"rows": 3}, "audit": {"rows": 3}}
    assert any("division by zero" in e["message"] for e in body["events"])
    status, _, body = api.call("GET", "runs/0123abc")
    assert status == 404 and "'0123abc'" in body["error"]


def test_reports_are_served_with_a_csp(api: Api) -> None:
    run_id = api.failed_run()
    run_dir = api.settings.home / "jobs" / "runs" / run_id
    status, _, body = api.call("GET", f"runs/{run_id}/report")
    assert status == 404 and "no longer available" in body["error"]  # recorded, file missing
    (run_dir / "run.html").write_text("<h1>run</h1>")
    status, headers, html = api.call("GET", f"runs/{run_id}/report")
    assert status == 200 and html == "<h1>run</h1>"
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == REPORT_CSP
    assert "script-src" not in REPORT_CSP and "default-src 'none'" in REPORT_CSP
    attempt = api.store.get_run_detail(run_id).attempts[1]
    status, headers, html = api.call("GET", f"runs/{run_id}/attempts/{attempt.attempt_id}/report")
    assert (
        status == 200
        and "<h1>clean</h1>" in html
        and "sandbox" in headers["Content-Security-Policy"]
    )
    assert api.call("GET", f"runs/{run_id}/attempts/999/report")[0] == 404
    other = api.failed_run(report=False)
    status, _, body = api.call("GET", f"runs/{other}/report")
    assert status == 404 and "has no report yet" in body["error"]
    # an attempt of another run is not found under this run
    assert api.call("GET", f"runs/{other}/attempts/{attempt.attempt_id}/report")[0] == 404


def test_report_outside_the_workspace_is_not_served(api: Api, tmp_path: Path) -> None:
    run_id = api.failed_run()
    secret = tmp_path / "secret.html"
    secret.write_text("secret")
    api.store.set_run_report(run_id, str(secret))
    status, _, body = api.call("GET", f"runs/{run_id}/report")
    assert status == 404 and "secret" not in json.dumps(body)


def test_repair_requeues_failed_tasks_and_dependents(api: Api) -> None:
    run_id = api.failed_run()
    status, _, body = api.call("POST", f"runs/{run_id}/repair")
    assert status == 200 and body["reset"] == ["clean", "report"]
    assert body["run"]["state"] == "queued" and body["run"]["repair_generation"] == 1
    states = {t.task_key: t.state for t in api.store.get_run_detail(run_id).tasks}
    assert states == {
        "load": "succeeded",
        "clean": "pending",
        "report": "pending",
        "audit": "succeeded",
    }
    status, _, body = api.call("POST", f"runs/{run_id}/repair")  # queued now: not finished
    assert status == 409 and "Wait for it to finish" in body["error"]
    assert api.call("POST", "runs/nope/repair")[0] == 404


def test_repair_of_a_run_without_failures_is_a_conflict(api: Api) -> None:
    api.store.upsert_pipeline("adhoc")
    run = api.store.create_manual_run("adhoc", tasks=["only"])
    api.store.finish_run(run.run_id, "cancelled")  # queued -> cancelled: its task too
    assert api.call("POST", f"runs/{run.run_id}/repair")[2]["reset"] == ["only"]
    api.store.cancel_run(run.run_id)
    api.store.upsert_pipeline("hourly")
    ok = api.store.create_manual_run("hourly")
    api.store.start_run(ok.run_id)
    api.store.finish_run(ok.run_id, "succeeded")
    status, _, body = api.call("POST", f"runs/{ok.run_id}/repair")
    assert status == 409 and "no failed" in body["error"]


def test_cancel(api: Api) -> None:
    run = api.call("POST", "pipelines/etl/trigger")[2]
    status, _, body = api.call("POST", f"runs/{run['run_id']}/cancel")
    assert status == 200 and body["run"]["state"] == "cancelled" and body["stopping"] == []
    status, _, body = api.call("POST", f"runs/{run['run_id']}/cancel")
    assert status == 409 and "'cancelled'" in body["error"]
    assert api.call("POST", "runs/nope/cancel")[0] == 404


def test_next_scheduled_times(api: Api) -> None:
    status, _, body = api.call("GET", "next")
    times = body["times"]
    assert status == 200 and len(times) == 5
    assert [t["at"] for t in times] == sorted(t["at"] for t in times)
    assert {t["pipeline"] for t in api.call("GET", "next?n=40")[2]["times"]} == {"etl", "hourly"}
    assert api.call("GET", "next?n=101")[0] == 400


def test_unexpected_errors_are_a_generic_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(api.served.app.settings["jobs_service"], "runs", boom)
    status, _, body = api.call("GET", "runs")
    assert status == 500 and body == {
        "status": 500,
        "error": "Internal error in the scheduler API; the server log has the details.",
        "errors": [],
    }


def test_error_mapping() -> None:
    assert error_response(RunNotFoundError("r")).status == 404
    assert error_response(WorkspaceError("bad")).status == 400
    assert error_response(ValueError("x")).status == 500


def test_make_app_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="non-empty token"):
        make_app(Settings.resolve(tmp_path), tmp_path, token="")


@pytest.mark.parametrize("api", ["/services/jobs/"], indirect=True)
def test_routes_follow_the_base_url(api: Api) -> None:
    assert api.served.url.endswith("/services/jobs/api/jobs/")
    run = api.call("POST", "pipelines/etl/trigger")
    assert run[1]["Location"].startswith("/services/jobs/api/jobs/runs/")
    assert api.call("GET", "pipelines")[0] == 200
