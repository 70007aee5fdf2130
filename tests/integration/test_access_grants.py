"""Access grants as the OS enforces them, for a real OS account (issue 13, part 2).

Root writes ``silver.customers`` into a temporary lake and ``workspace classify`` makes it
restricted: its own root-only DuckLake tree, encrypted files. The scheduler API runs in this
process as root, behind an authenticator that knows a hub user by their token (what the
hub's OAuth does); the user's own ``workspace access`` commands run as their OS account with
a Lab terminal's environment (``WORKSPACE_SCHEDULER_URL``, ``JUPYTERHUB_API_TOKEN``). The
test proves:

* without a grant the account can neither open the table's files nor read it through
  ``workspace.connect()``; its own process cannot open the grants store either (the OS
  refuses, not our code);
* request (as the user, through the service) -> approve (legal) -> a warm process of the
  user, polling every 50 ms, reads the table through ``workspace.connect()``; the time from
  the approval to that first working read is printed (goal: 5 s);
* approving one's own request is refused; the approvers hear of the request through the
  ``access:`` sinks; a grant of restricted data raises a security alert;
* revoke -> it cannot read; a grant past its time is revoked by the expiry pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.webhook import webhook_receiver
from tornado.web import HTTPError, RequestHandler

from tests.support.hub import interpreter_reachable, new_user_name, remove_os_user
from workspace.api.auth import RUN_SCOPE, Identity
from workspace.governance.access import AccessService
from workspace.governance.audit import AuditQuery, trail
from workspace.governance.read_watch import ACTION, ReadWatch
from workspace.hub.hub_auth import StaticTokenAuth
from workspace.hub.jobs_api import Served, serve
from workspace.jobs.access_upkeep import AccessUpkeep
from workspace.lake.protected import protected_root
from workspace.lake.settings import Settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="other OS accounts need root")
TABLE = "silver.customers"


@dataclass
class PeopleAuth(StaticTokenAuth):
    """Each token is one hub user (the hub's OAuth, without a hub)."""

    people: dict[str, Identity] = field(default_factory=dict)

    async def identify(self, handler: RequestHandler) -> Identity | None:
        given = handler.request.headers.get("Authorization", "").partition(" ")[2].strip()
        if given not in self.people:
            raise HTTPError(403, "unknown token")
        return self.people[given]


@dataclass
class World:
    settings: Settings
    user: str
    file: Path
    url: str
    hook: list[dict[str, Any]]


def _start(settings: Settings, scheduled: Path, auth: PeopleAuth) -> tuple[Served, Any]:
    ready: list[tuple[Served, asyncio.AbstractEventLoop, asyncio.Event]] = []
    started = threading.Event()

    async def main() -> None:
        served = serve(settings, scheduled, auth=auth, port=0)
        event = asyncio.Event()
        ready.append((served, asyncio.get_running_loop(), event))
        started.set()
        await event.wait()
        served.server.stop()
        served.app.settings["jobs_service"].store.close()

    threading.Thread(target=asyncio.run, args=(main(),), daemon=True).start()
    assert started.wait(30), "the API server did not start"
    served, loop, event = ready[0]
    return served, lambda: loop.call_soon_threadsafe(event.set)


@pytest.fixture
def world() -> Iterator[World]:
    from workspace.governance.classify import classify
    from workspace.lake import Workspace

    base = Path(tempfile.mkdtemp(prefix="ws-access-"))
    base.chmod(0o755)  # traversable: only the protected tree's mode and ACL decide
    settings = Settings.resolve(base / "home", user="root")
    name = new_user_name()
    subprocess.run(["useradd", "-m", "-U", name], check=True, capture_output=True)
    old_umask = os.umask(0o022)
    os.environ["WORKSPACE_SCHEDULED"] = "/nonexistent"  # the default tiers
    with Workspace(settings) as ws:
        ws.write(TABLE, pd.DataFrame({"id": [1, 2], "name": ["Ada Lovelace", "Ana Lima"]}))
    classify(settings, TABLE, "restricted", owner="owner1", description="Customers")
    sandbox = settings.home / "sandboxes" / name
    sandbox.mkdir(parents=True)
    os.chown(sandbox, pwd.getpwnam(name).pw_uid, pwd.getpwnam(name).pw_gid)
    file = next(protected_root(settings, TABLE).rglob("*.parquet"))
    receiver = webhook_receiver()
    hook_url, got = receiver.__enter__()
    (settings.home / "alerts.yaml").write_text(
        f"approvers: {{type: webhook, url: '{hook_url}', tries: 1}}\naccess: [approvers]\n"
    )
    auth = PeopleAuth(token="unused", people={
        "t-user": Identity(name, frozenset({"analysts"}), frozenset({RUN_SCOPE})),
        "t-legal": Identity("lee", frozenset({"legal"}), frozenset({RUN_SCOPE})),
    })  # fmt: skip
    (base / "scheduled").mkdir()
    served, stop = _start(settings, base / "scheduled", auth)
    try:
        with interpreter_reachable():
            yield World(settings, name, file, f"http://127.0.0.1:{served.port}/", got)
    finally:
        stop()
        receiver.__exit__(None, None, None)
        os.umask(old_umask)
        os.environ.pop("WORKSPACE_SCHEDULED", None)
        remove_os_user(name)
        subprocess.run(["rm", "-rf", str(base)], check=False)


def _can_read(w: World) -> bool:
    """Whether the user's account can open one of the table's data files."""
    probe = ["runuser", "-u", w.user, "--", "cat", str(w.file)]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _as_user(w: World, *args: str, service: bool = True) -> subprocess.CompletedProcess[str]:
    """``workspace ARGS`` as the user's OS account, in a Lab terminal's environment."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONWARNINGS": "ignore",
           "WORKSPACE_HOME": str(w.settings.home)}  # fmt: skip
    if service:
        env |= {"WORKSPACE_SCHEDULER_URL": w.url, "JUPYTERHUB_API_TOKEN": "t-user"}
    return subprocess.run(
        [sys.executable, "-m", "workspace.cli.main", "access", *args], user=w.user,
        group=pwd.getpwnam(w.user).pw_gid, extra_groups=[], env=env, cwd="/",
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


_READER = r"""
import json, sys, time, workspace
first = None
for _ in range(1200):
    try:
        ws = workspace.connect()
        n = int(ws.sql("SELECT count(*) AS n FROM silver.customers").to_pandas()["n"].iloc[0])
        ws.close()
        print(json.dumps({"at": time.time(), "rows": n, "refused": first}), flush=True)
        break
    except Exception as exc:
        if first is None:
            first = f"{type(exc).__name__}: {exc}"
            print("refused", flush=True)
        time.sleep(0.05)
"""


def _reader(w: World) -> subprocess.Popen[str]:
    """A warm process of the user that reads the table through ``workspace.connect()`` every
    50 ms until it works; it prints ``refused`` after its first failure."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONWARNINGS": "ignore",
        "WORKSPACE_HOME": str(w.settings.home),
        "WORKSPACE_SCHEDULED": "/nonexistent",
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", _READER], user=w.user, group=pwd.getpwnam(w.user).pw_gid,
        extra_groups=[], env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "refused"
    return proc


def _legal(w: World, method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{w.url}api/jobs/{path}", data=data, method=method,
        headers={"Authorization": "token t-legal", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as resp:
        answer: dict[str, Any] = json.loads(resp.read())
    return answer


def test_request_approve_read_revoke_expire_as_a_real_account(world: World) -> None:
    w = world
    assert not _can_read(w)
    # the user's own process: the OS keeps it out of the grants store
    alone = _as_user(w, "request", TABLE, "--reason", "x" * 5, service=False)
    assert alone.returncode == 2 and "kept by root" in alone.stderr, alone.stderr
    store = w.settings.home / "governance" / "access.sqlite"
    probe = subprocess.run(["runuser", "-u", w.user, "--", "cat", str(store)],
                           capture_output=True, check=False)  # fmt: skip
    assert probe.returncode != 0

    asked = _as_user(w, "request", TABLE, "--reason", "churn study", "--days", "3", "--json")
    assert asked.returncode == 0, asked.stderr
    request_id = json.loads(asked.stdout)["id"]
    own = _as_user(w, "approve", str(request_id))
    assert own.returncode == 2 and "cannot approve your own" in own.stderr, own.stderr
    assert not _can_read(w)
    # the approvers hear of it through the access: sinks
    assert AccessUpkeep(w.settings, w.settings.home / "alerts.yaml").notify() == 1
    assert f"workspace access approve {request_id}" in json.dumps(w.hook)

    reader = _reader(w)  # warm, and refused so far
    started = time.time()
    grant = _legal(w, "POST", f"access/requests/{request_id}/approve", {})
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0 and out.strip(), err
    read = json.loads(out.strip().splitlines()[-1])
    assert read["rows"] == 2 and "request access" in read["refused"], read
    print(
        f"\napproval -> working read (workspace.connect(), as {w.user}): "
        f"{read['at'] - started:.3f} s (goal <= 5 s)"
    )
    assert _can_read(w) and grant["granted_by"] == "lee" and grant["tables"] == [TABLE]

    mine = _as_user(w, "list", "--json")
    assert mine.returncode == 0, mine.stderr
    assert [(g["user"], g["granted_by"]) for g in json.loads(mine.stdout)] == [(w.user, "lee")]
    assert json.loads(mine.stdout)[0]["last_used"] is None  # nothing watched the read above
    _the_kernel_reports_who_opens_the_files(w)

    _legal(w, "DELETE", f"access/grants?user={w.user}&target={TABLE}")
    assert not _can_read(w)

    _legal(w, "POST", "access/grants", {"user": w.user, "target": TABLE, "days": 1})
    assert _can_read(w)
    expired = AccessService(w.settings).expire(datetime.now(UTC) + timedelta(days=2))
    assert [g.user for g in expired] == [w.user]
    assert not _can_read(w)
    actions = [e.action for e in trail(w.settings).query(AuditQuery(limit=50))]
    for action in ("access_request", "access_refused", "access_approve", "access_revoke",
                   "access_grant", "access_expire", "security_alert"):  # fmt: skip
        assert action in actions, (action, actions)


def _the_kernel_reports_who_opens_the_files(w: World) -> None:
    """fanotify (as the scheduler service runs it) sees the user's plain file read, records
    it in the audit trail once, and the grant's ``last_used`` shows it."""
    watch = ReadWatch(w.settings, every=600)
    if not watch.open():
        pytest.skip("fanotify needs root with CAP_SYS_ADMIN")
    try:
        assert watch.mark_all() >= 1
        holder = subprocess.Popen(
            ["runuser", "-u", w.user, "--", sys.executable, "-c",
             f"f = open({str(w.file)!r}, 'rb'); f.read(4); print('read', flush=True); input()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline().strip() == "read"
        opened = watch.poll(timeout=10)
        _can_read(w)  # a second open within the interval: seen, not recorded again
        opened += watch.poll(timeout=10)
        holder.communicate("\n", timeout=30)
    finally:
        watch.close()
    assert (w.user, TABLE) in {(o.user, o.table) for o in opened}, opened
    entries = trail(w.settings).query(AuditQuery(action=ACTION, actor=w.user, limit=10))
    assert [e.target for e in entries] == [f"table:{TABLE}"]
    mine = _as_user(w, "list", "--json")
    assert json.loads(mine.stdout)[0]["last_used"] is not None, mine.stdout
