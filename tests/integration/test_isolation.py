"""Pipeline code and Dask clusters against other OS accounts (issue 9).

Real OS accounts try what a curious or malicious analyst would: connect to someone else's
Dask cluster (TLS without the cluster's credentials, or plain TCP), open its dashboard, and,
as pipeline code, read service secrets, other users' homes and the service's private files.
Needs root (``useradd``, and the scheduler starts kernels as the runner account).
"""

from __future__ import annotations

import importlib
import json
import os
import pwd
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.support.hub import interpreter_reachable, new_user_name, remove_os_user

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="other OS accounts need root"),
]


def _as_user(name: str, code: str, *, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -c code`` as the OS account ``name``, with a minimal environment."""
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-c", code],
        user=name,
        group=pwd.getpwnam(name).pw_gid,
        extra_groups=[],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def outsider() -> Iterator[str]:
    """An ordinary OS account (another analyst)."""
    name = new_user_name()
    subprocess.run(["useradd", "-m", "-U", name], check=True, capture_output=True)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    try:
        with interpreter_reachable():
            yield name
    finally:
        remove_os_user(name)


@pytest.fixture(scope="module")
def runner() -> Iterator[str]:
    """A runner account made the way ``workspace hub`` makes ``ws-runner``."""
    from workspace.jobs.execution.isolation import ensure_runner_account

    name = new_user_name("wsr_")
    ensure_runner_account(name)
    try:
        yield name
    finally:
        remove_os_user(name)


def test_a_local_cluster_refuses_other_accounts(outsider: str, tmp_path: Path) -> None:
    from workspace.lake.settings import Settings
    from workspace.scale import cluster, shutdown

    settings = Settings.resolve(home=tmp_path / "home", user="owner")
    client = cluster(settings=settings, n_workers=1, quiet=True)
    try:
        # the owner's client works and runs code on the workers
        assert client.submit(lambda: 40 + 2).result(timeout=60) == 42
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:"), address
        port = int(address.rsplit(":", 1)[1])
        probe = f"""
import sys
from distributed import Client
for url in ("tls://127.0.0.1:{port}", "tcp://127.0.0.1:{port}"):
    try:
        c = Client(url, timeout=5)
    except Exception as exc:
        print("refused", url, type(exc).__name__)
    else:
        print("CONNECTED", url, c.run(lambda: __import__("os").getuid()))
"""
        out = _as_user(outsider, probe, timeout=120)
        assert out.stdout.count("refused") == 2, out.stdout + out.stderr
        assert "CONNECTED" not in out.stdout
        # the dashboard is not on any TCP port: only on the owner's private socket
        from workspace.scale.dashboard import socket_path

        sock = socket_path()
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600
        assert sock.stat().st_uid == os.geteuid()
        assert _http_over_unix(sock, "/status").startswith("HTTP/1.1 200")
        cluster_module = importlib.import_module("workspace.scale.cluster")

        active = cluster_module._active
        assert active is not None and active.cluster is not None
        families = {s.family for s in active.cluster.scheduler.http_server._sockets.values()}
        assert families == {socket.AF_UNIX}, families
        denied = _as_user(
            outsider,
            f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(sock)!r})",
        )
        assert "PermissionError" in denied.stderr, denied.stderr
    finally:
        shutdown()


def _http_over_unix(path: Path, url: str) -> str:
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(30)
        s.connect(str(path))
        s.sendall(f"GET {url} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def _notebook(folder: Path, code: str) -> Path:
    params = nbformat.v4.new_code_cell("label = 'x'")
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "workspace", "display_name": "w", "language": "python"}
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    os.chmod(path, 0o644)
    return path


PROBE = """
import json, os, pathlib
from workspace.jobs.execution.outputs import output as set_output
def tries(path):
    try:
        p = pathlib.Path(path)
        (sorted(os.listdir(p)) if p.is_dir() else p.read_bytes())
        return "read"
    except PermissionError:
        return "denied"
set_output("uid", os.getuid())
set_output("groups", os.getgroups())
set_output("env", sorted(os.environ))
set_output("secret", tries(os.environ["PROBE_SECRET"]))
set_output("home", tries(os.environ["PROBE_HOME"]))
set_output("runs", tries(os.environ["PROBE_RUNS"]))
ws.write("silver.isolation_probe", __import__("pandas").DataFrame({"a": [1]}), mode="overwrite")
ws.write("scratch_probe", __import__("pandas").DataFrame({"a": [2]}), mode="overwrite")
"""


def test_pipeline_code_runs_as_the_runner_without_secrets(
    runner: str, outsider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workspace import connect
    from workspace.jobs.execution.context import RunContext
    from workspace.jobs.execution.isolation import (
        RunnerAccount,
        pipeline_sandbox_user,
        prepare_lake,
        prepare_pipeline_sandbox,
    )
    from workspace.jobs.execution.runner import run_notebook
    from workspace.lake.settings import Settings

    base = Path(tempfile.mkdtemp(prefix="ws-isolation-"))
    os.chmod(base, 0o755)
    home, folder = base / "home", base / "pipeline"
    folder.mkdir()
    os.chmod(folder, 0o755)
    secret = base / "service-secret"
    secret.write_text("s3cret")
    os.chmod(secret, 0o600)
    settings = Settings.resolve(home=home, user="root")
    connect(home, user="root").close()  # the lake, made by root as `workspace demo` does
    account = RunnerAccount.lookup(runner)
    assert prepare_lake(settings, account) > 0
    kernel_settings = settings.with_user(pipeline_sandbox_user("probe"))
    prepare_pipeline_sandbox(kernel_settings, account, outsider)
    monkeypatch.setenv("WORKSPACE_RUNNER_USER", runner)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "hub-token-of-the-service")
    monkeypatch.setenv("WORKSPACE_SCHEDULER_TOKEN", "api-token")
    old_umask = os.umask(0o077)  # as the scheduler service runs
    try:
        env = kernel_settings.env() | {
            "PROBE_SECRET": str(secret),
            "PROBE_HOME": pwd.getpwnam(outsider).pw_dir,
            "PROBE_RUNS": str(home / "jobs" / "runs"),
        }
        attempt = home / "jobs" / "runs" / "r1" / "probe" / "g0-attempt-1"
        with interpreter_reachable():
            result = run_notebook(
                _notebook(folder, PROBE),
                parameters={},
                context=RunContext("r1", "probe", "probe"),
                attempt_dir=attempt,
                env=env,
            )
    finally:
        os.umask(old_umask)
    assert result.status == "succeeded", result.error
    out = result.outputs
    assert out["uid"] == account.uid != 0
    assert out["groups"] in ([], [account.gid])
    assert not [k for k in out["env"] if k.startswith("JUPYTERHUB_")], out["env"]
    assert "WORKSPACE_SCHEDULER_TOKEN" not in out["env"]
    assert (out["secret"], out["home"], out["runs"]) == ("denied", "denied", "denied")
    # it wrote the shared lake and its own sandbox; the kernel's scratch folder is gone
    assert {w.table for w in result.writes} == {"silver.isolation_probe", "sandbox.scratch_probe"}
    left = Path(tempfile.gettempdir()).glob("ws-kernel-*")
    assert [p for p in left if p.stat().st_uid == account.uid] == []
    # the attempt's files are the service's alone ...
    for path in [attempt, *attempt.iterdir()]:
        st = path.stat()
        assert st.st_uid == 0, path
    assert stat.S_IMODE(attempt.stat().st_mode) == 0o700
    # ... while the outsider reads the lake the runner wrote, not the pipeline's sandbox
    read = _as_user(
        outsider,
        "import os, json, pathlib\n"
        f"home = pathlib.Path({str(home)!r})\n"
        "res = {}\n"
        "for name, p in {'attempt': home / 'jobs/runs/r1/probe/g0-attempt-1/executed.ipynb',\n"
        "                'sandbox': home / 'sandboxes/pipeline_probe/catalog.sqlite',\n"
        "                'catalog': home / 'lake/catalog.sqlite'}.items():\n"
        "    try:\n"
        "        p.read_bytes(); res[name] = 'read'\n"
        "    except PermissionError:\n"
        "        res[name] = 'denied'\n"
        "print(json.dumps(res))\n",
    )
    seen = json.loads(read.stdout.strip().splitlines()[-1])
    # the outsider is the pipeline's owner here: its group reads the sandbox
    assert seen == {"attempt": "denied", "sandbox": "read", "catalog": "read"}, read.stderr


def test_the_dashboard_is_served_through_the_labs_authenticated_proxy(tmp_path: Path) -> None:
    """``/dask/status`` on the owner's Jupyter server reaches the private socket; without
    the server's token it is refused."""
    import time
    import urllib.error
    import urllib.request

    from tests.support.hub import free_port
    from workspace.lake.settings import Settings
    from workspace.scale import cluster, shutdown

    client = cluster(settings=Settings.resolve(home=tmp_path / "h", user="o"), n_workers=1)
    port, token = free_port(), "dashboard-test-token"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root",
         f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={tmp_path}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/dask/status"
        deadline, body, status = time.monotonic() + 60, b"", 0
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}?token={token}", timeout=10) as resp:
                    status, body = resp.status, resp.read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
        assert status == 200 and b"bokeh" in body.lower(), (status, body[:300])
        try:  # no token: the login page (or a refusal), never the dashboard
            with urllib.request.urlopen(url, timeout=10) as resp:
                where, body = resp.geturl(), resp.read()
            assert "/login" in where and b"bokeh" not in body.lower(), where
        except urllib.error.HTTPError as refused:
            assert refused.code in (401, 403)
        assert client.status == "running"
    finally:
        server.terminate()
        server.wait(30)
        shutdown()
