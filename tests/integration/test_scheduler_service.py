"""``workspace scheduler`` as a service: the loop and the API in one process. A run triggered
over HTTP is executed by the loop, and SIGTERM stops the service cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow


def _call(url: str, token: str, *, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"token {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as resp:  # loopback only
        return json.loads(resp.read())


def test_trigger_over_http_runs_and_sigterm_stops(tmp_path: Path) -> None:
    folder = tmp_path / "scheduled" / "hello"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(
        "defaults: {kernel: python3}\ntasks:\n - {name: greet, notebook: greet.ipynb}\n"
    )
    cells = [
        nbformat.v4.new_code_cell("who = 'world'"),
        nbformat.v4.new_code_cell(
            "from workspace.jobs import output\noutput('greeting', 'hi ' + who)"
        ),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), folder / "greet.ipynb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {
        "WORKSPACE_HOME": str(tmp_path / "home"),
        "WORKSPACE_USER": "svc",
        "WORKSPACE_SCHEDULER_TOKEN": "s3cret-token",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workspace.cli.main",
            "scheduler",
            "--port",
            "0",
            "--scheduled",
            str(tmp_path / "scheduled"),
            "--poll",
            "0.1",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = None
        deadline = time.monotonic() + 60
        while base is None and time.monotonic() < deadline:
            match = re.search(r"API: (http://\S+)/api/jobs/pipelines", proc.stdout.readline())
            base = match.group(1) if match else None
        assert base, "the scheduler did not print its API address"
        api = f"{base}/api/jobs"
        with pytest.raises(urllib.error.HTTPError) as denied:
            _call(f"{api}/pipelines", "wrong")
        assert denied.value.code in (401, 403)
        run = _call(
            f"{api}/pipelines/hello/trigger",
            "s3cret-token",
            method="POST",
            body={"parameters": {"who": "team"}},
        )
        run_id = run.get("run_id") or run["run"]["run_id"]
        state = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            detail = _call(f"{api}/runs/{run_id}", "s3cret-token")
            state = detail["run"]["state"]
            if state in ("succeeded", "failed", "cancelled", "timed_out"):
                break
            time.sleep(0.3)
        assert state == "succeeded", detail
        (task,) = detail["tasks"]
        assert task["outputs"] == {"greeting": "hi team"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
