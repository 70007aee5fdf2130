"""The team deployment end to end: a real JupyterHub (``workspace hub``) on loopback ports,
real OS accounts made by ``workspace users add``, PAM logins through the login form, user
servers spawned as those accounts, and SQL run in a real kernel through the proxy.

Needs root (``useradd``, and the hub runs each server as its user's account).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.hub import (
    Hub,
    LoginFailed,
    hub_api,
    interpreter_reachable,
    login,
    new_user_name,
    open_lab,
    remove_os_user,
    run_cli,
    run_code,
    spawn_and_wait,
    start_hub,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]


class Team:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.passwords: dict[str, str] = {}

    def add(self, group: str, *, password: str | None = None) -> str:
        name = new_user_name()
        args = ["users", "add", name, "--group", group]
        if password:
            args += ["--password", password]
        out = run_cli(self.hub.home, *args).stdout
        if password is None:
            line = next(x for x in out.splitlines() if x.startswith("Initial password: "))
            password = line.split(": ", 1)[1].strip()
        self.passwords[name] = password
        return name

    def login(self, name: str) -> requests.Session:
        return login(self.hub, name, self.passwords[name])


@pytest.fixture(scope="module")
def team() -> Iterator[Team]:
    # Users' servers run as their own accounts: the home must be reachable by them (pytest's
    # temp folders are 0700, and pytest resets their mode) and the demo lake readable (it is
    # built 0644/0755, owned by root, who runs the hub and the pipelines: users read it and
    # cannot write it).
    home = Path(tempfile.mkdtemp(prefix="ws-hub-test-"))
    os.chmod(home, 0o755)
    request_cleanup = [lambda: shutil.rmtree(home, ignore_errors=True)]
    run_cli(home, "demo", "--scale", "0.01", "--no-notebooks")
    with interpreter_reachable():
        hub = start_hub(home, services="idle-culler")
        t = Team(hub)
        try:
            yield t
        finally:
            hub.stop()
            for name in [*t.passwords, "admin"]:
                if name == "admin" and not (home / "hub" / "admin-password").exists():
                    continue
                remove_os_user(name)
            for cleanup in request_cleanup:
                cleanup()


def test_first_start_made_an_admin_who_can_log_in(team: Team) -> None:
    password = (team.hub.home / "hub" / "admin-password").read_text().strip()
    assert stat.S_IMODE((team.hub.home / "hub" / "admin-password").stat().st_mode) == 0o600
    # the hub prints where the password is, never the password (its output ends up in logs)
    log = team.hub.log()
    assert "http://127.0.0.1:" in log and password not in log
    assert str(team.hub.home / "hub" / "admin-password") in log
    session = login(team.hub, "admin", password)
    me = hub_api(session, team.hub, "GET", "/user").json()
    assert me["admin"] is True and set(me["groups"]) >= {"engineers", "admins"}
    assert "custom:pipelines:manage" in me["scopes"]


def test_users_cli_lists_and_rejects_bad_names(team: Team) -> None:
    name = team.add("scientists")
    rows = json.loads(run_cli(team.hub.home, "users", "list", "--json").stdout)
    row = next(r for r in rows if r["name"] == name)
    assert row == {"name": name, "group": "scientists", "admin": False, "os_account": True}
    bad = run_cli(team.hub.home, "users", "add", "Bad Name", "--group", "analysts", check=False)
    assert bad.returncode != 0 and "invalid user name" in bad.stderr
    # the running hub knows the new user and its group without a restart
    model = team.hub.api_request("GET", f"/users/{name}").json()
    assert model["groups"] == ["scientists"]
    # a new Lab user finds the tour in their home, as their own files
    tour = Path(pwd.getpwnam(name).pw_dir) / "tour"
    assert sorted(p.name for p in tour.iterdir()) == [
        "01-ibis-tour.ipynb",
        "02-sql-cells.ipynb",
        "03-dask.ipynb",
    ]
    assert {p.stat().st_uid for p in [tour, *tour.iterdir()]} == {pwd.getpwnam(name).pw_uid}


def test_analyst_logs_in_spawns_and_runs_sql_through_the_proxy(team: Team) -> None:
    name = team.add("analysts")
    with pytest.raises(LoginFailed):
        login(team.hub, name, "wrong-password")
    session = team.login(name)
    spawn_and_wait(session, team.hub, name)
    lab = open_lab(session, team.hub, name)
    assert lab.status_code == 200 and lab.url.endswith(f"/user/{name}/lab")
    out = run_code(session, team.hub, name, "%%sql\nSELECT count(*) AS n FROM bronze.nation")
    assert out["kernel"] == "workspace", out  # the default kernel
    if out["status"] != "ok":
        why = run_code(session, team.hub, name, "import workspace; workspace.connect()")
        raise AssertionError(f"{out}\n{why}")
    assert out["status"] == "ok", out
    assert "25" in out["text"], out
    who = run_code(
        session,
        team.hub,
        name,
        "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.environ['WORKSPACE_USER'])",
    )
    assert who["text"].split() == [name, name]
    # users read the shared lake but cannot write silver/gold; their sandbox is theirs
    write = run_code(
        session, team.hub, name, "ws.con.execute('CREATE TABLE silver.hack AS SELECT 1 AS x')"
    )
    assert write["status"] == "error"
    mine = run_code(
        session,
        team.hub,
        name,
        "ws.con.execute('CREATE TABLE sandbox.mine AS SELECT 1 AS x');"
        "print(ws.con.execute('SELECT x FROM sandbox.mine').fetchall())",
    )
    assert mine["status"] == "ok" and "[(1,)]" in mine["text"], mine


def test_user_cannot_read_another_users_home(team: Team) -> None:
    a, b = team.add("analysts"), team.add("engineers")
    session = team.login(a)
    spawn_and_wait(session, team.hub, a)
    open_lab(session, team.hub, a)
    out = run_code(session, team.hub, a, f"import os; os.listdir(os.path.expanduser('~{b}'))")
    assert out["status"] == "error" and out["error"]["ename"] == "PermissionError", out
    sandbox = team.hub.home / "sandboxes" / b
    out = run_code(session, team.hub, a, f"import os; os.listdir({str(sandbox)!r})")
    assert out["status"] == "error" and out["error"]["ename"] == "PermissionError", out


def test_stakeholder_gets_no_server(team: Team) -> None:
    name = team.add("stakeholders")
    session = team.login(name)
    resp = hub_api(session, team.hub, "POST", f"/users/{name}/server")
    assert resp.status_code == 403, resp.text
    page = session.get(team.hub.url + "/hub/spawn", timeout=30)
    assert page.status_code == 403
    lab = session.get(f"{team.hub.url}/user/{name}/lab", timeout=30, allow_redirects=False)
    assert lab.status_code in {302, 403, 424}
    me = hub_api(session, team.hub, "GET", "/user").json()
    assert "custom:reports:view" in me["scopes"]
    assert not any(s.startswith(("servers", "access:servers")) for s in me["scopes"])


def test_unauthenticated_lab_redirects_to_login(team: Team) -> None:
    name = next(iter(team.passwords), "admin")
    resp = requests.get(f"{team.hub.url}/user/{name}/lab", timeout=30)
    assert resp.status_code == 200
    assert "/hub/login" in resp.url


def test_removed_user_cannot_log_in(team: Team) -> None:
    name = team.add("analysts")
    team.login(name)
    run_cli(team.hub.home, "users", "remove", name, "--delete-home")
    assert team.hub.api_request("GET", f"/users/{name}").status_code == 404
    assert not Path(f"/home/{name}").exists()
    with pytest.raises(LoginFailed):
        login(team.hub, name, team.passwords[name])
