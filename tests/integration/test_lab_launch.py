"""``workspace lab`` (what ``make up`` runs): prints a URL where JupyterLab answers, with the
"Python (workspace)" kernel as the default and the tour notebooks in place."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from workspace.cli.lab import free_port
from workspace.demo import copy_notebooks


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read()


@pytest.mark.slow
def test_lab_prints_a_working_url(tmp_path: Path) -> None:
    home = tmp_path / "home"
    copy_notebooks(home / "notebooks" / "tour")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "launcher", "JUPYTER_NO_CONFIG": "1"}
    port = free_port("127.0.0.1", 18888)
    cmd = [sys.executable, "-m", "workspace.cli.main", "lab", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert proc.stdout is not None
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            match = re.search(r"Open:\s+(http://\S+)", line)
            url = match.group(1) if match else None
        assert url, "workspace lab did not print a URL"
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/tour/01-ibis-tour.ipynb?token=")
        token = url.split("token=")[1]
        api = f"http://127.0.0.1:{port}/api"
        for _ in range(100):  # Lab takes a few seconds to listen
            try:
                status, _ = _get(f"{api}/status?token={token}")
                break
            except OSError:
                time.sleep(0.2)
        status, body = _get(f"{api}/kernelspecs?token={token}")
        specs = json.loads(body)
        assert specs["default"] == "workspace"
        assert list(specs["kernelspecs"]) == ["workspace"]  # no plain "Python 3" in the Launcher
        assert specs["kernelspecs"]["workspace"]["spec"]["display_name"] == "Python (workspace)"
        status, body = _get(f"{api}/contents/tour?token={token}")
        names = sorted(item["name"] for item in json.loads(body)["content"])
        assert names == ["01-ibis-tour.ipynb", "02-sql-cells.ipynb", "03-dask.ipynb"]
        status, body = _get(url)
        assert status == 200 and b"JupyterLab" in body
        with pytest.raises(urllib.error.HTTPError) as denied:
            _get(f"{api}/contents/tour")  # no token: refused
        assert denied.value.code == 403
        # the pipeline scheduler runs beside the Lab, so triggered runs execute
        children = psutil.Process(proc.pid).children()
        commands = [" ".join(c.cmdline()) for c in children]
        assert any("scheduler" in c for c in commands), commands
        assert any("jupyterlab" in c for c in commands), commands
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    assert all(not c.is_running() or c.status() == psutil.STATUS_ZOMBIE for c in children)
