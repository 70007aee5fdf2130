"""The jobs routes of the server extension: the scheduler API's payloads, inside Jupyter,
with report and log links under the server's base_url."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from server_client import Fetch, call, jp_server_config  # noqa: F401 - override
from tornado.httpclient import HTTPClientError

from workspace.jobs.models import TaskState
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]

ETL = """\
description: Nightly ETL
owner: data-platform
schedule: {cron: "0 6 * * *", timezone: Europe/Amsterdam}
tasks:
  - {name: load, notebook: nb.ipynb}
  - {name: clean, notebook: nb.ipynb, depends_on: [load]}
"""


@pytest.fixture
def scheduled(jp_root_dir: Path) -> Path:
    """``<server root>/scheduled`` with one pipeline (found by the root-folder rule)."""
    folder = jp_root_dir / "scheduled" / "etl"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(ETL)
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / "nb.ipynb")
    return folder.parent


@pytest.fixture
def store(server_settings: Settings, scheduled: Path) -> RunStore:
    s = RunStore.open(server_settings)
    yield s
    s.close()


def failed_run(store: RunStore, settings: Settings) -> str:
    """A finished etl run: load succeeded (with a log file), clean failed (notebook only)."""
    store.upsert_pipeline("etl")
    run = store.create_manual_run("etl")
    store.add_tasks(run.run_id, ["load", "clean"])
    store.start_run(run.run_id)
    folder = settings.home / "jobs" / "runs" / run.run_id
    for key, state in [("load", "succeeded"), ("clean", "failed")]:
        attempt_dir = folder / key / "g0-attempt-1"
        attempt_dir.mkdir(parents=True)
        store.set_task_state(run.run_id, key, TaskState.QUEUED)
        attempt = store.claim_task(run.run_id, key)
        assert attempt is not None
        (attempt_dir / "report.html").write_text(f"<html><body><h1>{key}</h1></body></html>")
        executed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('hello')")])
        executed.cells[0].outputs = [nbformat.v4.new_output("stream", text=f"{key} says hi\n")]
        if state == "failed":
            executed.cells[0].outputs.append(
                nbformat.v4.new_output(
                    "error", ename="ZeroDivisionError", evalue="division by zero",
                    traceback=["\x1b[31mZeroDivisionError\x1b[0m: division by zero"],
                )
            )  # fmt: skip
        else:
            (attempt_dir / "runner.log").write_bytes(b"x" * 300_000 + b"\nlast line\n")
        nbformat.write(executed, attempt_dir / "executed.ipynb")
        store.finish_attempt(
            attempt.attempt_id,
            state,
            error="ZeroDivisionError: division by zero" if state == "failed" else None,
            notebook_path=str(attempt_dir / "executed.ipynb"),
            report_path=str(attempt_dir / "report.html"),
        )
    (folder / "run.html").write_text("<html><body>run report</body></html>")
    store.set_run_report(run.run_id, str(folder / "run.html"))
    store.finish_run(run.run_id, "failed")
    return run.run_id


async def test_routes_need_a_logged_in_user(jp_fetch: Fetch, scheduled: Path) -> None:
    for method, path in [("GET", "jobs/pipelines"), ("POST", "jobs/pipelines/etl/trigger")]:
        with pytest.raises(HTTPClientError) as err:
            await jp_fetch(
                "workspace", "api", *path.split("/"), method=method,
                body=b"{}" if method == "POST" else None, headers={"Authorization": ""},
            )  # fmt: skip
        assert err.value.code == 403


async def test_pipelines_from_the_server_root(jp_fetch: Fetch, scheduled: Path) -> None:
    status, body = await call(jp_fetch, "GET", "jobs/pipelines")
    assert status == 200
    [etl] = body["pipelines"]
    assert etl["name"] == "etl" and etl["owner"] == "data-platform" and len(etl["next_runs"]) == 3
    assert etl["schedule"]["timezone"] == "Europe/Amsterdam"
    assert etl["can_manage"] and etl["can_approve"]  # a single-user Lab's user manages all
    status, detail = await call(jp_fetch, "GET", "jobs/pipelines/etl")
    assert status == 200 and [t["depends_on"] for t in detail["tasks"]] == [[], ["load"]]
    status, body = await call(jp_fetch, "GET", "jobs/pipelines/nope")
    assert status == 404 and "nope" in body["error"]
    _, nxt = await call(jp_fetch, "GET", "jobs/next", n=2)
    assert [t["pipeline"] for t in nxt["times"]] == ["etl", "etl"]


async def test_trigger_pause_resume(jp_fetch: Fetch, store: RunStore) -> None:
    status, run = await call(
        jp_fetch, "POST", "jobs/pipelines/etl/trigger", body={"parameters": {"x": 2}}
    )
    assert status == 201 and run["state"] == "queued" and run["parameters"] == {"x": 2}
    assert store.get_run(run["run_id"]).trigger == "manual"
    _, paused = await call(jp_fetch, "POST", "jobs/pipelines/etl/pause")
    assert paused["paused"] is True and paused["next_runs"] == []
    _, resumed = await call(jp_fetch, "POST", "jobs/pipelines/etl/resume")
    assert resumed["paused"] is False and store.get_pipeline("etl").paused is False
    status, body = await call(
        jp_fetch, "POST", "jobs/pipelines/etl/trigger", body={"parameters": 3}
    )
    assert status == 400 and body["errors"][0]["field"] == "parameters"


async def test_runs_detail_links_report_and_log(
    jp_fetch: Fetch, store: RunStore, server_settings: Settings
) -> None:
    run_id = failed_run(store, server_settings)
    status, page = await call(jp_fetch, "GET", "jobs/runs", state="failed", limit=5)
    assert status == 200 and [r["run_id"] for r in page["runs"]] == [run_id]
    _, empty = await call(jp_fetch, "GET", "jobs/runs", state="succeeded")
    assert empty["runs"] == []
    status, detail = await call(jp_fetch, "GET", f"jobs/runs/{run_id}")
    assert status == 200 and detail["run"]["state"] == "failed"
    # absolute paths under the server's base_url (pytest-jupyter serves under /a%40b/)
    assert detail["report_url"] == f"/a%40b/workspace/api/jobs/runs/{run_id}/report"
    load, clean = detail["attempts"]
    assert load["log_url"] == (
        f"/a%40b/workspace/api/jobs/runs/{run_id}/attempts/{load['attempt_id']}/log"
    )
    report = await jp_fetch(*detail["report_url"].split("/")[2:], method="GET")
    assert b"run report" in report.body
    assert report.headers["Content-Type"].startswith("text/html")  # a page, not JSON
    assert "script-src" not in report.headers["Content-Security-Policy"]
    assert "default-src 'none'" in report.headers["Content-Security-Policy"]
    attempt_report = await jp_fetch(*clean["report_url"].split("/")[2:], method="GET")
    assert b"<h1>clean</h1>" in attempt_report.body

    status, log = await call(jp_fetch, "GET", load["log_url"].split("/api/", 1)[1])
    assert status == 200 and log["truncated"] is True and log["source"] == "log"
    assert log["text"].endswith("last line\n") and len(log["text"]) <= 256 * 1024
    status, log = await call(jp_fetch, "GET", clean["log_url"].split("/api/", 1)[1])
    assert status == 200 and log["truncated"] is False and log["source"] == "notebook"
    assert "clean says hi" in log["text"] and "ZeroDivisionError: division by zero" in log["text"]
    assert "\x1b[" not in log["text"]


async def test_unknown_runs_and_attempts_are_404(
    jp_fetch: Fetch, store: RunStore, server_settings: Settings
) -> None:
    run_id = failed_run(store, server_settings)
    for path in ("jobs/runs/nope", "jobs/runs/nope/report", f"jobs/runs/{run_id}/attempts/999/log",
                 f"jobs/runs/{run_id}/attempts/999/report"):  # fmt: skip
        status, body = await call(jp_fetch, "GET", path)
        assert status == 404 and body["status"] == 404, path


async def test_repair_and_cancel_state_changes(
    jp_fetch: Fetch, store: RunStore, server_settings: Settings
) -> None:
    run_id = failed_run(store, server_settings)
    status, body = await call(jp_fetch, "POST", f"jobs/runs/{run_id}/cancel")
    assert status == 409 and body["status"] == 409 and "failed" in body["error"]
    status, repaired = await call(jp_fetch, "POST", f"jobs/runs/{run_id}/repair")
    assert status == 200 and repaired["reset"] == ["clean"]
    assert store.get_run(run_id).state == "queued"
    status, body = await call(jp_fetch, "POST", f"jobs/runs/{run_id}/repair")
    assert status == 409, body
    status, cancelled = await call(jp_fetch, "POST", f"jobs/runs/{run_id}/cancel")
    assert status == 200 and cancelled["run"]["state"] == "cancelled"


async def test_a_repair_from_the_lab_records_who_asked(
    jp_fetch: Fetch, store: RunStore, server_settings: Settings
) -> None:
    # the Lab mounts the same route table as the scheduler service: repair passes the user
    run_id = failed_run(store, server_settings)
    status, _ = await call(jp_fetch, "POST", f"jobs/runs/{run_id}/repair")
    assert status == 200
    requested_by = store.get_run(run_id).requested_by
    assert requested_by is not None and requested_by != "scheduler"
