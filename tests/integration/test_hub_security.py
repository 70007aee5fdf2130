"""The team deployment against its own users (issue 9): a real ``workspace hub`` with its
scheduler service, real OS accounts, and an analyst who tries raw connections and plain file
reads instead of the APIs.

Needs root (``useradd``; the hub runs servers and the runner account's kernels).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_demo import Deployment, deployment, processes_on, write_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

PROBE = """
import os, pathlib
from workspace.jobs.execution.outputs import output
def tries(path):
    try:
        p = pathlib.Path(path)
        sorted(os.listdir(p)) if p.is_dir() else p.read_bytes()
        return "read"
    except PermissionError:
        return "denied"
home = pathlib.Path(os.environ["WORKSPACE_HOME"])
output("uid", os.getuid())
output("env", sorted(os.environ))
output("hub_dir", tries(home / "hub"))
output("run_store", tries(home / "jobs" / "runs.sqlite"))
output("runs", tries(home / "jobs" / "runs"))
output("root_home", tries("/root"))
"""


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    def setup(scheduled: Path) -> None:
        write_pipeline(scheduled, "whoami", "admin", [PROBE])

    with deployment(services="scheduler", demo=True, setup=setup) as d:
        d.add("wst_sec_ana", "analysts")
        d.add("wst_sec_eng", "engineers")
        yield d


@pytest.fixture(scope="module")
def finished_run(dep: Deployment) -> dict[str, Any]:
    resp = dep.scheduler("wst_sec_eng", "POST", "pipelines/whoami/trigger")
    assert resp.status_code in (200, 201), (resp.status_code, resp.text)
    detail = dep.wait_finished("wst_sec_eng", resp.json()["run_id"])
    assert detail["run"]["state"] == "succeeded", json.dumps(detail, indent=1)[:3000]
    return detail


def _as(user: str, code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        user=user,
        group=pwd.getpwnam(user).pw_gid,
        extra_groups=[],
        env={"PATH": "/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_pipeline_code_runs_as_the_runner_without_the_hub_token(
    finished_run: dict[str, Any],
) -> None:
    outputs = finished_run["outputs"]["main"]
    runner = pwd.getpwnam("ws-runner")
    assert outputs["uid"] == runner.pw_uid != 0
    assert not [k for k in outputs["env"] if k.startswith("JUPYTERHUB_")], outputs["env"]
    # the hub's secrets, the run store, other runs and root's home are out of its reach
    assert [outputs[k] for k in ("hub_dir", "run_store", "runs", "root_home")] == ["denied"] * 4


def test_an_analyst_reads_no_private_state_from_disk(
    dep: Deployment, finished_run: dict[str, Any]
) -> None:
    jobs = dep.hub.home / "jobs"
    private = [p for p in jobs.rglob("*") if p.is_file()]
    assert jobs / "runs.sqlite" in private
    assert any(p.name == "executed.ipynb" for p in private)
    assert any(p.name == "report.html" for p in private)
    code = (
        "import json, os, sys\n"
        "res = {}\n"
        f"for p in {[str(p) for p in private]!r} + [{str(jobs / 'runs')!r}]:\n"
        "    try:\n"
        "        os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1)\n"
        "        res[p] = 'read'\n"
        "    except PermissionError:\n"
        "        res[p] = 'denied'\n"
        "print(json.dumps(res))\n"
    )
    seen = json.loads(_as("wst_sec_ana", code).strip().splitlines()[-1])
    readable = [p for p, how in seen.items() if how != "denied"]
    assert readable == [], readable


def _listening_ports(pids: set[int]) -> set[int]:
    inodes: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:  # LISTEN
                    ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def test_an_analyst_cannot_use_the_schedulers_dask_cluster(
    dep: Deployment, finished_run: dict[str, Any]
) -> None:
    service = {
        pid
        for pid in processes_on(dep.hub.home)
        if Path(f"/proc/{pid}").stat().st_uid == 0
        and b"jupyterhub-singleuser" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    }
    ports = _listening_ports(service)
    # the service API, the Dask scheduler, and a nanny and a worker per core at least
    assert len(ports) >= 3, ports
    # Dask's own protocol: connect (plain TCP, or TLS with no client certificate) and ask the
    # server who it is, as a Client would first do
    code = f"""
import asyncio, json, ssl
from distributed.comm import connect

async def dask(url):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        kw = {{"ssl_context": ctx}} if url.startswith("tls") else {{}}
        comm = await asyncio.wait_for(connect(url, timeout=3, **kw), 6)
        await asyncio.wait_for(comm.write({{"op": "identity", "reply": True}}), 6)
        reply = await asyncio.wait_for(comm.read(), 6)
        return "CONNECTED " + str(reply)[:80]
    except Exception as exc:
        return type(exc).__name__

async def http(port):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3)
        w.write(b"GET /status HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
        body = await asyncio.wait_for(r.read(200000), 6)
        w.close()
        return "DASHBOARD" if b"bokeh" in body.lower() else body[:12].decode(errors="replace")
    except Exception as exc:
        return type(exc).__name__

async def main():
    jobs = {{}}
    for port in {sorted(ports)!r}:
        jobs[f"tcp:{{port}}"] = dask(f"tcp://127.0.0.1:{{port}}")
        jobs[f"tls:{{port}}"] = dask(f"tls://127.0.0.1:{{port}}")
        jobs[f"http:{{port}}"] = http(port)
    values = await asyncio.gather(*jobs.values())
    print(json.dumps(dict(zip(jobs, values))))

asyncio.run(main())
"""
    seen = json.loads(_as("wst_sec_ana", code).strip().splitlines()[-1])
    leaks = {k: v for k, v in seen.items() if v.startswith(("CONNECTED", "DASHBOARD"))}
    assert leaks == {}, seen
    # the Dask scheduler is among the ports, and it refused both ways in
    assert any(v == "CommClosedError" for k, v in seen.items() if k.startswith("tls:")), seen
