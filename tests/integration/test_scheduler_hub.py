"""``workspace scheduler --hub`` as a JupyterHub-managed service behind a real JupyterHub 6.

A hub on free loopback ports (DummyAuthenticator with a password; no user servers) runs the
scheduler as a service. Users in the analysts, engineers and stakeholders groups call the
API through the proxy with their own hub tokens, and a browser is sent through the hub's
login and OAuth. The runs record who owns the pipeline and who asked for them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
import requests

from workspace.jobs.store.run_store import RunStore

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "pw-" + secrets.token_hex(4)
RUN = "custom:pipelines:run"
MANAGE = "custom:pipelines:manage"
CLI = (sys.executable, "-m", "workspace.cli.main")
USERS = {"alice": "analysts", "bob": "analysts", "eve": "engineers", "sam": "stakeholders"}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pipelines(root: Path) -> Path:
    """scheduled/ with p_alice (owner alice) and p_bob (owner bob), one quick notebook each
    and a pipeline parameter (``region: <name>_region``)."""
    for name, owner in (("p_alice", "alice"), ("p_bob", "bob")):
        folder = root / name
        folder.mkdir(parents=True)
        (folder / "pipeline.yaml").write_text(
            f"description: {name}\nowner: {owner}\ndefaults: {{kernel: python3}}\n"
            f"parameters: {{region: {name}_region}}\n"
            "tasks:\n - {name: only, notebook: nb.ipynb}\n"
        )
        cells = [
            nbformat.v4.new_code_cell("x = 1\nfail = False\nregion = ''\nnote = ''"),
            nbformat.v4.new_code_cell("assert not fail, 'asked to fail'\ny = x + 1"),
        ]
        cells[0].metadata["tags"] = ["parameters"]
        nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "nb.ipynb")
    return root


CONFIG = """
c = get_config()  # noqa
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
c.JupyterHub.pid_file = "{tmp}/jupyterhub.pid"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.Authenticator.admin_users = {{"ada"}}  # a hub admin (no group)
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.custom_scopes = {{
    "custom:pipelines:run": {{"description": "Trigger one's own pipelines."}},
    "custom:pipelines:manage": {{"description": "Manage every pipeline."}},
    "custom:reports:view": {{"description": "View reports."}},
}}
c.JupyterHub.load_groups = {{g: {{"users": []}} for g in
    ("analysts", "scientists", "engineers", "stakeholders")}}
c.JupyterHub.load_roles = [
    {{"name": "runner", "groups": ["analysts", "scientists"],
      "scopes": ["access:services", "custom:pipelines:run", "custom:reports:view"]}},
    {{"name": "manager", "groups": ["engineers"],
      "scopes": ["access:services", "custom:pipelines:run", "custom:pipelines:manage",
                 "custom:reports:view"]}},
    # access to the services, so that the scheduler's own scope check is what refuses them
    {{"name": "viewer", "groups": ["stakeholders"],
      "scopes": ["access:services", "custom:reports:view"]}},
    {{"name": "test-admin", "services": ["test-admin"],
      "scopes": ["admin:users", "admin:groups", "tokens"]}},
]
c.JupyterHub.services = [
    {{"name": "test-admin", "api_token": {admin_token!r}}},
    {{
        "name": "scheduler",
        "url": "http://127.0.0.1:{service_port}",
        "command": {command!r},
        "oauth_no_confirm": True,
        "oauth_client_allowed_scopes": [
            "read:users:name!user", "read:users:groups!user",
            "custom:pipelines:run", "custom:pipelines:manage",
        ],
        "environment": {environment!r},
    }},
]
"""


@dataclass
class Hub:
    url: str  # the proxy, e.g. http://127.0.0.1:PORT
    admin_token: str
    home: Path
    log_path: Path
    tokens: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.url}/services/scheduler/api/jobs"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def hub_api(self, method: str, path: str, body: Any = None) -> Any:
        resp = requests.request(
            method,
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {self.admin_token}"},
            json=body,
            timeout=30,
        )
        assert resp.status_code < 300, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.content else None

    def call(self, user: str | None, method: str, path: str, body: Any = None) -> Any:
        headers = {"Authorization": f"token {self.tokens[user]}"} if user else {}
        return requests.request(
            method,
            f"{self.api}/{path}",
            headers=headers,
            json=body if method != "GET" else None,
            allow_redirects=False,
            timeout=30,
        )


def _wait(what: str, check: Any, timeout: float, log: Any) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except requests.RequestException as exc:
            last = exc
        time.sleep(0.3)
    raise AssertionError(f"{what} not ready after {timeout}s ({last!r})\n{log()[-6000:]}")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    tmp = tmp_path_factory.mktemp("hub")
    home = tmp / "home"
    scheduled = _pipelines(tmp / "scheduled")
    proxy_port, hub_port, api_port, service_port = (_free_port() for _ in range(4))
    admin_token = secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "workspace.cli.main",
        "scheduler",
        "--hub",
        "--scheduled",
        str(scheduled),
        "--executor",
        "subprocess",
        "--poll",
        "0.1",
    ]
    environment = {"WORKSPACE_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    config = tmp / "jupyterhub_config.py"
    config.write_text(
        CONFIG.format(
            proxy_port=proxy_port,
            hub_port=hub_port,
            proxy_api_port=api_port,
            service_port=service_port,
            chp=str(BIN / "configurable-http-proxy"),
            proxy_token=secrets.token_hex(16),
            tmp=tmp,
            password=PASSWORD,
            admin_token=admin_token,
            command=command,
            environment=environment,
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKSPACE_", "JUPYTERHUB_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    log_path = tmp / "hub.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(config)],
            cwd=tmp,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    h = Hub(f"http://127.0.0.1:{proxy_port}", admin_token, home, log_path, {})
    try:
        _wait(
            "hub",
            lambda: requests.get(f"{h.url}/hub/api/", timeout=5).status_code == 200,
            60,
            h.log,
        )
        for name, group in USERS.items():
            h.hub_api("POST", f"users/{name}")
            h.hub_api("POST", f"groups/{group}/users", {"users": [name]})
        for name in USERS:
            made = h.hub_api("POST", f"users/{name}/tokens", {"note": "test"})
            h.tokens[name] = made["token"]
        # the service answers through the proxy (401 without a token)
        _wait(
            "scheduler service",
            lambda: requests.get(f"{h.api}/pipelines", timeout=5).status_code == 401,
            60,
            h.log,
        )
        yield h
    finally:
        os.killpg(proc.pid, 15)  # the hub stops its managed services on SIGTERM
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait(timeout=10)
        # the hub stops its services; make sure this test's scheduler (and its notebooks,
        # recognised by this test's unique scheduled/ path) is gone
        left = subprocess.run(
            ["pgrep", "-f", str(scheduled)], capture_output=True, text=True, check=False
        )
        for pid in left.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), 9)
        shutil.rmtree(tmp / "scheduled", ignore_errors=True)


pytestmark = pytest.mark.slow


def _finished(hub: Hub, user: str, run_id: str) -> dict[str, Any] | None:
    """The run's detail once it has finished, else None."""
    detail: dict[str, Any] = hub.call(user, "GET", f"runs/{run_id}").json()
    return detail if detail["run"]["state"] not in ("queued", "running") else None


def _xsrf(session: requests.Session) -> str:
    """The hub's ``_xsrf`` cookie (set by GET /hub/login), for the login form."""
    values = [c.value for c in session.cookies if c.name == "_xsrf" and c.value]
    assert values, list(session.cookies)
    return str(values[0])


def test_reading_needs_a_pipeline_scope(hub: Hub) -> None:
    for user in ("alice", "bob", "eve"):
        resp = hub.call(user, "GET", "pipelines")
        assert resp.status_code == 200, (user, resp.text)
        assert {p["name"]: p["owner"] for p in resp.json()["pipelines"]} == {
            "p_alice": "alice",
            "p_bob": "bob",
        }
    for path in ("pipelines", "pipelines/p_alice", "runs", "next", "nope/nothing"):
        resp = hub.call("sam", "GET", path)
        assert resp.status_code == 403, (path, resp.status_code, resp.text)
        assert RUN in resp.json()["error"] and "sam" in resp.json()["error"]


def test_no_token_is_401_and_a_bad_token_is_refused(hub: Hub) -> None:
    for method, path in (("GET", "pipelines"), ("POST", "pipelines/p_alice/trigger")):
        resp = hub.call(None, method, path)
        assert resp.status_code == 401, resp.text
    resp = requests.get(
        f"{hub.api}/runs", headers={"Authorization": "token not-a-token"}, timeout=30
    )
    assert resp.status_code in (401, 403)


def test_owners_trigger_their_own_pipelines_only(hub: Hub) -> None:
    for user, own, other in (("alice", "p_alice", "p_bob"), ("bob", "p_bob", "p_alice")):
        resp = hub.call(user, "POST", f"pipelines/{own}/trigger", {"parameters": {"x": 2}})
        assert resp.status_code == 201, resp.text
        run = resp.json()
        assert (run["owner"], run["requested_by"], run["trigger"]) == (user, user, "manual")
        for action in ("trigger", "pause", "resume"):
            denied = hub.call(user, "POST", f"pipelines/{other}/{action}")
            assert denied.status_code == 403, (user, action, denied.text)
            message = denied.json()["error"]
            assert MANAGE in message and other in message, message
        # ... and cannot cancel or repair a run of someone else's pipeline
        others_run = hub.call("eve", "POST", f"pipelines/{other}/trigger").json()
        for action in ("cancel", "repair"):
            denied = hub.call(user, "POST", f"runs/{others_run['run_id']}/{action}")
            assert denied.status_code == 403, (user, action, denied.text)
        assert hub.call("eve", "POST", f"runs/{others_run['run_id']}/cancel").status_code == 200
    sam = hub.call("sam", "POST", "pipelines/p_alice/trigger")
    assert sam.status_code == 403 and RUN in sam.json()["error"]
    with RunStore.open(hub.home / "jobs" / "runs.sqlite") as store:
        assert len(store.list_runs(pipeline="p_alice")) == 2  # alice's and eve's, not sam's


def test_runs_are_private_to_their_owners(hub: Hub) -> None:
    run_id = hub.call("alice", "POST", "pipelines/p_alice/trigger").json()["run_id"]
    for path in (f"runs/{run_id}", f"runs/{run_id}/report", "runs?pipeline=p_alice"):
        denied = hub.call("bob", "GET", path)
        assert denied.status_code == 403, (path, denied.text)
        assert "p_alice" in denied.json()["error"]
    assert hub.call("alice", "GET", f"runs/{run_id}").status_code == 200
    assert hub.call("eve", "GET", f"runs/{run_id}").status_code == 200
    listed = {r["run_id"] for r in hub.call("bob", "GET", "runs").json()["runs"]}
    assert run_id not in listed
    assert run_id in {r["run_id"] for r in hub.call("alice", "GET", "runs").json()["runs"]}
    assert hub.call("eve", "POST", f"runs/{run_id}/cancel").status_code in (200, 409)


def test_engineers_manage_every_pipeline(hub: Hub) -> None:
    for name in ("p_alice", "p_bob"):
        paused = hub.call("eve", "POST", f"pipelines/{name}/pause")
        assert paused.status_code == 200 and paused.json()["paused"] is True, paused.text
        resumed = hub.call("eve", "POST", f"pipelines/{name}/resume")
        assert resumed.status_code == 200 and resumed.json()["paused"] is False
    run = hub.call("eve", "POST", "pipelines/p_bob/trigger").json()
    assert (run["owner"], run["requested_by"]) == ("bob", "eve")
    cancelled = hub.call("eve", "POST", f"runs/{run['run_id']}/cancel").json()
    events = hub.call("bob", "GET", f"runs/{run['run_id']}").json()["events"]
    assert cancelled["run"]["state"] == "cancelled"
    assert any("by eve" in e["message"] for e in events), events
    # eve starts a run of bob's pipeline that fails; bob, its owner, repairs it
    run = hub.call("eve", "POST", "pipelines/p_bob/trigger", {"parameters": {"fail": True}})
    run_id = run.json()["run_id"]
    detail = _wait("the failing run", lambda: _finished(hub, "bob", run_id), 120, hub.log)
    assert detail["run"]["state"] == "failed", detail["run"]
    assert hub.call("alice", "POST", f"runs/{run_id}/repair").status_code == 403
    repaired = hub.call("bob", "POST", f"runs/{run_id}/repair")
    assert repaired.status_code == 200, repaired.text
    assert repaired.json()["run"]["requested_by"] == "bob"
    assert repaired.json()["run"]["owner"] == "bob"


def test_a_triggered_run_runs_under_the_service(hub: Hub) -> None:
    run = hub.call("alice", "POST", "pipelines/p_alice/trigger").json()
    detail = _wait("the run", lambda: _finished(hub, "alice", run["run_id"]), 120, hub.log)
    assert detail["run"]["state"] == "succeeded", json.dumps(detail, indent=1)[-3000:]
    assert detail["run"]["requested_by"] == "alice" and detail["run"]["owner"] == "alice"
    assert detail["attempts"][0]["executor"] == "subprocess"
    assert detail["attempts"][0]["pid"] != os.getpid()


def test_a_browser_logs_in_through_the_hub(hub: Hub) -> None:
    page = f"{hub.url}/services/scheduler/"
    browser = requests.Session()
    browser.headers["Accept"] = "text/html,application/xhtml+xml"
    first = browser.get(page, allow_redirects=False, timeout=30)
    assert first.status_code == 302, first.text
    assert "/hub/api/oauth2/authorize" in first.headers["Location"]
    landed = browser.get(page, timeout=30)
    assert landed.url.startswith(f"{hub.url}/hub/login"), landed.url
    # a report link opened in a browser goes the same way; an API client gets 401
    report = browser.get(f"{hub.api}/runs/abc/report", allow_redirects=False, timeout=30)
    assert report.status_code == 302
    # log in through the form (with _xsrf), then the OAuth round trip sets the cookie
    done = browser.post(
        landed.url,  # /hub/login?next=<the OAuth authorize URL>
        data={"username": "alice", "password": PASSWORD, "_xsrf": _xsrf(browser)},
        timeout=30,
    )
    assert done.status_code == 200 and done.url == page, (done.url, done.text[-2000:])
    assert "Signed in as <b>alice</b>" in done.text
    assert re.search(r"<td>p_alice</td><td>alice</td><td>[a-z_]*</td><td>yes</td>", done.text)
    assert re.search(r"<td>p_bob</td><td>bob</td><td>[a-z_]*</td><td>no</td>", done.text)
    # the cookie works for JSON reads; changes need a token (or the xsrf header)
    listed = browser.get(f"{hub.api}/pipelines", timeout=30)
    assert listed.status_code == 200 and len(listed.json()["pipelines"]) == 2
    forged = browser.post(f"{hub.api}/pipelines/p_alice/trigger", allow_redirects=False)
    assert forged.status_code in (401, 403), forged.text
    # a stakeholder's browser session gets the scheduler's 403 page
    sam = requests.Session()
    sam.get(f"{hub.url}/hub/login", timeout=30)
    sam.post(
        f"{hub.url}/hub/login",
        data={"username": "sam", "password": PASSWORD, "_xsrf": _xsrf(sam)},
        timeout=30,
    )
    denied = sam.get(page, headers={"Accept": "text/html"}, timeout=30)
    assert denied.status_code == 403 and RUN in denied.text


# -- what the API shows to whom: pipelines private to who may see them, no server paths -------

SECRET = "alice-secret-7f3a"


@pytest.fixture(scope="module")
def alice_run(hub: Hub) -> dict[str, Any]:
    """A finished run of p_alice with a parameter only alice (and engineers) may read."""
    made = hub.call("alice", "POST", "pipelines/p_alice/trigger", {"parameters": {"note": SECRET}})
    assert made.status_code == 201, made.text
    run_id = made.json()["run_id"]
    done = _wait("alice's run", lambda: _finished(hub, "alice", run_id), 120, hub.log)
    assert done["run"]["state"] == "succeeded", json.dumps(done, indent=1)[-3000:]
    assert done["attempts"] and done["run"]["report_path"], done
    return done


def test_a_pipeline_detail_is_404_for_those_who_may_not_see_it(
    hub: Hub, alice_run: dict[str, Any]
) -> None:
    unknown = hub.call("bob", "GET", "pipelines/p_nobody")
    assert unknown.status_code == 404, unknown.text
    for path in ("pipelines/p_alice", "pipelines/p_alice?n=1", "pipelines/p_alice/history"):
        denied = hub.call("bob", "GET", path)
        assert denied.status_code == 404, (path, denied.status_code, denied.text)
        # the same answer as for a pipeline that does not exist
        assert denied.json()["error"] == unknown.json()["error"].replace("p_nobody", "p_alice")
        assert alice_run["run"]["run_id"] not in denied.text
    for user in ("alice", "eve"):  # the owner and engineers see it in full
        detail = hub.call(user, "GET", "pipelines/p_alice")
        assert detail.status_code == 200, (user, detail.text)
        body = detail.json()
        assert body["parameters"] == {"region": "p_alice_region"} and body["last_run_id"]
        assert body["tasks"][0]["notebook"] == "nb.ipynb"
        assert hub.call(user, "GET", "pipelines/p_alice/history").status_code == 200


def test_listings_show_others_pipelines_without_runs_parameters_or_paths(
    hub: Hub, alice_run: dict[str, Any]
) -> None:
    run_id = alice_run["run"]["run_id"]
    listed = hub.call("bob", "GET", "pipelines")
    assert listed.status_code == 200, listed.text
    entries = {p["name"]: p for p in listed.json()["pipelines"]}
    theirs = entries["p_alice"]
    assert (theirs["owner"], theirs["description"], theirs["paused"]) == ("alice", "p_alice", False)
    for key in ("last_run_id", "last_run_state", "promoted_by", "approved_by", "audience", "error"):
        assert theirs[key] is None, (key, theirs)
    for private in (run_id, SECRET, "p_alice_region", str(hub.home)):
        assert private not in listed.text, private
    # bob's own pipeline, and every pipeline for alice and eve, keep their last run
    bob_run = hub.call("bob", "POST", "pipelines/p_bob/trigger").json()["run_id"]
    mine = {p["name"]: p for p in hub.call("bob", "GET", "pipelines").json()["pipelines"]}
    assert mine["p_bob"]["last_run_id"] == bob_run
    for user in ("alice", "eve"):
        full = {p["name"]: p for p in hub.call(user, "GET", "pipelines").json()["pipelines"]}
        assert full["p_alice"]["last_run_id"] and full["p_alice"]["last_run_state"], user
    hub.call("bob", "POST", f"runs/{bob_run}/cancel")
    # upcoming times are schedule information only: names and times, nothing of the runs
    upcoming = hub.call("bob", "GET", "next?n=50")
    assert upcoming.status_code == 200, upcoming.text
    assert all(set(t) == {"pipeline", "at"} for t in upcoming.json()["times"])
    for private in (run_id, SECRET, "p_alice_region", str(hub.home)):
        assert private not in upcoming.text, private


def test_no_payload_for_a_non_admin_carries_a_server_path(
    hub: Hub, alice_run: dict[str, Any]
) -> None:
    run_id = alice_run["run"]["run_id"]
    attempt = alice_run["attempts"][0]["attempt_id"]
    folders = {str(hub.home), str(hub.home.resolve()), str(hub.home.parent / "scheduled")}
    common = ["pipelines", "runs", "next", "lineage?table=silver.x", "runs/nope", "nope"]
    own = [
        "pipelines/p_alice",
        "pipelines/p_alice/history",
        "runs?pipeline=p_alice",
        f"runs/{run_id}",
        f"runs/{run_id}/attempts/{attempt}/log",
    ]
    reads = {"alice": common + own, "eve": common + own, "bob": common + own}
    for user, paths in reads.items():
        for path in paths:
            resp = hub.call(user, "GET", path)
            assert resp.status_code < 500, (user, path, resp.text)
            for folder in folders:
                assert folder not in resp.text, (user, path, folder, resp.text[:3000])
    # the owner gets the files as paths relative to the workspace, and links to open them
    detail = hub.call("alice", "GET", f"runs/{run_id}").json()
    assert detail["run"]["report_path"].startswith("jobs/"), detail["run"]
    first = detail["attempts"][0]
    assert first["notebook_path"].startswith("jobs/") and first["report_url"], first
    # errors that name a folder of the service name it relative to the workspace too
    nb = json.loads(nbformat.writes(nbformat.v4.new_notebook()))
    exists = hub.call("alice", "POST", "promotions", {"name": "p_alice", "notebook": nb})
    assert 400 <= exists.status_code < 500, exists.text
    assert not any(folder in exists.text for folder in folders), exists.text
    # a hub admin (who runs the deployment) keeps the absolute paths
    hub.tokens["ada"] = hub.hub_api("POST", "users/ada/tokens", {"note": "test"})["token"]
    admin = hub.call("ada", "GET", f"runs/{run_id}")
    assert admin.status_code == 200, admin.text
    assert admin.json()["run"]["report_path"].startswith(str(hub.home)), admin.json()["run"]


def test_promotion_reports_are_404_for_unknown_and_foreign_tests(hub: Hub) -> None:
    cell = nbformat.v4.new_code_cell("y = 1")
    cell.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[cell])
    body = {
        "name": "p_promo",
        "notebook": json.loads(nbformat.writes(nb)),
        "kernel": "python3",
        "timeout": 120,
    }
    made = hub.call("alice", "POST", "promotions", body)
    assert made.status_code == 201, (made.status_code, made.text, hub.log()[-3000:])
    promoted = made.json()
    test_id = promoted["test_id"]
    assert hub.call("alice", "GET", f"promotions/{test_id}/report").status_code == 200
    assert hub.call("eve", "GET", f"promotions/{test_id}/report").status_code == 200
    unknown_id = "p_promo-20200101T000000000000"
    for user, tid in (("bob", test_id), ("bob", unknown_id), ("alice", unknown_id)):
        resp = hub.call(user, "GET", f"promotions/{tid}/report")
        assert resp.status_code == 404, (user, tid, resp.status_code, resp.text)
        assert resp.json()["error"] == f"No promotion test run {tid!r}.", resp.text
    # the answer names the new pipeline's folder relative to the workspace, not its path
    assert promoted["folder"] == "scheduled/p_promo", promoted
    assert str(hub.home) not in made.text


# -- without a hub: the store records, the migration, the CLI's refusal -----------------------


def test_scheduler_runs_record_the_owner_and_the_scheduler(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from workspace.api.service import JobsService
    from workspace.lake.settings import Settings

    service = JobsService(Settings.resolve(tmp_path / "home"), _pipelines(tmp_path / "s"))
    try:
        service.sync_owners()  # what `workspace scheduler` does at start
        store = service.store
        tick, _ = store.create_scheduled_run("p_alice", datetime(2025, 1, 1, tzinfo=UTC))
        assert (tick.owner, tick.requested_by, tick.trigger) == ("alice", "scheduler", "schedule")
        store.start_run(tick.run_id)
        store.finish_run(tick.run_id, "succeeded")
        after, _ = store.create_triggered_run("p_bob", tick.run_id)
        assert (after.owner, after.requested_by, after.triggered_by) == (
            "bob",
            "scheduler",
            tick.run_id,
        )
        cli = service.trigger("p_bob", {}, requested_by="carol")
        assert (cli.owner, cli.requested_by) == ("bob", "carol")
        assert service.trigger("p_bob", {}).requested_by is None  # callers that name no one
    finally:
        service.store.close()


def test_a_version_2_store_opens_and_keeps_its_runs(tmp_path: Path) -> None:
    import sqlite3
    from importlib import resources

    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    for script in ("schema.sql", "schema_2.sql"):
        con.executescript(resources.files("workspace.jobs.store").joinpath(script).read_text())
    con.execute("PRAGMA user_version = 2")
    now = "2025-01-01T00:00:00.000000+00:00"
    con.execute(
        "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES ('p', ?, ?)", (now, now)
    )
    for run_id, trigger, at in (("r1", "schedule", now), ("r2", "manual", None)):
        con.execute(
            "INSERT INTO runs (run_id, pipeline, scheduled_for, trigger, created_at) "
            "VALUES (?, 'p', ?, ?, ?)",
            (run_id, at, trigger, now),
        )
    con.commit()
    con.close()
    with RunStore.open(path) as store:
        old = {r.run_id: r for r in store.list_runs(pipeline="p")}
        assert (old["r1"].requested_by, old["r1"].owner) == ("scheduler", None)
        assert (old["r2"].requested_by, old["r2"].owner) == (None, None)
        assert store.get_pipeline("p").owner is None
        store.upsert_pipeline("p", owner="ada")
        new = store.create_manual_run("p", requested_by="bob")
        assert (new.owner, new.requested_by) == ("ada", "bob")
        store.upsert_pipeline("p", spec_hash="h")  # keeps the owner
        assert store.get_pipeline("p").owner == "ada"


def test_hub_mode_needs_the_hub_environment(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKSPACE_", "JUPYTERHUB_"))}
    env["WORKSPACE_HOME"] = str(tmp_path / "home")
    proc = subprocess.run(
        [*CLI, "scheduler", "--hub", "--scheduled", str(_pipelines(tmp_path / "s"))],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "JUPYTERHUB_API_TOKEN" in proc.stderr and "c.JupyterHub.services" in proc.stderr
