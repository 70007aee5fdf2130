"""Operating the team deployment (issue 9, items 8, 12 and 13): login lockout, user removal
(sandbox, pipelines paused or handed over), the stakeholders' home and reports gallery, and
the Lab's kernel list and terminal PATH.

One real ``workspace hub`` (PAM logins, the reports service) for the module, with real OS
accounts made by ``workspace users add``. Needs root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup

from tests.support.hub import (
    Hub,
    LoginFailed,
    interpreter_reachable,
    login,
    new_user_name,
    open_lab,
    remove_os_user,
    run_cli,
    run_code,
    run_in_terminal,
    spawn_and_wait,
    start_hub,
)
from tests.support.hub_demo import wait_for, write_pipeline
from workspace.governance.audit import AuditQuery, trail
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

MAX_FAILURES = 3
LOCKOUT_SECONDS = 10
BIN = Path(sys.prefix) / "bin"


@dataclass
class Ops:
    hub: Hub
    admin: str
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def scheduled(self) -> Path:
        return self.hub.home / "scheduled"

    def add(self, group: str) -> str:
        name = new_user_name()
        password = "pw-" + name
        run_cli(self.hub.home, "users", "add", name, "--group", group, "--password", password)
        self.passwords[name] = password
        return name

    def login(self, name: str) -> requests.Session:
        return login(self.hub, name, self.passwords[name])

    def store(self) -> contextlib.closing[RunStore]:
        return contextlib.closing(RunStore.open(Settings.resolve(self.hub.home, user="root")))


@pytest.fixture(scope="module")
def ops() -> Iterator[Ops]:
    home = Path(tempfile.mkdtemp(prefix="ws-hub-ops-"))
    os.chmod(home, 0o755)
    (home / "scheduled").mkdir()
    admin = new_user_name()
    hub: Hub | None = None
    o: Ops | None = None
    try:
        with interpreter_reachable():
            hub = start_hub(
                home,
                services="reports",
                env={
                    "WORKSPACE_HUB_ADMIN": admin,
                    "WORKSPACE_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
                    "WORKSPACE_LOGIN_LOCKOUT_SECONDS": str(LOCKOUT_SECONDS),
                },
            )
            service = f"http://127.0.0.1:{hub.ports['WORKSPACE_REPORTS_PORT']}/services/reports/"
            wait_for(
                "reports service",
                lambda: requests.get(service, allow_redirects=False, timeout=5).status_code == 302,
                90,
                hub.log,
            )
            o = Ops(hub, admin)
            o.passwords[admin] = (home / "hub" / "admin-password").read_text().strip()
            yield o
    finally:
        if hub is not None:
            hub.stop()
        for name in [admin, *(o.passwords if o else [])]:
            remove_os_user(name)
        shutil.rmtree(home, ignore_errors=True)


def _post_login(hub: Hub, name: str, password: str) -> requests.Response:
    """The login form as a browser submits it (no redirects followed)."""
    session = requests.Session()
    session.get(hub.url + "/hub/login", timeout=30).raise_for_status()
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    return session.post(
        hub.url + "/hub/login",
        data={"username": name, "password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )


def _login_error(page: str) -> str:
    found = BeautifulSoup(page, "html.parser").select_one(".login_error")
    return found.get_text(" ", strip=True) if found else ""


# -- item 8: login lockout -------------------------------------------------------------------
def test_login_locks_out_after_repeated_failures_then_lets_in_again(ops: Ops) -> None:
    name, bystander = ops.add("analysts"), ops.add("analysts")
    first = _post_login(ops.hub, name, "wrong-1")
    assert first.status_code == 403
    assert _login_error(first.text) == "Invalid username or password"
    for i in range(2, MAX_FAILURES + 1):
        with pytest.raises(LoginFailed):
            login(ops.hub, name, f"wrong-{i}")
    locked_at = time.monotonic()
    # the right password is refused now, with the lockout message on the login form
    refused = _post_login(ops.hub, name, ops.passwords[name])
    assert refused.status_code == 403
    assert "username" in refused.text and "_xsrf" in refused.text  # the form, again
    message = _login_error(refused.text)
    assert message.startswith(f"Too many failed logins for {name}; try again in "), message
    assert message.endswith("minute or ask an admin."), message
    # a name that does not exist locks the same way (no oracle for which accounts exist)
    ghost = new_user_name()
    for i in range(MAX_FAILURES):
        _post_login(ops.hub, ghost, f"guess-{i}")
    assert "Too many failed logins" in _login_error(_post_login(ops.hub, ghost, "x").text)
    # the lockout is per name: others log in meanwhile
    ops.login(bystander)
    # after the lockout the right password works again
    time.sleep(max(0.0, LOCKOUT_SECONDS + 1 - (time.monotonic() - locked_at)))
    session = ops.login(name)
    assert session.get(ops.hub.url + "/hub/api/user", timeout=30).json()["name"] == name
    assert "User logged in: " + name in ops.hub.log()
    # all of it is in the audit trail, with one security alert for the burst
    home = Settings.resolve(ops.hub.home)
    events = trail(home).query(AuditQuery(target=f"user:{name}"))
    assert [e.action for e in reversed(events)] == [
        "user_add", *["login_failed"] * MAX_FAILURES, "security_alert", "login_locked", "login",
    ]  # fmt: skip
    assert trail(home).verify().ok


# -- item 12: stakeholders get the reports, with a logout; the gallery lists reports ---------
def _fake_report(ops: Ops, pipeline: str) -> str:
    """A finished run of ``pipeline`` with a report file (as the scheduler records one)."""
    folder = ops.hub.home / "jobs" / "runs" / pipeline
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "report.html"
    report.write_text("<html><body><h1>figures</h1></body></html>")
    with ops.store() as store:
        store.upsert_pipeline(pipeline)
        run = store.create_manual_run(pipeline)
        store.start_run(run.run_id)
        store.set_run_report(run.run_id, str(report))
        store.finish_run(run.run_id, "succeeded")
    return run.run_id


def _cards(page: str) -> list[str]:
    soup = BeautifulSoup(page, "html.parser")
    return sorted(str(s["id"]).removeprefix("p-") for s in soup.select("section.card"))


def _logout_link(page: str) -> str | None:
    link = BeautifulSoup(page, "html.parser").select_one("header a.logout")
    return str(link["href"]) if link else None


def test_stakeholder_home_offers_the_reports_not_a_server(ops: Ops) -> None:
    stakeholder, analyst = ops.add("stakeholders"), ops.add("analysts")
    home = ops.login(stakeholder).get(ops.hub.url + "/hub/home", timeout=30)
    assert home.status_code == 200
    soup = BeautifulSoup(home.text, "html.parser")
    assert soup.select_one("#start") is None and "Start My Server" not in home.text
    assert soup.select_one("a#reports")["href"] == "/services/reports/"
    # people with a Lab keep the usual home page
    theirs = BeautifulSoup(ops.login(analyst).get(ops.hub.url + "/hub/home").text, "html.parser")
    assert theirs.select_one("#start") is not None and theirs.select_one("a#reports") is None


def test_gallery_lists_only_pipelines_with_a_report_and_has_a_logout(ops: Ops) -> None:
    audience = "{groups: [stakeholders]}"
    write_pipeline(ops.scheduled, "ops_kpis", ops.admin, ["print(1)"], audience=audience)
    write_pipeline(ops.scheduled, "ops_etl", ops.admin, ["print(2)"], audience=audience)
    _fake_report(ops, "ops_kpis")
    with ops.store() as store:  # a run without a report: still no card
        store.upsert_pipeline("ops_etl")
        store.create_manual_run("ops_etl")
    admin = ops.login(ops.admin)  # sees every pipeline
    gallery = admin.get(ops.hub.url + "/services/reports/", timeout=60)
    assert gallery.status_code == 200 and gallery.url.endswith("/services/reports/")
    assert _cards(gallery.text) == ["ops_kpis"]
    assert _logout_link(gallery.text) == "/hub/logout"
    # the logout link really logs out (of the hub and so of the reports)
    stakeholder = ops.add("stakeholders")
    session = ops.login(stakeholder)
    page = session.get(ops.hub.url + "/services/reports/", timeout=60)
    assert page.status_code == 200 and _logout_link(page.text) == "/hub/logout"
    session.get(ops.hub.url + "/hub/logout", timeout=30)
    again = session.get(ops.hub.url + "/services/reports/", timeout=60)
    assert "/hub/login" in again.url, again.url


def test_admins_and_the_security_group_read_the_audit_trail_and_the_health_page(
    ops: Ops,
) -> None:
    from workspace.hub.deployment import HubPaths
    from workspace.hub.users import HubClient

    outsider, analyst = ops.add("analysts"), ops.add("analysts")
    client = HubClient.for_paths(HubPaths(ops.hub.home / "hub"))
    assert client is not None
    # the hub knows the security group (workspace.api.auth.GROUPS): no need to create it
    client.request("POST", "/groups/security/users", {"users": [analyst]})
    url = ops.hub.url + f"/services/reports/audit?target=user:{analyst}"
    assert ops.login(outsider).get(url, timeout=60).status_code == 403
    for who in (analyst, ops.admin):
        answer = ops.login(who).get(url, timeout=60)
        assert answer.status_code == 200, answer.text
        assert [e["action"] for e in answer.json()][-1] == "user_add"
    reads = trail(Settings.resolve(ops.hub.home)).query(AuditQuery(action="audit_read"))
    assert [r.actor for r in reads] == [ops.admin, analyst]
    # The platform health page: the security group and admins, not analysts.
    health = ops.hub.url + "/services/reports/health"
    assert ops.login(outsider).get(health, timeout=60).status_code == 403
    page = ops.login(analyst).get(health, timeout=120)
    assert page.status_code == 200 and "Platform health" in page.text, page.text[:500]
    data = ops.login(ops.admin).get(health + "?format=json&days=3", timeout=120).json()
    assert {"pipelines", "tables", "compute", "storage", "grants"} <= set(data), data
    assert not data["problems"], data["problems"]


# -- item 13: the Lab offers the workspace kernel only; `workspace` is on the terminal PATH --
def test_lab_has_only_the_workspace_kernel_and_workspace_on_the_terminal_path(ops: Ops) -> None:
    name = ops.add("analysts")
    session = ops.login(name)
    spawn_and_wait(session, ops.hub, name)
    assert open_lab(session, ops.hub, name).status_code == 200
    spawns = trail(Settings.resolve(ops.hub.home)).query(AuditQuery(actor=name, action="spawn"))
    assert [s.target for s in spawns] == [f"server:{name}"]  # recorded by the authenticator
    specs = session.get(f"{ops.hub.url}/user/{name}/api/kernelspecs", timeout=30).json()
    assert specs["default"] == "workspace"
    assert list(specs["kernelspecs"]) == ["workspace"], list(specs["kernelspecs"])
    out = run_code(session, ops.hub, name, "import shutil; print(shutil.which('workspace'))")
    assert out["status"] == "ok" and out["text"].strip() == str(BIN / "workspace"), out
    # a terminal is a login shell (/etc/profile resets PATH): the venv's bin is still first
    text = run_in_terminal(
        session, ops.hub, name, "id -un; command -v workspace; workspace users --help | head -1"
    )
    assert name in text and str(BIN / "workspace") in text, text
    assert "Usage: workspace users" in text, text


# -- item 8: removing a user removes the sandbox and pauses or hands over the pipelines ------
def test_remove_user_deletes_sandbox_and_pauses_or_transfers_pipelines(ops: Ops) -> None:
    leaver, heir, stakeholder = ops.add("analysts"), ops.add("engineers"), ops.add("stakeholders")
    other = ops.add("scientists")
    sandbox = ops.hub.home / "sandboxes" / leaver
    assert sandbox.is_dir() and sandbox.stat().st_uid != 0
    (sandbox / "mine.parquet").write_bytes(b"PAR1")
    write_pipeline(ops.scheduled, "leaver_daily", leaver, ["print(1)"])
    write_pipeline(ops.scheduled, "other_daily", other, ["print(1)"])
    scheduled = ["--scheduled", str(ops.scheduled)]
    # a stakeholder cannot inherit pipelines: refused before anything is removed
    bad = run_cli(
        ops.hub.home, "users", "remove", leaver, "--transfer-to", stakeholder, *scheduled,
        check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "do not own pipelines" in bad.stderr, bad.stderr
    assert sandbox.is_dir() and leaver in run_cli(ops.hub.home, "users", "list").stdout

    out = run_cli(ops.hub.home, "users", "remove", leaver, "--delete-home", *scheduled).stdout
    assert "pipelines paused: leaver_daily" in out, out
    assert f"sandbox deleted: {sandbox}" in out and "OS account removed with its home" in out
    assert not sandbox.exists()
    with ops.store() as store:
        assert store.get_pipeline("leaver_daily").paused
        assert not store.get_pipeline("other_daily").paused
        assert store.get_pipeline("other_daily").owner == other

    # without --scheduled: the pipelines folder the running hub uses (recorded at its start)
    out = run_cli(ops.hub.home, "users", "remove", other, "--transfer-to", heir).stdout
    assert f"pipelines transferred to {heir}: other_daily" in out, out
    assert not (ops.hub.home / "sandboxes" / other).exists()
    with ops.store() as store:
        record = store.get_pipeline("other_daily")
        assert record.owner == heir and not record.paused
        handed = store.pipeline_events("other_daily", kind="owner")[-1]  # recorded: who, when
        assert handed.actor == "root" and handed.detail["previous"] == other
        assert handed.detail["owner"] == heir
