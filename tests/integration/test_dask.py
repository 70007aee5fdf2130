"""Dask scale-out against real clusters: a LocalCluster and a separately started scheduler.

Every test that takes ``client`` runs twice: against the ``LocalCluster`` that
``workspace.cluster()`` starts, and against a ``dask scheduler`` plus two ``dask worker``
processes reached through ``WORKSPACE_DASK_SCHEDULER``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import workspace
import workspace.scale
from workspace.lake import SchemaMismatchError, Workspace
from workspace.lake.dask_io import table_data_dir
from workspace.scale import ClusterUnavailableError

pytestmark = pytest.mark.slow

DASK = Path(sys.executable).with_name("dask")
#: WORKSPACE_HOME the current cluster's workers were given (conftest clears it in tests).
_cluster_home: dict[str, str] = {}


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([str(DASK), *args], env=env, stdout=out, stderr=subprocess.STDOUT)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """Stop the workers, then the scheduler (workers exit faster while it is still up)."""
    for p in reversed(procs):
        if p.poll() is None:
            p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)


@pytest.fixture(scope="module", params=["local", "scheduler"])
def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A client from ``workspace.cluster()``; its workers know the module's workspace home."""
    home = tmp_path_factory.mktemp("cluster") / "home"
    _cluster_home["home"] = str(home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKSPACE_HOME", str(home))
        mp.setenv("WORKSPACE_USER", "tester")
        mp.delenv("WORKSPACE_DASK_SCHEDULER", raising=False)
        procs: list[subprocess.Popen[bytes]] = []
        try:
            if request.param == "scheduler":
                run = home.parent
                sched_file = run / "scheduler.json"
                env = {**os.environ, "WORKSPACE_HOME": str(home), "WORKSPACE_USER": "tester"}
                procs.append(
                    _start(
                        [
                            "scheduler",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            "0",
                            "--no-dashboard",
                            "--scheduler-file",
                            str(sched_file),
                        ],
                        env,
                        run / "scheduler.log",
                    )
                )
                for i in range(2):
                    procs.append(
                        _start(
                            [
                                "worker",
                                "--scheduler-file",
                                str(sched_file),
                                "--host",
                                "127.0.0.1",
                                "--nthreads",
                                "1",
                                "--memory-limit",
                                "2GiB",
                                "--no-dashboard",
                                "--name",
                                f"w{i}",
                            ],
                            env,
                            run / f"worker{i}.log",
                        )
                    )
                address = _wait_for_scheduler(sched_file, procs[0])
                mp.setenv("WORKSPACE_DASK_SCHEDULER", address)
            c = workspace.cluster(quiet=True)
            c.wait_for_workers(2, timeout=60)
            yield c
        finally:
            workspace.scale.shutdown()
            _stop(procs)


def _wait_for_scheduler(path: Path, proc: subprocess.Popen[bytes]) -> str:
    import json

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {proc.returncode}")
        if path.exists():
            try:
                return str(json.loads(path.read_text())["address"])
            except (ValueError, KeyError):
                pass
        time.sleep(0.1)
    raise TimeoutError("dask scheduler did not write its scheduler file")


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as plain Python values (NA -> None), sorted, independent of dtypes and index."""
    clean = frame.astype(object).where(frame.notna(), None)
    return sorted(clean.itertuples(index=False, name=None), key=repr)


def _sql_rows(ws: Workspace, sql: str) -> list[tuple[Any, ...]]:
    return _rows(ws.con.execute(sql).df())


def _files(ws: Workspace, name: str) -> set[Path]:
    """Every file and folder under the table's data path."""
    return set(table_data_dir(ws.settings, ws.resolve(name)).rglob("*"))


def _orders(n: int, start: int = 0) -> pd.DataFrame:
    ids = range(start, start + n)
    return pd.DataFrame(
        {"id": list(ids), "name": [f"c{i}" for i in ids], "amount": [i * 1.5 for i in ids]}
    )


# -- cluster -----------------------------------------------------------------------------
def test_workers_get_the_workspace_environment(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    homes = client.run(lambda: os.environ.get("WORKSPACE_HOME"))
    assert len(homes) == 2
    assert set(homes.values()) == {_cluster_home["home"]}
    monkeypatch.setenv("WORKSPACE_HOME", _cluster_home["home"])
    monkeypatch.setenv("WORKSPACE_USER", "tester")
    assert workspace.cluster(quiet=True) is client  # reused within the process


def test_unreachable_scheduler_names_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    monkeypatch.setenv("WORKSPACE_DASK_SCHEDULER", address)
    with pytest.raises(ClusterUnavailableError, match=address):
        workspace.scale.cluster(timeout=1, quiet=True)


# -- reading -----------------------------------------------------------------------------
def test_to_dask_equals_sql_after_deletes_and_evolution(client: Any, ws: Workspace) -> None:
    ws.write("gold.orders", _orders(5))
    ws.write("gold.orders", _orders(5, start=5))
    ws.con.execute("DELETE FROM lake.gold.orders WHERE id % 3 = 0")
    before_evolve = ws.history("gold.orders")[-1].snapshot_id
    evolved = _orders(2, start=10).assign(region=["north", None])
    ws.write("gold.orders", evolved, evolve=True)

    ddf = ws.to_dask("gold.orders")
    assert ddf.npartitions == 3
    assert list(ddf.columns) == ["id", "name", "amount", "region"]
    assert _rows(ddf.compute()) == _sql_rows(ws, "SELECT * FROM lake.gold.orders")
    assert ddf["id"].sum().compute() == sum(i for i in range(12) if i % 3)
    assert _rows(ddf[["name"]].compute()) == _sql_rows(ws, "SELECT name FROM lake.gold.orders")

    old = ws.to_dask("gold.orders", at=before_evolve)
    assert list(old.columns) == ["id", "name", "amount"]
    expected = _sql_rows(ws, f"SELECT * FROM lake.gold.orders AT (VERSION => {before_evolve})")
    assert _rows(old.compute()) == expected
    assert len(expected) == 6


def test_to_dask_is_a_pinned_snapshot(client: Any, ws: Workspace) -> None:
    ws.write("sandbox.events", _orders(3))
    ddf = ws.to_dask("events")
    ws.write("sandbox.events", _orders(3, start=3))
    assert len(ddf.compute()) == 3
    assert len(ws.to_dask("events").compute()) == 6


def test_empty_table_gives_an_empty_frame(client: Any, ws: Workspace) -> None:
    ws.con.execute("CREATE TABLE lake.silver.empty (id BIGINT, label VARCHAR)")
    frame = ws.to_dask("silver.empty").compute()
    assert list(frame.columns) == ["id", "label"]
    assert len(frame) == 0


# -- writing -----------------------------------------------------------------------------
def test_dask_write_commits_once(client: Any, ws: Workspace) -> None:
    ws.write("silver.orders", _orders(4))
    snapshots = len(ws.history("silver.orders"))
    ddf = dd.from_pandas(_orders(30, start=4), npartitions=3)

    result = ws.write("silver.orders", ddf, message="dask load")

    assert result.rows == 30
    history = ws.history("silver.orders")
    assert len(history) == snapshots + 1
    assert history[-1].message == "dask load"
    types = {r[0]: r[1] for r in ws.con.execute("DESCRIBE lake.silver.orders").fetchall()}
    assert types == {"id": "BIGINT", "name": "VARCHAR", "amount": "DOUBLE"}
    assert _sql_rows(ws, "SELECT * FROM lake.silver.orders") == _rows(_orders(34))
    assert _rows(ws.to_dask("silver.orders").compute()) == _rows(_orders(34))


def test_dask_write_creates_and_overwrites_sandbox_table(client: Any, ws: Workspace) -> None:
    ddf = dd.from_pandas(_orders(10), npartitions=2)
    ws.write("scratch", ddf)
    types = [r[1] for r in ws.con.execute("DESCRIBE sandbox.main.scratch").fetchall()]
    assert types == ["BIGINT", "VARCHAR", "DOUBLE"]
    ws.write("scratch", ddf[ddf.id < 3], mode="overwrite")
    assert _sql_rows(ws, "SELECT * FROM sandbox.main.scratch") == _rows(_orders(3))
    assert len(ws.history("scratch")) == 2
    staged = {
        p.parent for p in table_data_dir(ws.settings, ws.resolve("scratch")).rglob("*.parquet")
    }
    assert all(d.name.startswith("_dask-") for d in staged)


def test_failing_partition_leaves_table_and_disk_unchanged(client: Any, ws: Workspace) -> None:
    ws.write("gold.orders", _orders(3))
    files, snaps = _files(ws, "gold.orders"), ws.history("gold.orders")

    def explode(part: pd.DataFrame) -> pd.DataFrame:
        if part["id"].min() >= 20:
            raise ValueError("bad partition")
        return part

    ddf = dd.from_pandas(_orders(30, start=3), npartitions=3)
    with pytest.raises(ValueError, match="bad partition"):
        ws.write("gold.orders", ddf.map_partitions(explode, meta=ddf._meta))

    assert ws.history("gold.orders") == snaps
    assert _files(ws, "gold.orders") == files
    assert _sql_rows(ws, "SELECT * FROM lake.gold.orders") == _rows(_orders(3))


def test_schema_mismatch_raises_and_writes_nothing(client: Any, ws: Workspace) -> None:
    ws.write("gold.orders", _orders(3))
    files = _files(ws, "gold.orders")
    ddf = dd.from_pandas(_orders(4).rename(columns={"amount": "total"}), npartitions=2)
    with pytest.raises(SchemaMismatchError, match="total"):
        ws.write("gold.orders", ddf)
    assert _files(ws, "gold.orders") == files

    result = ws.write("gold.orders", ddf, evolve=True)
    assert result.rows == 4
    assert _sql_rows(ws, "SELECT count(*), count(amount), count(total) FROM lake.gold.orders") == [
        (7, 3, 4)
    ]


def test_write_without_a_cluster_uses_local_threads(ws: Workspace) -> None:
    ddf = dd.from_pandas(_orders(6).astype({"id": "int32"}), npartitions=2)
    ws.con.execute("CREATE TABLE lake.silver.small (id BIGINT, name VARCHAR, amount DOUBLE)")
    with dask.config.set(scheduler="threads"):
        ws.write("silver.small", ddf)  # INTEGER data into a BIGINT column
        frame = ws.to_dask("silver.small").compute()
    assert _rows(frame) == _rows(_orders(6))
    assert ws.con.execute("DESCRIBE lake.silver.small").fetchall()[0][1] == "BIGINT"


def test_failing_partition_without_a_cluster_leaves_no_files(ws: Workspace) -> None:
    ws.write("silver.small", _orders(2))
    files, snaps = _files(ws, "silver.small"), ws.history("silver.small")

    def explode(part: pd.DataFrame) -> pd.DataFrame:
        if part["id"].min() == 0:
            raise ValueError("bad partition")
        return part

    ddf = dd.from_pandas(_orders(40), npartitions=4)
    with dask.config.set(scheduler="threads"), pytest.raises(ValueError, match="bad partition"):
        ws.write("silver.small", ddf.map_partitions(explode, meta=ddf._meta))
    time.sleep(0.5)  # any partition still running when the error arrived has ended by now
    assert _files(ws, "silver.small") == files
    assert ws.history("silver.small") == snaps
