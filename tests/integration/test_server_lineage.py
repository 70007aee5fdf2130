"""Issue 9, item 9: the catalog's table detail lists the table's writers without owning the
run store. Without the hub the store is read read-only (never created, never migrated;
missing or unreadable: no writers); behind the hub the writers come from the scheduler
service, which gives run details only of the caller's own pipelines; when lineage cannot be
had, the detail still answers."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from server_client import USER, Fetch, call, jp_server_config  # noqa: F401 - override
from support.hub import free_port, interpreter_reachable, new_user_name, remove_os_user

from workspace.api.auth import RUN_SCOPE, Identity
from workspace.hub.hub_auth import StaticTokenAuth
from workspace.hub.jobs_api import Served, serve
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.schema import store_path
from workspace.lake.settings import Settings

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]
TOKEN = "lineage-test-token"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_reader_never_creates_nor_migrates_the_run_store(
    jp_fetch: Fetch, fresh_lake: dict[str, int], server_home: Path
) -> None:
    status, detail = await call(jp_fetch, "GET", "catalog/tables/gold.sales")
    assert status == 200 and detail["writers"] == [] and detail["lineage_error"] is None
    assert not store_path(Settings.resolve()).exists()  # not created by browsing
    store = store_path(Settings.resolve())
    store.parent.mkdir(parents=True)
    with closing(sqlite3.connect(store)) as con:  # an empty, never migrated store
        con.execute("PRAGMA user_version = 0")
    before = _digest(store)
    status, detail = await call(jp_fetch, "GET", "catalog/tables/gold.sales")
    assert status == 200 and detail["writers"] == []
    assert _digest(store) == before  # no migration was attempted


def _record_writes(settings: Settings, owners: dict[str, str]) -> None:
    """Pipelines with owners, and one recorded write of ``gold.sales`` by each."""
    with RunStore.open(settings) as store:
        for name, owner in owners.items():
            store.upsert_pipeline(name, owner=owner)
    with closing(sqlite3.connect(store_path(settings))) as con, con:
        for i, name in enumerate(owners, start=1):
            con.execute(
                "INSERT INTO table_writes (attempt_id, run_id, pipeline, task_name, table_name,"
                " snapshot_id, rows, written_at) VALUES (?, ?, ?, 'load', 'gold.sales', ?, 3, ?)",
                (i, f"run-of-{name}", name, i, f"2026-01-0{i}T00:00:00.000000+00:00"),
            )


@pytest.fixture
def scheduler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A scheduler service (its own workspace home and run store) that knows the caller as
    the analyst ``USER``; the Lab server is configured as under the hub."""
    settings = Settings.resolve(tmp_path / "service-home", user="scheduler")
    _record_writes(settings, {"mine": USER, "theirs": "someone_else"})
    auth = StaticTokenAuth(TOKEN, identity=Identity(USER, scopes=frozenset({RUN_SCOPE})))
    served = serve(settings, tmp_path / "scheduled", auth=auth, port=0)
    monkeypatch.setenv("WORKSPACE_SCHEDULER_URL", f"http://127.0.0.1:{served.port}/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    try:
        yield served
    finally:
        served.server.stop()
        served.app.settings["jobs_service"].store.close()


async def test_behind_the_hub_writers_come_from_the_service_as_the_user_sees_them(
    jp_fetch: Fetch, fresh_lake: dict[str, int], scheduler: Served
) -> None:
    status, detail = await call(jp_fetch, "GET", "catalog/tables/gold.sales")
    assert status == 200, detail
    writers = {w["pipeline"]: w for w in detail["writers"]}
    assert writers["mine"]["last_run_id"] == "run-of-mine" and writers["mine"]["runs"] == 1
    assert writers["theirs"] == {
        "pipeline": "theirs", "task": "load", "last_run_id": None, "last_written": None,
        "runs": None,
    }  # fmt: skip
    assert detail["lineage_error"] is None
    # the Lab's own workspace has no run store: nothing was read (or created) locally
    assert not store_path(Settings.resolve()).exists()


async def test_the_detail_survives_a_scheduler_that_does_not_answer(
    jp_fetch: Fetch, fresh_lake: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKSPACE_SCHEDULER_URL", f"http://127.0.0.1:{free_port()}/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:1/hub/api")
    status, detail = await call(jp_fetch, "GET", "catalog/tables/gold.sales")
    assert status == 200 and detail["writers"] == []
    assert "unavailable" in detail["lineage_error"]
    assert detail["columns"] and detail["snippets"]["sql"]


@pytest.mark.skipif(os.geteuid() != 0, reason="creates an OS account (needs root)")
def test_an_account_that_cannot_read_the_store_sees_no_writers(tmp_path: Path) -> None:
    home = Path(tmp_path_root := "/tmp") / f"ws-lineage-{new_user_name('')}"
    settings = Settings.resolve(home, user="root")
    _record_writes(settings, {"mine": "root"})
    os.chmod(home, 0o755)
    os.chmod(store_path(settings).parent, 0o700)  # the service's, as under the hub
    name = new_user_name()
    subprocess.run(["useradd", "--no-create-home", name], check=True, capture_output=True)
    code = (
        "from workspace.jobs.lineage import table_writers; from workspace.lake import Settings;"
        "print(table_writers(Settings.resolve(), 'gold.sales'))"
    )
    try:
        with interpreter_reachable():
            proc = subprocess.run(
                [sys.executable, "-c", code], user=name, group=name, extra_groups=[],
                env={"PATH": os.environ["PATH"], "WORKSPACE_HOME": str(home)}, cwd=tmp_path_root,
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
        assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "[]", "")
    finally:
        remove_os_user(name)
        subprocess.run(["rm", "-rf", str(home)], check=False)
