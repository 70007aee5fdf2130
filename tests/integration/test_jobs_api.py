"""The scheduler's HTTP API on a real server on 127.0.0.1, over a real run store.

Run states are set up directly through the store API, as the scheduler loop would leave them.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import nbformat
import pytest

from workspace.hub.jobs_api import REPORT_CSP, Served, error_response, make_app, serve
from workspace.jobs.models import RunNotFoundError, TaskState
from workspace.jobs.store import RunStore
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

TOKEN = "t0ken-for-tests"
ETL = """\
description: Nightly ETL
owner: data-platform
schedule: {cron: "0 6 * * *", timezone: Europe/Amsterdam}
tasks:
  - {name: load, notebook: nb.ipynb}
  - {name: clean, notebook: nb.ipynb, depends_on: [load]}
  - {name: report, notebook: nb.ipynb, depends_on: [clean], run_if: all_done}
  - {name: audit, notebook: nb.ipynb, depends_on: [load]}
"""
PIPELINES = {
    "etl": ETL,
    "hourly": 'schedule: {cron: "30 * * * *"}\ntasks: [{name: only, notebook: nb.ipynb}]\n',
    "adhoc": "description: By hand only\ntasks: [{name: only, notebook: nb.ipynb}]\n",
    "broken": "tasks: [{name: Bad Name, notebook: nb.ipynb}]\n",
}


def _notebook(path: Path) -> None:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("x")]), path)


@dataclass
class Api:
    """A running API server plus the store it uses, and a small urllib client."""

    served: Served
    store: RunStore
    settings: Settings

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw: bytes | None = None,
        token: str | None = TOKEN,
        query_token: bool = False,
    ) -> tuple[int, Message, Any]:
        url = self.served.url + path
        headers = {}
        if token is not None and not query_token:
            headers["Authorization"] = f"token {token}"
        elif token is not None:
            url += ("&" if "?" in url else "?") + f"token={token}"
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b""
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                status, hdrs, content = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as exc:
            status, hdrs, content = exc.code, exc.headers, exc.read()
            exc.close()
        if hdrs.get("Content-Type", "").startswith("application/json"):
            return status, hdrs, json.loads(content)
        return status, hdrs, content.decode()

    def failed_run(self, report: bool = True) -> str:
        """A finished etl run: load ok, clean failed, report (all_done) ok, audit ok."""
        s = self.store
        s.upsert_pipeline("etl")
        run = s.create_manual_run("etl", parameters={"day": "2025-01-01"})
        s.add_tasks(run.run_id, ["load", "clean", "report", "audit"])
        s.start_run(run.run_id)
        runs = self.settings.home / "jobs" / "runs" / run.run_id
        runs.mkdir(parents=True)
        for key, state in [
            ("load", "succeeded"),
            ("clean", "failed"),
            ("report", "succeeded"),
            ("audit", "succeeded"),
        ]:
            s.set_task_state(run.run_id, key, TaskState.QUEUED)
            attempt = s.claim_task(run.run_id, key)
            assert attempt is not None
            html = runs / f"{key}.html"
            html.write_text(f"<html><body><h1>{key}</h1></body></html>")
            s.finish_attempt(
                attempt.attempt_id,
                state,
                error="ZeroDivisionError: division by zero" if state == "failed" else None,
                failing_cell=1 if state == "failed" else None,
                notebook_path=str(runs / f"{key}.ipynb"),
                report_path=str(html) if report else None,
                outputs={"rows": 3} if state == "succeeded" else None,
            )
        if report:
            s.set_run_report(run.run_id, str(runs / "run.html"))
        s.finish_run(run.run_id, "failed")
        return run.run_id


def _start(settings: Settings, scheduled: Path, base_url: str) -> tuple[Served, threading.Thread]:
    ready: list[Served] = []
    started = threading.Event()
    stop: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        served = serve(settings, scheduled, token=TOKEN, base_url=base_url, port=0)
        event = asyncio.Event()
        ready.append(served)
        stop.append((asyncio.get_running_loop(), event))
        started.set()
        await event.wait()
        served.server.stop()
        await served.server.close_all_connections()
        served.app.settings["jobs_service"].store.close()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(30), "the API server did not start"
    loop, event = stop[0]
    thread.stopper = lambda: loop.call_soon_threadsafe(event.set)  # type: ignore[attr-defined]
    return ready[0], thread


@pytest.fixture(params=["/"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    settings = Settings.resolve(tmp_path / "home", user="api")
    scheduled = tmp_path / "scheduled"
    for name, text in PIPELINES.items():
        (scheduled / name).mkdir(parents=True)
        (scheduled / name / "pipeline.yaml").write_text(text)
        _notebook(scheduled / name / "nb.ipynb")
    served, thread = _start(settings, scheduled, request.param)
    store = RunStore.open(settings)
    try:
        yield Api(served, store, settings)
    finally:
        store.close()
        thread.stopper()  # type: ignore[attr-defined]
        thread.join(30)


#: One request per route: (method, path); the run id placeholder is filled in.
ROUTE_SAMPLES = [
    ("GET", "pipelines"),
    ("GET", "pipelines/etl"),
    ("POST", "pipelines/etl/trigger"),
    ("POST", "pipelines/etl/pause"),
    ("POST", "pipelines/etl/resume"),
    ("GET", "runs"),
    ("GET", "runs/{run}"),
    ("GET", "runs/{run}/report"),
    ("GET", "runs/{run}/attempts/1/report"),
    ("POST", "runs/{run}/repair"),
    ("POST", "runs/{run}/cancel"),
    ("GET", "next"),
    ("GET", "no/such/route"),
]


# -- auth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTE_SAMPLES)
def test_every_route_needs_the_token(api: Api, method: str, path: str) -> None:
    run_id = api.failed_run()
    path = path.format(run=run_id)
    status, headers, body = api.call(method, path, token=None)
    assert status == 401 and headers["WWW-Authenticate"] == "token"
    assert "Authorization: token" in body["error"]
    status, _, body = api.call(method, path, token="wrong")
    assert status == 403 and "token is not valid" in body["error"]
    assert api.store.get_run(run_id).state == "failed"  # nothing changed
    assert api.store.get_pipeline("etl").paused is False


def test_token_in_query_string(api: Api) -> None:
    status, _, body = api.call("GET", "pipelines", query_token=True)
    assert status == 200 and body["pipelines"]
    assert api.call("GET", "pipelines?token=nope", token=None)[0] == 403


# -- pipelines --------------------------------------------------------------------------------


def test_list_pipelines(api: Api) -> None:
    run_id = api.failed_run()
    status, headers, body = api.call("GET", "pipelines")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    by_name = {p["name"]: p for p in body["pipelines"]}
    assert sorted(by_name) == ["adhoc", "broken", "etl", "hourly"]
    etl = by_name["etl"]
    assert (etl["description"], etl["owner"], etl["paused"]) == (
        "Nightly ETL",
        "data-platform",
        False,
    )
    assert etl["schedule"] == {
        "cron": "0 6 * * *",
        "timezone": "Europe/Amsterdam",
        "catchup": "latest",
    }
    assert len(etl["next_runs"]) == 3 and etl["next_runs"] == sorted(etl["next_runs"])
    assert (etl["last_run_id"], etl["last_run_state"]) == (run_id, "failed")
    assert by_name["adhoc"]["next_runs"] == [] and by_name["adhoc"]["schedule"] is None
    assert "tasks[0].name" in by_name["broken"]["error"]


def test_pipeline_detail(api: Api) -> None:
    status, _, body = api.call("GET", "pipelines/etl?n=5")
    assert status == 200
    assert [t["name"] for t in body["tasks"]] == ["load", "clean", "report", "audit"]
    assert body["tasks"][2]["depends_on"] == ["clean"] and body["tasks"][2]["run_if"] == "all_done"
    assert len(body["next_runs"]) == 5
    assert len(api.call("GET", "pipelines/etl?n=2")[2]["next_runs"]) == 2


def test_pipeline_errors(api: Api) -> None:
    status, _, body = api.call("GET", "pipelines/nope")
    assert status == 404 and "'nope'" in body["error"]
    status, _, body = api.call("GET", "pipelines/broken")
    assert status == 400 and "tasks[0].name" in body["error"]
    status, _, body = api.call("GET", "pipelines/etl?n=0")
    assert status == 400 and body["errors"][0]["field"] == "n"
    status, _, body = api.call("GET", "pipelines/etl?n=abc")
    assert status == 400 and body["error"].startswith("Invalid request: n:")


def test_trigger_creates_a_queued_manual_run(api: Api) -> None:
    status, headers, run = api.call("POST", "pipelines/etl/trigger", body={"parameters": {"x": 2}})
    assert status == 201
    assert (run["pipeline"], run["state"], run["trigger"]) == ("etl", "queued", "manual")
    assert run["parameters"] == {"x": 2}
    assert headers["Location"] == f"/api/jobs/runs/{run['run_id']}"
    assert api.store.get_run(run["run_id"]).state == "queued"
    status, _, run2 = api.call("POST", "pipelines/adhoc/trigger")  # empty body
    assert status == 201 and run2["parameters"] == {}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"parameters": [1, 2]}', "parameters"),
        (b'{"parameters": "x=1"}', "parameters"),
        (b'{"params": {}}', "params"),
        (b"[1]", "body"),
    ],
)
def test_trigger_rejects_bad_bodies(api: Api, raw: bytes, field: str) -> None:
    status, _, body = api.call("POST", "pipelines/etl/trigger", raw=raw)
    assert status == 400 and body["errors"][0]["field"] == field
    assert api.store.list_runs() == []


def test_trigger_errors(api: Api) -> None:
    status, _, body = api.call("POST", "pipelines/etl/trigger", raw=b"{not json")
    assert status == 400 and "not valid JSON" in body["error"]
    assert api.call("POST", "pipelines/nope/trigger")[0] == 404
    assert api.call("POST", "pipelines/broken/trigger")[0] == 400
    assert api.call("GET", "pipelines/etl/trigger")[0] == 405


def test_pause_and_resume(api: Api) -> None:
    status, _, body = api.call("POST", "pipelines/etl/pause")
    assert status == 200 and body["paused"] is True and body["next_runs"] == []
    assert api.store.get_pipeline("etl").paused is True
    assert {t["pipeline"] for t in api.call("GET", "next?n=50")[2]["times"]} == {"hourly"}
    # a manual run is still allowed while paused
    assert api.call("POST", "pipelines/etl/trigger")[0] == 201
    status, _, body = api.call("POST", "pipelines/etl/resume")
    assert status == 200 and body["paused"] is False and len(body["next_runs"]) == 3
    assert api.call("POST", "pipelines/nope/pause")[0] == 404


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
