"""Helpers of the server extension tests: JSON calls through ``jp_fetch`` and the
``jp_server_config`` override that enables ``workspace.server`` (import it into a module)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError

Fetch = Callable[..., Awaitable[Any]]
USER = "tester"


@pytest.fixture
def jp_server_config() -> dict[str, Any]:
    """Enable the extension in the test server."""
    return {"ServerApp": {"jpserver_extensions": {"workspace.server": True}}}


async def call(
    fetch: Fetch, method: str, route: str, /, *, body: Any = None, **params: Any
) -> tuple[int, Any]:
    """``(status, JSON body)`` of a request under ``workspace/api/`` (errors included)."""
    kwargs: dict[str, Any] = {"method": method}
    if params:
        kwargs["params"] = {k: str(v) for k, v in params.items()}
    if method == "POST":
        kwargs["body"] = json.dumps(body if body is not None else {})
    try:
        response = await fetch("workspace", "api", *route.split("/"), **kwargs)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body or b"null")
    text = response.body.decode()
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return response.code, json.loads(text)
    return response.code, text
