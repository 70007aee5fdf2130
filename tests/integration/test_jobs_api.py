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

from workspace.hub.jobs_api import Served, serve
from workspace.jobs.models import TaskState
from workspace.jobs.store.run_store import RunStore
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


@pytest.fixture(params=["/"], name="api")
def api_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
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
    ("POST", "pipelines/etl/approve"),
    ("POST", "pipelines/etl/owner"),
    ("PUT", "pipelines/etl/audience"),
    ("GET", "pipelines/etl/history"),
    ("POST", "promotions"),
    ("GET", "promotions/etl-20250101T000000000000/report"),
    ("GET", "runs"),
    ("GET", "runs/{run}"),
    ("GET", "runs/{run}/report"),
    ("GET", "runs/{run}/attempts/1/report"),
    ("GET", "runs/{run}/attempts/1/log"),
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
