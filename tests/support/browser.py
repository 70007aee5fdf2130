"""Helpers for the browser tests: the running Lab, its REST API, and sidebar panels."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace.cli.lab import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("WORKSPACE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@dataclass
class Lab:
    """A running ``workspace lab``."""

    base: str
    token: str
    home: Path
    scheduled: Path
    proc: subprocess.Popen[str]
    log: Path

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path.lstrip('/')}{sep}token={self.token}"

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call the workspace REST API (``workspace/api/...``) and return its JSON."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url(f"workspace/api/{path}"),
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")

    def put_notebook(self, name: str, cells: list[str]) -> None:
        """Save a notebook of code ``cells`` on the workspace kernel as ``name`` (contents API)."""
        import nbformat

        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nb.metadata["kernelspec"] = {
            "name": "workspace",
            "display_name": "Python (workspace)",
            "language": "python",
        }
        body = json.dumps({"type": "notebook", "format": "json", "content": nb}).encode()
        req = urllib.request.Request(
            self.url(f"api/contents/{name}"), data=body, method="PUT",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        with urllib.request.urlopen(req, timeout=60):
            pass


def wait_http(url: str, proc: subprocess.Popen[str], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"workspace lab exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer at {url}:\n{log.read_text()[-4000:]}")


def open_sidebar(page: Any, panel_id: str) -> None:
    """Show a left-sidebar panel by clicking its tab (panels start hidden after restore)."""
    page.wait_for_selector(f'.jp-SideBar li[data-id="{panel_id}"]', state="attached")
    page.click(f'.jp-SideBar li[data-id="{panel_id}"]')
    page.wait_for_selector(f"#{panel_id}", state="visible")


@contextmanager
def start_lab(root: Path, *, scale: float = 0.01, scheduler: bool = True) -> Iterator[Lab]:
    """Build a demo lake under ``root`` and run ``workspace lab`` on it (as ``make up`` does).

    The pipelines folder is a copy of the repo's ``scheduled/``, so promotions stay in ``root``.
    """
    home, scheduled = root / "home", root / "scheduled"
    shutil.copytree(REPO / "scheduled", scheduled)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "analyst", "JUPYTER_NO_CONFIG": "1"}
    env["PYTHONWARNINGS"] = "ignore"
    demo = [sys.executable, "-m", "workspace.cli.main", "demo", "--scale", str(scale)]
    subprocess.run(demo, env=env, check=True, capture_output=True)
    token = "browser-test-token"
    port = free_port("127.0.0.1", 18950)
    log = root / "lab.log"
    cmd = [sys.executable, "-m", "workspace.cli.main", "lab", "--port", str(port)]
    cmd += ["--token", token, "--scheduled", str(scheduled)]
    if not scheduler:
        cmd.append("--no-scheduler")
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        wait_http(f"{base}api/status?token={token}", proc, log)
        yield Lab(base=base, token=token, home=home, scheduled=scheduled, proc=proc, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def open_notebook(page: Any, lab: Lab, name: str, timeout: float = 90_000) -> Any:
    """Open notebook ``name`` in the Lab and wait until it is the current tab and its kernel
    is idle; return its panel. (The Lab of a browser session restores the tabs of earlier
    tests: waiting only for "Idle" in the status bar could see another notebook's kernel.)"""
    page.goto(lab.url(f"lab/tree/{name}"))
    page.wait_for_function(
        "(name) => [...document.querySelectorAll('.lm-TabBar-tab.lm-mod-current')]"
        ".some(t => t.innerText.includes(name))",
        arg=name,
        timeout=timeout,
    )
    page.wait_for_function(
        "() => /Python \\(workspace\\) \\| Idle/.test("
        "document.querySelector('.jp-StatusBar-Widget, #jp-main-statusbar')?.innerText || '')",
        timeout=timeout,
    )
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")


def run_cell(page: Any, cell: Any, attempts: int = 3, timeout: float = 20_000) -> None:
    """Run ``cell`` (Shift+Enter) and wait until its prompt shows it queued or ran; press
    again if a kernel that was still connecting dropped the request."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(attempts):
        cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        try:
            page.wait_for_function(
                "(c) => /\\[(\\*|\\d+)\\]/.test("
                "c.querySelector('.jp-InputPrompt')?.innerText || '')",
                arg=cell.element_handle(),
                timeout=timeout,
            )
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the cell never ran after {attempts} tries")
