"""Issue 5, test 5: a scheduled job keeps running after its owner's server is stopped.

A real ``workspace hub`` (PAM logins, LocalProcessSpawner with OS accounts) runs the
scheduler as a hub service. An analyst owns a pipeline in the hub's ``scheduled/`` folder
whose notebook marks its start, sleeps, then writes an output. The analyst logs in, spawns
their server, triggers the pipeline through the scheduler service with their own hub token,
and their server is stopped while the run is running: the run still succeeds, records who
asked for it, and has its report.

Needs root (``useradd``, and the hub runs each server as its user's account).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import hub_api, new_user_name, open_lab, spawn_and_wait
from tests.support.hub_demo import Deployment, deployment, wait_for, write_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

ANALYST = new_user_name("wsj_")
PIPELINE = "slow_" + ANALYST
SLEEP = 12  # seconds the notebook sleeps between its start mark and its output


def _setup(scheduled: Path) -> None:
    marks = scheduled.parent / "marks"
    marks.mkdir()
    marks.chmod(0o777)  # pipeline code runs as the ws-runner account, not as root
    write_pipeline(
        scheduled,
        PIPELINE,
        ANALYST,
        [
            "import pathlib, time\n"
            f"marks = pathlib.Path({str(marks)!r})\n"
            "(marks / 'started').write_text(str(time.time()))",
            f"time.sleep({SLEEP})\n"
            "(marks / 'output').write_text(str(time.time()))\n"
            "'slow job done'  # a result: reports leave printed output out",
        ],
    )


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    with deployment(services="scheduler", demo=False, setup=_setup) as d:
        d.add(ANALYST, "analysts")
        yield d


def test_a_job_keeps_running_after_its_owners_server_is_stopped(dep: Deployment) -> None:
    hub, marks = dep.hub, dep.hub.home / "marks"
    session = dep.login(ANALYST)
    spawn_and_wait(session, hub, ANALYST)
    assert open_lab(session, hub, ANALYST).status_code == 200

    resp = dep.scheduler(ANALYST, "POST", f"pipelines/{PIPELINE}/trigger", {})
    assert resp.status_code == 201, resp.text
    run = resp.json()
    assert (run["owner"], run["requested_by"]) == (ANALYST, ANALYST)
    run_id = run["run_id"]

    # the notebook is running (it marked its start) ...
    wait_for("the notebook's start", (marks / "started").exists, 120, hub.log)
    assert dep.run_detail(ANALYST, run_id)["run"]["state"] == "running"
    # ... when the owner's server is stopped (as the culler or the user would)
    stopped = hub_api(session, hub, "DELETE", f"/users/{ANALYST}/server")
    assert stopped.status_code in (202, 204), (stopped.status_code, stopped.text)
    wait_for(
        "the server stopped",
        lambda: not hub.api_request("GET", f"/users/{ANALYST}").json()["servers"],
        60,
        hub.log,
    )
    stopped_at = time.time()
    assert not (marks / "output").exists(), "the job finished before the server was stopped"
    assert dep.run_detail(ANALYST, run_id)["run"]["state"] == "running"

    detail = dep.wait_finished(ANALYST, run_id)
    assert detail["run"]["state"] == "succeeded", detail
    assert detail["run"]["requested_by"] == ANALYST and detail["run"]["owner"] == ANALYST
    assert float((marks / "output").read_text()) > stopped_at
    # the server stayed stopped: the job did not need it
    assert not hub.api_request("GET", f"/users/{ANALYST}").json()["servers"]

    report = dep.scheduler(ANALYST, "GET", f"runs/{run_id}/report")
    assert report.status_code == 200, (report.status_code, report.text[:500])
    assert "slow job done" in report.text
