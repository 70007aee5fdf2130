"""Browser tests: a real ``workspace lab`` (JupyterLab + the scheduler, as ``make up`` runs
it) on a fresh demo lake, driven by Debian's Chromium through Playwright.

Screenshots are kept in ``build/browser-artifacts/`` (the README's pictures come from there).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import Lab, wait_http

from workspace.cli.lab import free_port

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "browser-artifacts"
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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("FAILED-*.png"):
        stale.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``workspace lab`` with its scheduler on a fresh demo lake and a copy of scheduled/."""
    root = tmp_path_factory.mktemp("browser")
    home, scheduled = root / "home", root / "scheduled"
    shutil.copytree(REPO / "scheduled", scheduled)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env |= {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "analyst", "JUPYTER_NO_CONFIG": "1"}
    env["PYTHONWARNINGS"] = "ignore"
    subprocess.run(
        [sys.executable, "-m", "workspace.cli.main", "demo", "--scale", "0.01"],
        env=env,
        check=True,
        capture_output=True,
    )
    token = "browser-test-token"
    port = free_port("127.0.0.1", 18950)
    log = root / "lab.log"
    cmd = [sys.executable, "-m", "workspace.cli.main", "lab", "--port", str(port)]
    cmd += ["--token", token, "--scheduled", str(scheduled)]
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
        shutil.copy(log, ARTIFACTS / "lab.log") if ARTIFACTS.exists() else None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' package "
            "(make test does) or set WORKSPACE_CHROMIUM."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, lab: Lab, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page on the Lab (layout reset), 1440x900; a screenshot is kept on failure."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(lab.url("lab?reset"))
    pg.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        name = re.sub(r"\W+", "_", request.node.name)
        pg.screenshot(path=str(artifacts / f"FAILED-{name}.png"))
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)
