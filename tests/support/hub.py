"""A real JupyterHub for tests: started with ``workspace hub`` on free loopback ports.

Helpers log in through the login form (``_xsrf``), spawn servers through the hub API with
the browser session, and run code in a real kernel through the proxy (kernel websocket).
Everything runs as root with real OS accounts (``useradd``), named ``wst_`` + random.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import websocket

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def new_user_name(prefix: str = "wst_") -> str:
    return prefix + secrets.token_hex(3)


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env.update({"WORKSPACE_HOME": str(home), "PYTHONWARNINGS": "ignore", **extra})
    return env


def run_cli(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``workspace ARGS`` as a subprocess on ``home``."""
    proc = subprocess.run(
        [sys.executable, "-m", "workspace.cli.main", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"workspace {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@contextlib.contextmanager
def interpreter_reachable() -> Iterator[None]:
    """Let other OS users execute this venv's interpreter, for the test's duration.

    On this machine Python lives under ``/root`` (0700): user servers, which run as the
    users' own accounts, could not start. Grant traverse (not list) on the ancestors that
    lack it, and restore their modes afterwards. A production install puts the venv where
    every user can execute it (``/opt``), see README.
    """
    changed: list[tuple[Path, int]] = []
    target = Path(os.path.realpath(sys.executable))
    for parent in [*reversed(target.parents), Path(sys.prefix)]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            os.chmod(parent, stat.S_IMODE(mode) | stat.S_IXOTH)
            changed.append((parent, stat.S_IMODE(mode)))
    try:
        yield
    finally:
        for path, mode in reversed(changed):
            os.chmod(path, mode)


@dataclass
class Hub:
    """A running ``workspace hub``."""

    home: Path
    port: int
    proc: subprocess.Popen[str]
    log_path: Path
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + "/hub/api"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def admin_token(self) -> str:
        return (self.home / "hub" / "api-token").read_text().strip()

    def api_request(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"token {self.admin_token()}"}
        return requests.request(method, self.api + path, headers=headers, timeout=30, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_hub(
    home: Path, *, services: str = "", timeout: float = 60, env: dict[str, str] | None = None
) -> Hub:
    """Start ``workspace hub`` for ``home`` on free ports and wait until its API answers.

    ``env`` adds environment variables (``WORKSPACE_LOGIN_LOCKOUT_SECONDS``...)."""
    ports = {
        "WORKSPACE_HUB_PORT": free_port(),
        "WORKSPACE_HUB_API_PORT": free_port(),
        "WORKSPACE_PROXY_API_PORT": free_port(),
        "WORKSPACE_SCHEDULER_PORT": free_port(),
        "WORKSPACE_REPORTS_PORT": free_port(),
    }
    env = cli_env(
        home,
        WORKSPACE_HUB_SERVICES=services,
        WORKSPACE_SCHEDULED=str(home / "scheduled"),
        **{k: str(v) for k, v in ports.items()},
        **(env or {}),
    )
    log_path = home / "hub.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "workspace.cli.main", "hub"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    hub = Hub(home, ports["WORKSPACE_HUB_PORT"], proc, log_path, ports)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"workspace hub exited {proc.returncode}:\n{hub.log()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(hub.api + "/", timeout=2).status_code == 200:
                return hub
        time.sleep(0.3)
    hub.stop()
    raise AssertionError(f"hub not ready in {timeout}s:\n{hub.log()}")


# -- a person with a browser ------------------------------------------------------------------
def login(hub: Hub, name: str, password: str) -> requests.Session:
    """Log in through the form (GET for the ``_xsrf`` cookie, then POST); raise on failure."""
    session = requests.Session()
    page = session.get(hub.url + "/hub/login", timeout=30)
    page.raise_for_status()
    xsrf = session.cookies.get("_xsrf", path="/hub/")
    assert xsrf, f"no _xsrf cookie from the login page: {session.cookies}"
    resp = session.post(
        hub.url + "/hub/login",
        data={"username": name, "password": password, "_xsrf": xsrf},
        allow_redirects=False,
        timeout=30,
    )
    if resp.status_code != 302:
        raise LoginFailed(f"login of {name} answered {resp.status_code}")
    # The hub binds a new _xsrf cookie to the new login session on the next page it serves.
    session.get(hub.url + "/hub/home", timeout=30)
    return session


class LoginFailed(AssertionError):
    pass


def hub_api(session: requests.Session, hub: Hub, method: str, path: str) -> requests.Response:
    """A hub API call with the browser's cookies (and its XSRF header, as the hub pages do)."""
    xsrf = session.cookies.get("_xsrf", path="/hub/") or ""
    return session.request(
        method,
        hub.api + path,
        headers={"X-XSRFToken": xsrf, "Content-Type": "application/json"},
        data=b"{}" if method in {"POST", "PATCH"} else None,
        timeout=30,
        allow_redirects=False,
    )


def spawn_and_wait(
    session: requests.Session, hub: Hub, name: str, timeout: float = 90
) -> dict[str, Any]:
    """Ask for ``name``'s server as the logged-in user; wait until ready (the user model)."""
    resp = hub_api(session, hub, "POST", f"/users/{name}/server")
    assert resp.status_code in {201, 202, 400}, (resp.status_code, resp.text)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        model = hub_api(session, hub, "GET", f"/users/{name}").json()
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            return dict(model)
        if not server and time.monotonic() > deadline - timeout + 5:
            raise AssertionError(f"spawn of {name} failed: {model}\n{hub.log()[-4000:]}")
        time.sleep(0.5)
    raise AssertionError(f"server of {name} not ready in {timeout}s\n{hub.log()[-4000:]}")


def open_lab(session: requests.Session, hub: Hub, name: str) -> requests.Response:
    """GET the user's Lab (follows the OAuth handshake with the hub); sets the server cookie."""
    return session.get(f"{hub.url}/user/{name}/lab", timeout=60)


def run_code(
    session: requests.Session, hub: Hub, name: str, code: str, timeout: float = 120
) -> dict[str, Any]:
    """Start a kernel on ``name``'s server through the proxy, run ``code``, return outputs.

    Returns ``{"kernel": name, "status": ok|error, "text": stdout + results, "error": ...}``.
    """
    base = f"{hub.url}/user/{name}"
    xsrf = session.cookies.get("_xsrf", path=f"/user/{name}/") or ""
    headers = {"X-XSRFToken": xsrf}
    resp = session.post(base + "/api/kernels", json={}, headers=headers, timeout=60)
    assert resp.status_code == 201, (resp.status_code, resp.text[:500])
    kernel = resp.json()
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws_url = base.replace("http://", "ws://") + f"/api/kernels/{kernel['id']}/channels"
    conn = websocket.create_connection(
        ws_url, header=[f"Cookie: {cookie}", f"X-XSRFToken: {xsrf}"], timeout=timeout
    )
    try:
        msg_id = uuid.uuid4().hex
        conn.send(
            json.dumps(
                {
                    "header": {
                        "msg_id": msg_id,
                        "username": name,
                        "session": uuid.uuid4().hex,
                        "msg_type": "execute_request",
                        "version": "5.3",
                    },
                    "parent_header": {},
                    "metadata": {},
                    "content": {"code": code, "silent": False, "store_history": False},
                    "channel": "shell",
                }
            )
        )
        text: list[str] = []
        error: dict[str, Any] | None = None
        reply: dict[str, Any] | None = None
        idle = False
        deadline = time.monotonic() + timeout
        while not (idle and reply) and time.monotonic() < deadline:
            msg = json.loads(conn.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            content = msg["content"]
            if kind == "stream":
                text.append(content["text"])
            elif kind in {"execute_result", "display_data"}:
                text.append(content["data"].get("text/plain", ""))
            elif kind == "error":
                error = content
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                reply = content
        assert reply is not None, f"no execute_reply in {timeout}s"
    finally:
        conn.close()
        session.delete(f"{base}/api/kernels/{kernel['id']}", headers=headers, timeout=30)
    return {
        "kernel": kernel["name"],
        "status": reply["status"],
        "text": "".join(text),
        "error": error,
    }


def remove_os_user(name: str) -> None:
    """Remove a test OS account and its home (best effort, for fixture teardown)."""
    subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, check=False)
    subprocess.run(["userdel", "-r", "-f", name], capture_output=True, check=False)
    subprocess.run(["groupdel", name], capture_output=True, check=False)


def run_in_terminal(
    session: requests.Session, hub: Hub, name: str, command: str, timeout: float = 60
) -> str:
    """Open a Lab terminal on ``name``'s server, type ``command``, return what it printed.

    The output is read until a marker echoed after the command appears.
    """
    base = f"{hub.url}/user/{name}"
    xsrf = session.cookies.get("_xsrf", path=f"/user/{name}/") or ""
    headers = {"X-XSRFToken": xsrf}
    resp = session.post(base + "/api/terminals", json={}, headers=headers, timeout=60)
    assert resp.status_code == 200, (resp.status_code, resp.text[:500])
    term = resp.json()["name"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    ws_url = base.replace("http://", "ws://") + f"/terminals/websocket/{term}"
    conn = websocket.create_connection(
        ws_url, header=[f"Cookie: {cookie}", f"X-XSRFToken: {xsrf}"], timeout=timeout
    )
    marker = "END-" + secrets.token_hex(4)
    out: list[str] = []
    try:
        # the marker is printed by the shell, not echoed as typed: split it in the command
        conn.send(json.dumps(["stdin", f"{command}; echo {marker[:4]}''{marker[4:]}\r"]))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(conn.recv())
            if msg[0] == "stdout":
                out.append(msg[1])
                if marker in "".join(out):
                    break
        else:
            raise AssertionError(f"no end marker from the terminal in {timeout}s: {out!r}")
    finally:
        conn.close()
        session.delete(f"{base}/api/terminals/{term}", headers=headers, timeout=30)
    return "".join(out)
