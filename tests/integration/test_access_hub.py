"""Access requests through a real ``workspace hub`` and its scheduler service (issue 13).

The hub's own groups and roles decide: an analyst asks with their hub token, a member of
the new ``legal`` group approves (the hub gives the group a Lab and the scheduler's run
scope; the service reads the group from the hub), the analyst's OS account then opens the
protected file, and a stakeholder, who has no server, can be granted nothing. The protected
table is a root-only tree in the protected index, as ``workspace classify`` leaves it (the
real classification is covered by ``test_access_grants.py``).

Needs root (``useradd``; the hub runs as root).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import run_cli
from tests.support.hub_demo import Deployment, deployment
from workspace.governance import acl
from workspace.lake.protected import ProtectedEntry, protected_root, write_index
from workspace.lake.settings import Settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]
TABLE = "silver.customers"


def _protected_table(scheduled: Path) -> None:
    settings = Settings.resolve(scheduled.parent, user="root")
    write_index(settings, {TABLE: ProtectedEntry(TABLE, "confidential", "admin", "Customers")})
    root = protected_root(settings, TABLE)
    (root / "data").mkdir(parents=True)
    (root / "data" / "part-0.parquet").write_text("Ada Lovelace\n")
    for path, mode in ((root, 0o700), (root / "data", 0o700)):
        path.chmod(mode)
    (root / "data" / "part-0.parquet").chmod(0o600)


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    with deployment(services="scheduler", demo=False, setup=_protected_table) as d:
        d.add("wst_acc_ana", "analysts")
        d.add("wst_acc_lee", "legal")
        d.add("wst_acc_sam", "stakeholders")
        yield d


def _reads(d: Deployment, user: str) -> bool:
    file = protected_root(Settings.resolve(d.hub.home), TABLE) / "data" / "part-0.parquet"
    probe = ["runuser", "-u", user, "--", "cat", str(file)]
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def test_an_analyst_asks_legal_approves_and_the_os_lets_them_read(dep: Deployment) -> None:
    assert not _reads(dep, "wst_acc_ana")
    asked = dep.scheduler(
        "wst_acc_ana", "POST", "access/requests", {"target": TABLE, "reason": "churn study"}
    )
    assert asked.status_code == 201, (asked.status_code, asked.text)
    rid = asked.json()["id"]
    own = dep.scheduler("wst_acc_ana", "POST", f"access/requests/{rid}/approve", {})
    assert own.status_code == 403 and "own access request" in own.json()["error"]
    listed = dep.scheduler("wst_acc_lee", "GET", "access/requests")
    assert [(r["id"], r["can_decide"]) for r in listed.json()["requests"]] == [(rid, True)]
    approved = dep.scheduler("wst_acc_lee", "POST", f"access/requests/{rid}/approve", {})
    assert approved.status_code == 201, (approved.status_code, approved.text)
    assert approved.json()["granted_by"] == "wst_acc_lee"
    assert _reads(dep, "wst_acc_ana")
    revoked = dep.scheduler(
        "wst_acc_lee", "DELETE", f"access/grants?user=wst_acc_ana&target={TABLE}"
    )
    assert revoked.status_code == 200, (revoked.status_code, revoked.text)
    assert not _reads(dep, "wst_acc_ana")


def test_a_stakeholder_is_granted_nothing(dep: Deployment) -> None:
    refused = dep.scheduler(
        "wst_acc_lee", "POST", "access/grants", {"user": "wst_acc_sam", "target": TABLE}
    )
    assert refused.status_code == 400 and "no server" in refused.json()["error"], refused.text
    # an analyst is not an approver of a table they do not own
    other = dep.scheduler(
        "wst_acc_ana", "POST", "access/grants", {"user": "wst_acc_lee", "target": TABLE}
    )
    assert other.status_code == 403, other.text


def test_a_grant_to_a_hub_group_follows_its_members(dep: Deployment) -> None:
    """``group:analysts`` through the hub: members read; moving a user (``workspace users
    add``) takes it away or gives it at once; revocation ends it for every member."""
    granted = dep.scheduler(
        "wst_acc_lee", "POST", "access/grants", {"user": "group:analysts", "target": TABLE}
    )
    assert granted.status_code == 201, (granted.status_code, granted.text)
    assert granted.json()["members"] == ["wst_acc_ana"]
    assert _reads(dep, "wst_acc_ana") and not _reads(dep, "wst_acc_lee")
    mine = dep.scheduler("wst_acc_ana", "GET", "access/grants").json()["grants"]
    assert [g["user"] for g in mine] == ["group:analysts"]
    dep.add("wst_acc_ana", "scientists")  # leaves the group
    assert not _reads(dep, "wst_acc_ana")
    dep.add("wst_acc_ana", "analysts")  # and joins it again
    assert _reads(dep, "wst_acc_ana")
    dep.add("wst_acc_tmp", "analysts")  # a member whose account is then removed
    assert _reads(dep, "wst_acc_tmp")
    run_cli(dep.hub.home, "users", "remove", "wst_acc_tmp", "--delete-home")
    root = protected_root(Settings.resolve(dep.hub.home), TABLE)
    assert acl.readers(root) == acl.readers(root / "data") == ["wst_acc_ana"]
    own_group = dep.scheduler(
        "wst_acc_lee", "POST", "access/grants", {"user": "group:legal", "target": TABLE}
    )
    assert own_group.status_code == 403 and "a group you are in" in own_group.json()["error"]
    revoked = dep.scheduler(
        "wst_acc_lee", "DELETE", f"access/grants?user=group:analysts&target={TABLE}"
    )
    assert revoked.status_code == 200, (revoked.status_code, revoked.text)
    assert not _reads(dep, "wst_acc_ana")
