"""Helpers for the browser tests: the running Lab, its REST API, and sidebar panels."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
