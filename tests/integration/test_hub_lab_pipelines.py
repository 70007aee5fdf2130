"""Issue 5: the Lab's Pipelines panel behind JupyterHub goes through the scheduler service.

A real ``workspace hub`` (PAM logins, LocalProcessSpawner with OS accounts) runs the
scheduler as a hub service. An analyst logs in, spawns their server and calls the server
extension's ``/user/NAME/workspace/api/jobs/...`` routes with their browser session: the
server forwards them to the scheduler service with its hub token (which carries the
analyst's pipeline scopes), so the service's rules apply: they see the pipelines, trigger
their own (the run records them), may not trigger another user's, and read their own run,
whose report link points at the scheduler service under the hub.

Needs root (``useradd``, and the hub runs each server as its user's account).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.hub import new_user_name, open_lab, spawn_and_wait
from tests.support.hub_demo import Deployment, deployment, write_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

ANALYST = new_user_name("wsl_")
OTHER = new_user_name("wso_")
OWN = "own_" + ANALYST
THEIRS = "theirs_" + OTHER


def _setup(scheduled: Path) -> None:
    write_pipeline(scheduled, OWN, ANALYST, ["print('own pipeline ran')"])
    write_pipeline(scheduled, THEIRS, OTHER, ["print('their pipeline ran')"])


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    with deployment(services="scheduler", demo=False, setup=_setup) as d:
        d.add(ANALYST, "analysts")
        yield d


def lab_api(
    session: requests.Session, dep: Deployment, method: str, path: str, body: Any = None
) -> requests.Response:
    """A call of the server extension's jobs route through the proxy, as the Lab makes it."""
    xsrf = session.cookies.get("_xsrf", path=f"/user/{ANALYST}/") or ""
    return session.request(
        method,
        f"{dep.hub.url}/user/{ANALYST}/workspace/api/jobs/{path}",
        headers={"X-XSRFToken": xsrf},
        json=body if method != "GET" else None,
        allow_redirects=False,
        timeout=60,
    )


def test_the_lab_pipelines_routes_act_as_the_user_through_the_scheduler(
    dep: Deployment,
) -> None:
    hub = dep.hub
    session = dep.login(ANALYST)
    spawn_and_wait(session, hub, ANALYST)
    assert open_lab(session, hub, ANALYST).status_code == 200

    listed = lab_api(session, dep, "GET", "pipelines")
    assert listed.status_code == 200, (listed.status_code, listed.text, hub.log()[-4000:])
    owners = {p["name"]: p["owner"] for p in listed.json()["pipelines"]}
    assert owners.get(OWN) == ANALYST and owners.get(THEIRS) == OTHER, owners

    made = lab_api(session, dep, "POST", f"pipelines/{OWN}/trigger", {})
    assert made.status_code == 201, (made.status_code, made.text)
    run = made.json()
    assert (run["owner"], run["requested_by"]) == (ANALYST, ANALYST)
    assert made.headers["Location"] == (f"/user/{ANALYST}/workspace/api/jobs/runs/{run['run_id']}")

    refused = lab_api(session, dep, "POST", f"pipelines/{THEIRS}/trigger", {})
    assert refused.status_code == 403, (refused.status_code, refused.text)
    assert "custom:pipelines:run" in refused.json()["error"]

    detail = lab_api(session, dep, "GET", f"runs/{run['run_id']}")
    assert detail.status_code == 200, (detail.status_code, detail.text)
    body = detail.json()
    assert body["run"]["run_id"] == run["run_id"]
    assert body["run"]["requested_by"] == ANALYST
    for link in [body.get("report_url")] + [
        a.get(key) for a in body["attempts"] for key in ("report_url", "log_url")
    ]:
        if link:
            assert link.startswith("/services/scheduler/api/jobs/runs/"), link

    # the run went through the service's store: the service itself sees it as theirs
    assert dep.run_detail(ANALYST, run["run_id"])["run"]["requested_by"] == ANALYST
