"""``workspace.server`` is a jupyter_server ``ExtensionApp`` (issue 10, item 1): configured by
traitlets (``c.WorkspaceServer.*``, the hub's environment as defaults), closed by the server's
stop hook, and loading it imports no handler, DuckDB, pandas or run store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.extension.application import ExtensionApp
from server_client import Fetch, call

from workspace.cli.lab import free_port
from workspace.server.app import WorkspaceServer

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The extension enabled, with the test's ``WorkspaceServer`` traits (indirect param)."""
    return {
        "ServerApp": {"jpserver_extensions": {"workspace.server": True}},
        "WorkspaceServer": getattr(request, "param", {}),
    }


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment the hub gives a user's server, with a scheduler that does not answer."""
    url = f"http://127.0.0.1:{free_port('127.0.0.1', 19400)}/services/scheduler/"
    monkeypatch.setenv("WORKSPACE_SCHEDULER_URL", url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "server-token")
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    return url


def _app(serverapp: Any) -> WorkspaceServer:
    app = serverapp.web_app.settings["workspace_server"]
    assert isinstance(app, WorkspaceServer) and isinstance(app, ExtensionApp)
    return app


@pytest.mark.parametrize(
    "jp_server_config", [{"scheduled_dir": "/srv/pipes", "lake_threads": 2}], indirect=True
)
async def test_traits_configure_the_extension_and_stop_closes_it(
    jp_fetch: Fetch, jp_serverapp: Any, server_home: Path
) -> None:
    app = _app(jp_serverapp)
    assert jp_serverapp.web_app.settings["workspace_scheduled"]() == Path("/srv/pipes")
    assert app.resources is not None and app.resources.executor._max_workers == 2
    status, body = await call(jp_fetch, "GET", "schedule/cron", cron="0 6 * * *")
    assert status == 200, body
    await app.stop_extension()
    with pytest.raises(RuntimeError, match="shutdown"):
        app.resources.executor.submit(print)


async def test_behind_the_hub_the_jobs_routes_forward_by_default(
    jp_fetch: Fetch, server_home: Path, hub_env: str
) -> None:
    status, body = await call(jp_fetch, "GET", "jobs/pipelines")
    assert status == 502 and hub_env in body["error"], body


@pytest.mark.parametrize("jp_server_config", [{"forward_jobs": False}], indirect=True)
async def test_forward_jobs_false_serves_locally_behind_the_hub(
    jp_fetch: Fetch, server_home: Path, hub_env: str
) -> None:
    status, body = await call(jp_fetch, "GET", "jobs/pipelines")
    assert status == 200 and isinstance(body["pipelines"], list), body  # the local store


@pytest.mark.parametrize(
    "jp_server_config", [{"scheduler_url": "http://127.0.0.1:9/sched"}], indirect=True
)
async def test_the_scheduler_url_trait_wins_over_the_environment(
    jp_fetch: Fetch, server_home: Path, hub_env: str
) -> None:
    status, body = await call(jp_fetch, "GET", "jobs/pipelines")
    assert status == 502 and "http://127.0.0.1:9/sched/" in body["error"], body


@pytest.mark.parametrize("jp_server_config", [{"forward_jobs": True}], indirect=True)
async def test_forward_jobs_true_without_a_token_says_what_is_missing(
    jp_fetch: Fetch, server_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSPACE_SCHEDULER_URL", "http://127.0.0.1:9/")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    status, body = await call(jp_fetch, "GET", "jobs/pipelines")
    assert status == 503 and "$JUPYTERHUB_API_TOKEN" in body["error"], body


_MODULES = """
import json, sys
from jupyter_server.serverapp import ServerApp
app = ServerApp()
app.initialize(["--allow-root", "--port=0", "--ServerApp.jpserver_extensions=%s"],
               find_extensions=False)
print(json.dumps(sorted(sys.modules)))
"""


def test_loading_the_extension_imports_no_handler_nor_data_library(tmp_path: Path) -> None:
    code = _MODULES % repr({"workspace.server": True})
    env = {"JUPYTER_CONFIG_DIR": str(tmp_path), "HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout  # fmt: skip
    loaded = set(json.loads(out.strip().splitlines()[-1]))
    assert "workspace.server.app" in loaded
    heavy = ("duckdb", "pandas", "pyarrow", "ibis", "pydantic", "papermill", "nbconvert")
    assert not {m for m in loaded if m.split(".")[0] in heavy}
    ours = {m for m in loaded if m.startswith("workspace.")}
    assert not {m for m in ours if m.startswith(("workspace.jobs", "workspace.api"))}, ours
    assert not {m for m in ours if m.endswith("_handlers")}, ours
