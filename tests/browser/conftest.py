"""Browser tests: a real ``workspace lab`` (JupyterLab + the scheduler, as ``make up`` runs
it) on a fresh demo lake, driven by Debian's Chromium through Playwright.

Screenshots are kept in ``build/browser-artifacts/`` (the README's pictures come from there).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.browser import CHROMIUM, CHROMIUM_ARGS, Lab, start_lab

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "build" / "browser-artifacts"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS.glob("FAILED-*.png"):
        stale.unlink()
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """``workspace lab`` with its scheduler on a fresh demo lake and a copy of scheduled/."""
    with start_lab(tmp_path_factory.mktemp("browser")) as running:
        yield running
        if ARTIFACTS.exists():
            shutil.copy(running.log, ARTIFACTS / "lab.log")


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


@pytest.fixture
def shot_on_failure(request: pytest.FixtureRequest, artifacts: Path) -> Iterator[list[Any]]:
    """Pages appended to the list are photographed if the test fails."""
    pages: list[Any] = []
    yield pages
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for i, pg in enumerate(pages):
            name = re.sub(r"\W+", "_", request.node.name)
            pg.screenshot(path=str(artifacts / f"FAILED-{name}-{i}.png"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{rep.when}", rep)


# pytest-jupyter (loaded in the same session by the server tests) adds autouse fixtures that
# take the current event loop and close it at teardown. Playwright's sync API runs its own
# loop, so they fail with "Cannot close a running event loop"; these tests start no Jupyter
# server in-process, so both are shadowed here.
@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield None
