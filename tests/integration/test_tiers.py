"""Confidential tables against a real OS account without a grant (issue 13, tiers).

A temporary home laid out like the team deployment (the shared lake root-owned and
world-readable, a sandbox per user) gets ``silver.customers`` and ``silver.contacts`` with
known names, written in two snapshots; root classifies both confidential with PII masks. An
analyst's OS account then tries every way its account has to read the rows or statistics:
``workspace.connect()``, raw DuckDB on the protected catalog, ``sqlite3`` on it, the Parquet
files. All are refused by the OS; the shared lake keeps no byte of the old snapshots or
statistics; the masked projections are readable and join on the hashed name. After
``acl.grant_read`` the account reads the table through ``workspace.connect()``; after
``acl.revoke_read`` it cannot. Needs root (``useradd``).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.support.hub import interpreter_reachable, new_user_name, remove_os_user

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="other OS accounts need root")]

SECRET = "Zebediah Quux"
PII = {"name": "hash", "phone": "partial", "age": "generalise"}


@dataclass
class Deployment:
    home: Path
    user: str


def _as_user(d: Deployment, code: str) -> dict[str, object]:
    """Run ``code`` as the analyst; it prints one JSON object as its last line."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "PYTHONWARNINGS": "ignore",
        "WORKSPACE_HOME": str(d.home),
        "WORKSPACE_SCHEDULED": "/nonexistent",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        user=d.user,
        group=pwd.getpwnam(d.user).pw_gid,
        extra_groups=[],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    from workspace.governance.classify import classify
    from workspace.lake import Settings, Workspace

    home = Path(tempfile.mkdtemp(prefix="ws-tiers-", dir="/tmp"))
    os.chmod(home, 0o755)
    user = new_user_name()
    subprocess.run(["useradd", "-M", "-U", user], check=True, capture_output=True)
    old = os.umask(0o022)
    try:
        settings = Settings.resolve(home, user="root")
        with Workspace(settings) as ws:
            ws.write("silver.customers", pd.DataFrame({
                "id": [1, 2], "name": [SECRET, "Ana Lima"],
                "phone": ["555-0199", "555-0123"], "age": [37, 52],
            }))  # fmt: skip
            ws.write("silver.customers", pd.DataFrame({
                "id": [3], "name": ["Olu Ade"], "phone": ["555-7777"], "age": [21],
            }))  # fmt: skip
            ws.write("silver.contacts", pd.DataFrame({
                "name": [SECRET, "Olu Ade", "Nobody Else"], "channel": ["mail", "sms", "mail"],
            }))  # fmt: skip
        os.environ["WORKSPACE_SCHEDULED"] = "/nonexistent"
        classify(settings, "silver.customers", "confidential", pii=PII,
                 owner="legal", description="Customers with contact details")  # fmt: skip
        classify(settings, "silver.contacts", "confidential", pii={"name": "hash"})
        sandbox = home / "sandboxes" / user
        sandbox.mkdir(parents=True)
        os.chown(sandbox, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
        os.chmod(sandbox, 0o700)
        with interpreter_reachable():
            yield Deployment(home, user)
    finally:
        os.umask(old)
        os.environ.pop("WORKSPACE_SCHEDULED", None)
        remove_os_user(user)
        shutil.rmtree(home, ignore_errors=True)


def test_the_shared_lake_keeps_nothing_of_a_confidential_table(deployment: Deployment) -> None:
    lake = deployment.home / "lake"
    hits = [p for p in lake.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert hits == []
    # the protected copy does hold it, so the search above could find it
    protected = deployment.home / "protected" / "silver.customers"
    assert any(SECRET.encode() in p.read_bytes() for p in protected.rglob("*.parquet"))
    from workspace.governance import acl

    assert protected.stat().st_uid == 0 and not protected.stat().st_mode & 0o007
    entries = acl.get_acl(protected)
    assert "group::---" in entries and "other::---" in entries, entries
    named = {e.split(":")[1] for e in entries if e.startswith("user:") and e.split(":")[1]}
    assert named <= {os.environ.get("WORKSPACE_RUNNER_USER") or "ws-runner"}, entries
    index = json.loads((deployment.home / "protected" / "index.json").read_text())
    entry = index["tables"]["silver.customers"]
    assert (entry["tier"], entry["owner"], entry["masked"]) == (
        "confidential", "legal", "silver.customers_masked",
    )  # fmt: skip


_PROBE = r"""
import json, sqlite3, duckdb, workspace
from workspace.lake.engine import new_duckdb
out = {}
ws = workspace.connect()
try:
    out["api"] = ws.table("silver.customers").to_pandas()["name"].tolist()
except Exception as exc:
    out["api"] = f"{type(exc).__name__}: {exc}"
try:
    out["sql"] = ws.sql("SELECT name FROM silver.customers").to_pandas()["name"].tolist()
except Exception as exc:
    out["sql"] = f"{type(exc).__name__}: {exc}"
out["masked"] = int(ws.table("silver.customers_masked").count().execute())
out["masked_names"] = ws.table("silver.customers_masked").to_pandas()["name"].tolist()
out["masked_phone"] = sorted(ws.table("silver.customers_masked").to_pandas()["phone"])
out["join"] = int(ws.sql(
    "SELECT count(*) AS n FROM silver.customers_masked c "
    "JOIN silver.contacts_masked k USING (name)"
).to_pandas()["n"].iloc[0])
out["catalog"] = [[t.name, t.classification, t.owner, t.description]
                  for t in ws.catalog.list(layer="silver")]
ws.close()
cat = PROTECTED + "/catalog.sqlite"
con = new_duckdb()
try:
    con.execute(f"ATTACH 'ducklake:sqlite:{cat}' AS p (DATA_PATH '{PROTECTED}/data/', READ_ONLY)")
    out["duckdb"] = con.execute("SELECT name FROM p.silver.customers").fetchall()
except Exception as exc:
    out["duckdb"] = f"{type(exc).__name__}: {exc}"
try:
    db = sqlite3.connect(f"file:{cat}?mode=ro", uri=True)
    out["sqlite"] = db.execute("SELECT min_value FROM ducklake_table_column_stats").fetchall()
except Exception as exc:
    out["sqlite"] = f"{type(exc).__name__}: {exc}"
files = []
for path in FILES:
    try:
        files.append(open(path, "rb").read(4).decode())
    except Exception as exc:
        files.append(type(exc).__name__)
out["files"] = files
from workspace.governance.classify import classify
from workspace.lake import Settings
try:
    classify(Settings.resolve(), "silver.customers", "public", approve=True)
    out["classify"] = "classified"
except Exception as exc:
    out["classify"] = str(exc)
print(json.dumps(out, default=str))
"""


def _probe(d: Deployment) -> dict[str, object]:
    protected = d.home / "protected" / "silver.customers"
    files = [str(p) for p in protected.rglob("*.parquet")] + [str(protected / "catalog.sqlite")]
    code = f"PROTECTED = {str(protected)!r}\nFILES = {files!r}\n" + _PROBE
    return _as_user(d, code)


def test_without_a_grant_nothing_is_readable_but_the_masked_projection(
    deployment: Deployment,
) -> None:
    out = _probe(deployment)
    refusal = "silver.customers is confidential: request access with `workspace access request"
    assert refusal in str(out["api"]), out
    assert refusal in str(out["sql"]), out
    assert "Permission denied" in str(out["duckdb"]) or "unable to open" in str(out["duckdb"])
    assert str(out["sqlite"]).startswith("OperationalError"), out
    assert out["files"] and set(out["files"]) == {"PermissionError"}  # type: ignore[arg-type]
    # the masked projection: every row, no name, phones cut to their last 4 digits
    assert out["masked"] == 3
    assert SECRET not in json.dumps(out["masked_names"])
    assert out["masked_phone"] == ["****0123", "****0199", "****7777"]
    # one salt for the deployment: hashed names join across tables (Zebediah and Olu)
    assert out["join"] == 2
    assert str(out["classify"]).startswith("Only root or the workspace's services may classify")
    # the catalog lists it with its tier, owner and description only
    assert [
        "silver.customers", "confidential", "legal", "Customers with contact details",
    ] in out["catalog"]  # type: ignore[operator]  # fmt: skip


def test_a_grant_opens_the_table_and_a_revocation_closes_it(deployment: Deployment) -> None:
    from workspace.governance import acl
    from workspace.governance.classify import classify
    from workspace.governance.tiers import protected_root, tier_of
    from workspace.lake import Settings

    settings = Settings.resolve(deployment.home)
    assert tier_of(settings, "silver.customers") == "confidential"
    root = protected_root(settings, "silver.customers")
    acl.grant_read(root, deployment.user)
    try:
        granted = _probe(deployment)
        assert SECRET in granted["api"], granted  # type: ignore[operator]
        assert SECRET in granted["sql"], granted  # type: ignore[operator]
        assert set(granted["files"]) == {"PAR1", "SQLi"}  # type: ignore[arg-type]
        # raised to restricted: every file is rewritten encrypted, and the grant holds
        classify(settings, "silver.customers", "restricted")
        encrypted = _probe(deployment)
        assert SECRET in encrypted["api"], encrypted  # type: ignore[operator]
        assert set(encrypted["files"]) == {"PARE", "SQLi"}  # type: ignore[arg-type]
        classify(settings, "silver.customers", "confidential", approve=True)
    finally:
        acl.revoke_read(root, deployment.user)
    revoked = _probe(deployment)
    assert "is confidential" in str(revoked["api"]), revoked
    assert set(revoked["files"]) == {"PermissionError"}  # type: ignore[arg-type]


_KERNEL = r"""
import json, sys, workspace
ws = workspace.connect()
first = ws.table("silver.customers").to_pandas()["name"].tolist()
print(json.dumps({"first": first}), flush=True)
sys.stdin.readline()  # the grant is revoked meanwhile
out = {}
for what, query in (("rows", "SELECT name FROM silver.customers"),
                    ("masked", "SELECT count(*) FROM silver.customers_masked")):
    try:
        out[what] = ws.con.execute(query).fetchall()
    except Exception as exc:
        out[what] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out, default=str), flush=True)
"""


def test_a_running_kernel_loses_the_rows_at_its_next_file_open(deployment: Deployment) -> None:
    from workspace.governance import acl
    from workspace.governance.tiers import protected_root
    from workspace.lake import Settings

    root = protected_root(Settings.resolve(deployment.home), "silver.customers")
    acl.grant_read(root, deployment.user)
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONWARNINGS": "ignore",
           "WORKSPACE_HOME": str(deployment.home),
           "WORKSPACE_SCHEDULED": "/nonexistent"}  # fmt: skip
    kernel = subprocess.Popen(
        [sys.executable, "-c", _KERNEL], user=deployment.user,
        group=pwd.getpwnam(deployment.user).pw_gid, extra_groups=[], env=env, cwd="/",
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert kernel.stdout is not None and kernel.stdin is not None
        first = json.loads(kernel.stdout.readline() or "{}")
        assert SECRET in first.get("first", []), kernel.stderr.read() if kernel.stderr else ""
    finally:
        acl.revoke_read(root, deployment.user)
    out, err = kernel.communicate("go\n", timeout=120)
    after = json.loads(out.strip().splitlines()[-1])
    # DuckDB opens the attached SQLite catalog again for each query: refused by the OS
    assert "unable to open database file" in str(after["rows"]), (after, err)
    assert after["masked"] == [[3]]


def test_a_row_filtered_grant_shows_only_its_rows_and_follows_writes(
    deployment: Deployment,
) -> None:
    from workspace.governance.access import AccessService
    from workspace.governance.access_policy import Caller
    from workspace.governance.row_filters import RowFilterError
    from workspace.lake import Settings, Workspace

    settings = Settings.resolve(deployment.home)
    service = AccessService(settings)
    admin = Caller("root", admin=True)
    with pytest.raises(RowFilterError, match="no column 'region'"):
        service.grant(admin, deployment.user, "silver.customers", rows="region = 'EU'")
    with pytest.raises(RowFilterError, match="is not allowed"):
        service.grant(admin, deployment.user, "silver.customers",
                      rows="age < (SELECT max(age) FROM silver.customers)")  # fmt: skip
    grant = service.grant(admin, deployment.user, "silver.customers", rows="age<40")
    assert grant.rows == "age < 40"
    copy = deployment.home / "protected" / f"silver.customers@{deployment.user}"
    try:
        out = _probe(deployment)
        assert sorted(out["api"]) == sorted([SECRET, "Olu Ade"]), out  # type: ignore[arg-type]
        assert sorted(out["sql"]) == sorted([SECRET, "Olu Ade"]), out  # type: ignore[arg-type]
        # the full table stays closed: raw DuckDB, sqlite3 and the files
        assert "unable to open" in str(out["duckdb"]) or "Permission denied" in str(out["duckdb"])
        assert str(out["sqlite"]).startswith("OperationalError"), out
        assert set(out["files"]) == {"PermissionError"}  # type: ignore[arg-type]
        with Workspace(settings) as ws:  # the writer's hook updates the copy (an append)
            ws.write("silver.customers", pd.DataFrame({
                "id": [4, 5], "name": ["Young Reader", "Old Reader"],
                "phone": ["555-0001", "555-0002"], "age": [30, 61],
            }), mode="append")  # fmt: skip
        after = _probe(deployment)
        young = sorted([SECRET, "Olu Ade", "Young Reader"])
        assert sorted(after["api"]) == young, after  # type: ignore[arg-type]
    finally:
        service.revoke(admin, deployment.user, "silver.customers")
    assert not copy.exists()
    revoked = _probe(deployment)
    assert "is confidential" in str(revoked["api"]), revoked
