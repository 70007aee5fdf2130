"""Shared setup for the hub tests that run pipelines: a hub home reachable by the users'
OS accounts, pipelines in the hub's ``scheduled/`` folder, users with known passwords, and
calls to the scheduler service with a user's own hub token.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import requests

from tests.support.hub import (
    Hub,
    hub_api,
    interpreter_reachable,
    login,
    remove_os_user,
    run_cli,
    start_hub,
)

SCHEDULER = "/services/scheduler/api/jobs"


def write_pipeline(
    scheduled: Path, name: str, owner: str, cells: list[str], *, audience: str = ""
) -> Path:
    """``scheduled/NAME``: one task running a notebook of a ``parameters`` cell, then ``cells``."""
    folder = scheduled / name
    folder.mkdir(parents=True, exist_ok=True)
    spec = f"description: {name}\nowner: {owner}\ndefaults: {{kernel: python3}}\n"
    if audience:
        spec += f"audience: {audience}\n"
    spec += "tasks:\n  - {name: main, notebook: main.ipynb}\n"
    (folder / "pipeline.yaml").write_text(spec)
    params = nbformat.v4.new_code_cell("label = 'run'")
    params.metadata["tags"] = ["parameters"]
    code = [nbformat.v4.new_code_cell(src) for src in cells]
    nb = nbformat.v4.new_notebook(cells=[params, *code])
    nbformat.write(nb, folder / "main.ipynb")
    return folder


def wait_for(what: str, check: Callable[[], Any], timeout: float, log: Callable[[], str]) -> Any:
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
    raise AssertionError(f"{what} not reached in {timeout}s ({last!r})\n{log()[-6000:]}")


@dataclass
class Deployment:
    hub: Hub
    passwords: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def scheduled(self) -> Path:
        return self.hub.home / "scheduled"

    def add(self, name: str, group: str) -> str:
        password = "pw-" + name
        run_cli(self.hub.home, "users", "add", name, "--group", group, "--password", password)
        self.passwords[name] = password
        return name

    def login(self, name: str) -> requests.Session:
        return login(self.hub, name, self.passwords[name])

    def token(self, name: str, session: requests.Session | None = None) -> str:
        """A hub token the user makes for themself, with their browser session."""
        if name not in self.tokens:
            session = session or self.login(name)
            made = hub_api(session, self.hub, "POST", f"/users/{name}/tokens")
            assert made.status_code == 201, (made.status_code, made.text)
            self.tokens[name] = made.json()["token"]
        return self.tokens[name]

    def scheduler(self, user: str, method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(
            method,
            f"{self.hub.url}{SCHEDULER}/{path}",
            headers={"Authorization": f"token {self.token(user)}"},
            json=body if method != "GET" else None,
            allow_redirects=False,
            timeout=30,
        )

    def run_detail(self, user: str, run_id: str) -> dict[str, Any]:
        resp = self.scheduler(user, "GET", f"runs/{run_id}")
        assert resp.status_code == 200, (resp.status_code, resp.text)
        return dict(resp.json())

    def wait_finished(self, user: str, run_id: str, timeout: float = 180) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            detail = self.run_detail(user, run_id)
            return detail if detail["run"]["state"] not in ("queued", "running") else None

        return dict(wait_for(f"run {run_id} finished", done, timeout, self.hub.log))


def _os_user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def processes_on(home: Path) -> list[int]:
    """Pids of processes whose environment has ``WORKSPACE_HOME=home`` (the hub's services,
    their workers and kernels, user servers)."""
    needle = f"WORKSPACE_HOME={home}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
    return pids


@contextlib.contextmanager
def deployment(
    *, services: str, demo: bool, setup: Callable[[Path], None] | None = None
) -> Iterator[Deployment]:
    """A ``workspace hub`` on a fresh home (0755; the demo lake if ``demo``) with ``services``.

    ``setup(scheduled)`` writes pipelines into the hub's pipelines folder before the hub and
    its scheduler start. Teardown stops the hub, removes the users' OS accounts, and kills
    whatever still runs on this home.
    """
    home = Path(tempfile.mkdtemp(prefix="ws-hub-demo-"))
    os.chmod(home, 0o755)
    (home / "scheduled").mkdir()
    if setup is not None:
        setup(home / "scheduled")
    hub: Hub | None = None
    dep: Deployment | None = None
    # The hub's first start makes the OS account `admin`; leave one that existed before (a
    # hub somebody else runs on this machine may use it).
    admin_existed = _os_user_exists("admin")
    try:
        if demo:
            run_cli(home, "demo", "--scale", "0.01", "--no-notebooks")
        with interpreter_reachable():
            hub = start_hub(home, services=services)
            dep = Deployment(hub=hub)
            if "scheduler" in services:
                url = f"{hub.url}{SCHEDULER}/pipelines"
                wait_for(
                    "scheduler service",
                    lambda: requests.get(url, timeout=5).status_code == 401,
                    90,
                    hub.log,
                )
            yield dep
    finally:
        if hub is not None:
            hub.stop()
        names = list(dep.passwords) if dep else []
        if (home / "hub" / "admin-password").exists() and not admin_existed:
            names.append("admin")
        for name in names:
            remove_os_user(name)
        for pid in processes_on(home):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        shutil.rmtree(home, ignore_errors=True)
