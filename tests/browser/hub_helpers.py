"""Shared setup of the browser tests on a real ``workspace hub``: their marks, the deployment
with its users, and a Chromium page logged in as one of them.

Used by test_hub_browser.py and test_access_browser.py (screenshots on failure come from the
``shot_on_failure`` fixture of conftest.py).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub_demo import Deployment, deployment

#: The marks of a hub browser test module (``pytestmark = HUB_MARKS``).
HUB_MARKS = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]


@contextmanager
def hub_with_users(services: str, users: dict[str, str]) -> Iterator[Deployment]:
    """A hub with ``services`` on a demo lake, with ``users`` (name: hub group) added."""
    with deployment(services=services, demo=True) as dep:
        for name, group in users.items():
            dep.add(name, group)
        yield dep


def new_page(browser: Any) -> tuple[Any, Any]:
    """A new browser context (1440x900) and its page; close the context when done."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return context, page


def log_in(page: Any, dep: Deployment, name: str, shot: Path | None = None) -> None:
    """Submit the hub's login form as ``name`` (screenshot of the form to ``shot``)."""
    page.goto(dep.hub.url + "/hub/login")
    page.wait_for_selector("#username_input")
    if shot is not None:
        page.screenshot(path=str(shot))
    page.fill("#username_input", name)
    page.fill("#password_input", dep.passwords[name])
    page.press("#password_input", "Enter")


def open_lab(page: Any, dep: Deployment, name: str, shot: Path | None = None) -> None:
    """Log in; the hub spawns the server (as the user's OS account) and opens the Lab."""
    log_in(page, dep, name, shot)
    page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=150_000)
    page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)


@contextmanager
def lab_page(browser: Any, dep: Deployment, name: str, shot: Path | None = None) -> Iterator[Any]:
    """A page on ``name``'s Lab, logged in through the hub; its context closes afterwards."""
    context, page = new_page(browser)
    try:
        open_lab(page, dep, name, shot)
        yield page
    finally:
        context.close()
