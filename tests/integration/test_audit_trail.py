"""The audit trail with real components: the jobs routes through the CLI, another OS
account against the store, the hub's authenticator on failed logins, and security alerts
forwarded to a webhook sink by the scheduler's forwarder."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import pwd
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from support.notebooks import make_notebook
from support.webhook import webhook_receiver

from tests.support.hub import interpreter_reachable, new_user_name, remove_os_user
from workspace.cli.main import cli
from workspace.governance.audit import record, security_alert, trail
from workspace.lake.settings import Settings

ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="other OS accounts need root")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    return home


def _audit(*args: str) -> list[dict[str, Any]]:
    out = CliRunner().invoke(cli, ["audit", "--json", *args], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    return list(json.loads(out.stdout))


def test_jobs_routes_record_the_caller(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "scheduled"
    (root / "daily").mkdir(parents=True)
    (root / "daily" / "pipeline.yaml").write_text("tasks: [{name: a, notebook: a.ipynb}]\n")
    make_notebook(root / "daily" / "a.ipynb", "n = 1", "pass")
    monkeypatch.setenv("WORKSPACE_SCHEDULED", str(root))
    for args in (["pause", "daily"], ["resume", "daily"], ["trigger", "daily", "-p", "n", "2"]):
        result = CliRunner().invoke(cli, ["jobs", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    listed = CliRunner().invoke(cli, ["jobs", "list"], catch_exceptions=False)
    assert listed.exit_code == 0  # reads are not recorded
    me = getpass.getuser()  # LocalJobs: the routes run for the local OS user
    events = _audit("--actor", me, "--target", "pipeline:daily")
    assert [e["action"] for e in events] == ["trigger", "resume", "pause"]
    trigger = events[0]["details"]
    assert trigger["parameters"] == {"n": 2} and trigger["run_id"]
    assert _audit("--action", "pause")[0]["actor"] == me
    assert trail().verify().ok


@ROOT
def test_another_account_can_neither_read_nor_write_the_trail() -> None:
    base = Path(tempfile.mkdtemp(prefix="ws-audit-"))
    base.chmod(0o755)  # the home is traversable: only the audit folder's mode protects it
    name = new_user_name()
    subprocess.run(["useradd", "-m", "-U", name], check=True, capture_output=True)
    try:
        event = record("root", "user_add", f"user:{name}", settings=Settings.resolve(base))
        assert event is not None and event.seq == 1
        db = base / "audit" / "audit.sqlite"
        code = (
            "import sqlite3, sys\n"
            "from workspace.governance.audit import record\n"
            "from workspace.lake.settings import Settings\n"
            f"db = {str(db)!r}\n"
            "try:\n    open(db, 'rb').read(1); print('READ')\n"
            "except PermissionError: print('no-read')\n"
            "try:\n"
            '    sqlite3.connect(db).execute("INSERT INTO events VALUES "\n'
            "        \"(2, 't', 'eve', 'forged', 'x', '{}', 'p', 'h')\"); print('WROTE')\n"
            "except sqlite3.OperationalError: print('no-write')\n"
            f"settings = Settings.resolve({str(base)!r})\n"
            "print('record', record('eve', 'forged', 'x', settings=settings))\n"
        )
        env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONWARNINGS": "ignore"}
        with interpreter_reachable():
            proc = subprocess.run(
                [sys.executable, "-c", code], user=name, group=pwd.getpwnam(name).pw_gid,
                extra_groups=[], env=env, cwd="/", capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split("\n")[:3] == ["no-read", "no-write", "record None"]
        assert trail(Settings.resolve(base)).verify().checked == 1
    finally:
        remove_os_user(name)
        subprocess.run(["rm", "-rf", str(base)], check=False)


@ROOT
def test_failed_logins_are_recorded_and_a_burst_alerts(home: Path) -> None:
    """The hub's authenticator against PAM, with a name that has no account."""
    from workspace.hub.auth import LockedOutError, WorkspaceAuthenticator

    auth = WorkspaceAuthenticator(hub_dir=str(home / "hub"), lockout_max_failures=1)
    name = new_user_name("nobody_")
    with pytest.raises(LockedOutError):  # one failure (PAM says no) locks the name here
        asyncio.run(auth.authenticate(None, {"username": name, "password": "wrong"}))
    with pytest.raises(LockedOutError):  # refused without asking PAM
        asyncio.run(auth.authenticate(None, {"username": name, "password": "wrong"}))
    actions = [e["action"] for e in _audit("--actor", name)]
    assert actions == ["login_locked", "login_failed"]
    alerts = _audit("--action", "security_alert")
    assert [(a["target"], a["details"]["kind"]) for a in alerts] == [
        (f"user:{name}", "failed_logins")
    ]


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with webhook_receiver() as received:
        yield received


def test_security_alerts_reach_the_security_sinks_once(
    home: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    from workspace.jobs.alerts.security import SecurityAlertForwarder

    url, got = webhook
    alerts_file = home / "alerts.yaml"
    alerts_file.write_text(
        f"sec_hook: {{type: webhook, url: '{url}', tries: 1}}\nsecurity: [sec_hook]\n"
    )
    from workspace.hub.deployment import HubPaths
    from workspace.hub.users import add_user

    paths = HubPaths(home / "hub")
    add_user("ada", "engineers", paths=paths, os_accounts=False)
    add_user("ada", "engineers", admin=True, paths=paths, os_accounts=False)
    changes = _audit("--target", "user:ada")
    assert [c["action"] for c in changes] == ["security_alert", "user_change", "user_add"]
    assert changes[1]["details"]["was_admin"] is False and changes[1]["details"]["admin"]
    forwarder = SecurityAlertForwarder(Settings.resolve(), alerts_file)
    assert forwarder.forward_once() == 1 and forwarder.forward_once() == 0
    assert len(got) == 1 and "ada became a workspace admin" in got[0]["text"]
    assert "workspace security alert" in json.dumps(got[0])
    security_alert("failed_logins", "9 failed logins for 'bob'", target="user:bob")
    assert forwarder.forward_once() == 1 and "'bob'" in got[1]["text"]
