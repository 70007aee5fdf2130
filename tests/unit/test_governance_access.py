"""The access lifecycle on a temporary home: the store, the errors, the ACLs it provisions.

Protected tables are root-only folders listed in the protected index, as ``workspace
classify`` leaves them; the grantees are system accounts that exist on every machine
(``daemon``, ``bin``), so the POSIX ACLs are real. The test reading the data *as* the user
is ``tests/integration/test_access_grants.py``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workspace.governance import acl
from workspace.governance.access import AccessService
from workspace.governance.access_policy import AccessDenied, AccessError, AccessNotFound, Caller
from workspace.governance.access_store import AccessStore, AccessStoreError
from workspace.governance.audit import AuditQuery, trail
from workspace.lake.protected import ProtectedEntry, protected_root, write_index
from workspace.lake.settings import Settings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ACLs on root-only trees need root")

ANA, BOB = "daemon", "bin"  # accounts present on every Linux machine
LEGAL = Caller("lee", frozenset({"legal"}))
TABLES = {
    "silver.customers": ("confidential", "owner1"),
    "bronze.customer": ("restricted", "owner1"),
    "gold.payroll": ("restricted", "owner2"),
    "gold.sales": ("internal", "owner2"),
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(home, 0o755)
    s = Settings.resolve(home, user="root")
    entries = {}
    for table, (tier, owner) in TABLES.items():
        protected = tier != "internal"
        entries[table] = ProtectedEntry(table, tier, owner, protected=protected)
        if protected:
            root = protected_root(s, table)
            (root / "data").mkdir(parents=True)
            (root / "data" / "f.parquet").write_text("rows")
            os.chmod(root, 0o700)
    write_index(s, entries)
    return s


@pytest.fixture
def svc(settings: Settings) -> AccessService:
    return AccessService(settings)


def _actions(settings: Settings) -> list[str]:
    return [e.action for e in reversed(trail(settings).query(AuditQuery(limit=100)))]


def test_store_is_root_only_and_keeps_requests_and_grants(settings: Settings) -> None:
    store = AccessStore.of(settings)
    req = store.add_request(ANA, "table:silver.customers", "study", 7)
    decided, grant = store.decide(
        req.id, "approved", "lee", grant=(datetime.now(UTC), datetime.now(UTC))
    )
    assert decided.status == "approved" and grant is not None and grant.request_id == req.id
    folder = settings.home / "governance"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "access.sqlite").stat().st_mode & 0o777 == 0o600
    with pytest.raises(AccessStoreError, match="already decided"):
        store.decide(req.id, "denied", "lee")
    # a second grant of the same target replaces the first: one active grant per target
    store.add_grant(ANA, "table:silver.customers", "lee", 3)
    active = store.grants(user=ANA)
    assert len(active) == 1 and active[0].request_id is None
    assert [g.ended for g in store.grants(user=ANA, active=False)] == [None, "replaced"]


def test_request_approve_provisions_and_revoke_removes(
    svc: AccessService, settings: Settings
) -> None:
    root = protected_root(settings, "silver.customers")
    req = svc.request(Caller(ANA), "silver.customers", "churn study", days=7)
    assert ANA not in acl.readers(root)
    grant = svc.approve(LEGAL, req.id)
    assert grant.tables == ["silver.customers"] and grant.granted_by == "lee"
    assert grant.reason == "churn study" and grant.last_used is None
    assert ANA in acl.readers(root) and ANA in acl.readers(root / "data" / "f.parquet")
    listed = svc.grants(LEGAL, table="silver.customers")
    assert [(g.user, g.granted_by, g.request_id) for g in listed] == [(ANA, "lee", req.id)]
    svc.revoke(LEGAL, ANA, "silver.customers")
    assert ANA not in acl.readers(root) and svc.grants(LEGAL) == []
    assert _actions(settings) == ["access_request", "access_approve", "access_revoke"]


def test_a_tier_grant_covers_its_tables_and_raises_a_security_alert(
    svc: AccessService, settings: Settings
) -> None:
    svc.grant(Caller("root", admin=True), BOB, "restricted", days=1)
    for table in ("bronze.customer", "gold.payroll"):
        assert BOB in acl.readers(protected_root(settings, table))
    assert BOB not in acl.readers(protected_root(settings, "silver.customers"))
    alerts = trail(settings).query(AuditQuery(action="security_alert"))
    assert alerts and alerts[0].details["kind"] == "restricted_grant"
    # a table grant inside the granted tier: revoking it keeps the tier's access
    svc.grant(LEGAL, BOB, "gold.payroll")
    svc.revoke(LEGAL, BOB, "gold.payroll")
    assert BOB in acl.readers(protected_root(settings, "gold.payroll"))


def test_grants_expire_by_themselves(svc: AccessService, settings: Settings) -> None:
    svc.grant(LEGAL, ANA, "silver.customers", days=1)
    svc.grant(LEGAL, BOB, "silver.customers", days=5)
    assert svc.expire() == []
    ended = svc.expire(datetime.now(UTC) + timedelta(days=2))
    assert [g.user for g in ended] == [ANA]
    readers = acl.readers(protected_root(settings, "silver.customers"))
    assert ANA not in readers and BOB in readers
    assert [g.user for g in svc.grants(LEGAL)] == [BOB]
    assert trail(settings).query(AuditQuery(action="access_expire"))[0].details["user"] == ANA


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("silver.nope", AccessNotFound, "Unknown table 'silver.nope'"),
        ("secret", AccessNotFound, "Unknown table or tier 'secret'"),
        ("internal", AccessError, "readable by every workspace user"),
        ("gold.sales", AccessError, "no grant needed"),
    ],
)
def test_unknown_or_open_targets_are_one_line_errors(
    svc: AccessService, name: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        svc.request(Caller(ANA), name, "because", days=3)
    assert "\n" not in str(info.value)


def test_bad_input_and_permissions(svc: AccessService, settings: Settings) -> None:
    with pytest.raises(AccessNotFound, match="Unknown user 'no_such_user_x'"):
        svc.grant(LEGAL, "no_such_user_x", "silver.customers")
    with pytest.raises(AccessNotFound, match="No access request 99"):
        svc.approve(LEGAL, 99)
    with pytest.raises(AccessError, match="Give a reason"):
        svc.request(Caller(ANA), "silver.customers", " ")
    with pytest.raises(AccessError, match="1 to 365 days"):
        svc.request(Caller(ANA), "silver.customers", "study", days=400)
    req = svc.request(Caller(ANA), "silver.customers", "study", days=3)
    with pytest.raises(AccessError, match="already asked"):
        svc.request(Caller(ANA), "silver.customers", "again", days=3)
    with pytest.raises(AccessDenied, match="own access request"):
        svc.approve(Caller(ANA, frozenset({"legal"})), req.id)
    with pytest.raises(AccessDenied, match="its owner owner1, the legal group"):
        svc.approve(Caller(BOB), req.id)
    with pytest.raises(AccessDenied, match="only their own grants"):
        svc.grants(Caller(BOB), user=ANA)
    with pytest.raises(AccessDenied, match="grant yourself"):
        svc.grant(LEGAL, "lee", "silver.customers")
    # the owner approves; a decided request cannot be decided again
    svc.approve(Caller("owner1"), req.id)
    with pytest.raises(AccessError, match="already approved by owner1"):
        svc.deny(LEGAL, req.id)
    # only legal (or an admin) approves a whole tier, even for a table's owner
    tier_req = svc.request(Caller(BOB), "restricted", "audit", days=2)
    with pytest.raises(AccessDenied, match="the legal group or an admin"):
        svc.approve(Caller("owner1"), tier_req.id)
    assert svc.deny(LEGAL, tier_req.id).status == "denied"
    with pytest.raises(AccessNotFound, match=r"no active grant on silver\.customers"):
        svc.revoke(LEGAL, BOB, "silver.customers")
    assert "access_refused" in _actions(settings)


def test_a_stakeholder_gets_no_grant(settings: Settings) -> None:
    hub = settings.home / "hub"
    hub.mkdir()
    (hub / "users.yaml").write_text(
        f"users:\n  {ANA}: {{group: analysts}}\n  {BOB}: {{group: stakeholders}}\n"
    )
    svc = AccessService(settings, server_groups=("analysts", "legal"))
    with pytest.raises(AccessError, match="stakeholders group, who have no server"):
        svc.grant(LEGAL, BOB, "silver.customers")
    with pytest.raises(AccessNotFound, match="not a workspace user"):
        svc.grant(LEGAL, "nobody", "silver.customers")
    assert svc.grant(LEGAL, ANA, "silver.customers").active


def test_the_cli_as_root_acts_directly(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from workspace.cli.main import cli

    monkeypatch.setenv("WORKSPACE_HOME", str(settings.home))
    monkeypatch.delenv("WORKSPACE_SCHEDULER_URL", raising=False)
    run = CliRunner().invoke
    out = run(cli, ["access", "grant", ANA, "silver.customers", "--days", "2"])
    assert out.exit_code == 0 and "until" in out.output, out.output
    listed = json.loads(run(cli, ["access", "list", "--json"]).output)
    assert [(g["user"], g["tables"]) for g in listed] == [(ANA, ["silver.customers"])]
    assert ANA in acl.readers(protected_root(settings, "silver.customers"))
    out = run(cli, ["access", "revoke", ANA, "silver.customers"])
    assert out.exit_code == 0 and ANA not in acl.readers(
        protected_root(settings, "silver.customers")
    )
    out = run(cli, ["access", "approve", "42"])
    assert out.exit_code == 2 and out.output.strip().startswith("Error: No access request 42")
    assert len(out.output.strip().splitlines()) == 1


def test_the_scheduler_upkeep_revokes_grants_whose_time_is_up(settings: Settings) -> None:
    from workspace.jobs.access_upkeep import AccessUpkeep

    store = AccessStore.of(settings)
    svc = AccessService(settings, store=store)
    svc.grant(LEGAL, BOB, "silver.customers", days=3)
    past = datetime.now(UTC) - timedelta(days=2)
    store.add_grant(ANA, "table:silver.customers", "lee", 1, now=past)  # ended a day ago
    svc.sync(ANA)
    assert ANA in acl.readers(protected_root(settings, "silver.customers"))
    done = AccessUpkeep(settings, settings.home / "alerts.yaml").once()
    assert done.expired == 1
    readers = acl.readers(protected_root(settings, "silver.customers"))
    assert ANA not in readers and BOB in readers


def test_a_removed_account_loses_its_grants_and_its_uid_its_acl(settings: Settings) -> None:
    """A later account reusing the uid must not inherit a removed user's ACL entries."""
    import subprocess

    from tests.support.hub import new_user_name, remove_os_user

    name = new_user_name()
    subprocess.run(["useradd", "-M", "-U", name], check=True, capture_output=True)
    try:
        svc = AccessService(settings)
        svc.grant(LEGAL, name, "silver.customers")
        svc.grant(LEGAL, BOB, "silver.customers")
        root = protected_root(settings, "silver.customers")
        assert name in acl.readers(root)
    finally:
        remove_os_user(name)
    assert any(e.split(":")[1].isdigit() for e in acl.get_acl(root))  # the orphan uid
    svc.sync_all()
    assert acl.readers(root) == [BOB]
    assert [g.user for g in svc.grants(LEGAL)] == [BOB]
    ended = svc.grants(LEGAL, user=name, active=False)
    assert [g.ended for g in ended] == ["account removed"]


def test_last_used_comes_from_reads_recorded_by_services(
    svc: AccessService, settings: Settings
) -> None:
    from workspace.governance.audit import record

    svc.grant(LEGAL, ANA, "silver.customers")
    record(ANA, "tier_change", "table:silver.customers", settings=settings)  # not a read
    assert svc.grants(LEGAL)[0].last_used is None
    record(ANA, "preview", "table:silver.customers", settings=settings)
    assert svc.grants(LEGAL)[0].last_used is not None


def test_a_group_grant_follows_the_group_s_members(settings: Settings) -> None:
    """``group:NAME`` reaches every member as a per-user ACL: joiners get it, leavers lose it."""
    import subprocess

    import yaml

    registry = settings.home / "hub" / "users.yaml"
    registry.parent.mkdir()
    for folder in settings.home.parents[1:3]:  # pytest's root-only folders: let accounts pass
        os.chmod(folder, 0o711)

    def groups(**by_user: str) -> None:
        users = {user: {"group": group} for user, group in by_user.items()}
        registry.write_text(yaml.safe_dump({"users": {**users, "lee": {"group": "legal"}}}))

    def reads(user: str) -> bool:  # a plain file read as the real OS account
        data = protected_root(settings, "silver.customers") / "data" / "f.parquet"
        return subprocess.run(["cat", str(data)], user=user, capture_output=True).returncode == 0

    groups(**{ANA: "analysts", BOB: "scientists"})
    svc = AccessService(settings, server_groups=("analysts", "scientists", "legal"))
    root = protected_root(settings, "silver.customers")
    acl.grant_read(root, "nobody")  # a named entry no grant made (the runner's write entry)
    granted = svc.grant(LEGAL, "group:analysts", "silver.customers", days=3)
    assert granted.user == "group:analysts" and granted.members == [ANA]
    assert reads(ANA) and not reads(BOB)
    assert [g.user for g in svc.grants(LEGAL, user=ANA)] == ["group:analysts"]
    groups(**{ANA: "stakeholders", BOB: "analysts"})  # ana leaves, bob joins
    svc.sync_all()
    assert not reads(ANA) and reads(BOB)
    assert "nobody" in acl.readers(root)  # sync_all leaves what grants did not make
    assert svc.grants(LEGAL, user="group:analysts")[0].members == [BOB]
    svc.revoke(LEGAL, "group:analysts", "silver.customers")
    assert not reads(BOB) and acl.readers(root) == ["nobody"]
    svc.grant(LEGAL, "group:analysts", "restricted", days=1)  # a tier, until it expires
    assert BOB in acl.readers(protected_root(settings, "gold.payroll"))
    assert [g.user for g in svc.expire(datetime.now(UTC) + timedelta(days=2))] == ["group:analysts"]
    assert BOB not in acl.readers(protected_root(settings, "gold.payroll"))
    with pytest.raises(AccessError, match="members have no server"):
        svc.grant(LEGAL, "group:stakeholders", "silver.customers")
    with pytest.raises(AccessNotFound, match="Unknown group 'nope'"):
        svc.grant(LEGAL, "group:nope", "silver.customers")
    groups(**{BOB: "legal"})
    with pytest.raises(AccessDenied, match=r"a group you are in \(group:legal\)"):
        svc.grant(Caller(BOB, frozenset({"legal"})), "group:legal", "silver.customers")
    registry.unlink()  # no hub: no groups
    with pytest.raises(AccessError, match="this workspace has no hub users"):
        AccessService(settings).grant(LEGAL, "group:analysts", "silver.customers")


def test_a_deleted_member_of_a_granted_group_leaves_no_uid_behind(settings: Settings) -> None:
    """``userdel`` without ``workspace users remove``: the uid's entries go at the next pass."""
    import subprocess

    from tests.support.hub import new_user_name, remove_os_user

    name = new_user_name()
    subprocess.run(["useradd", "-M", "-U", name], check=True, capture_output=True)
    (settings.home / "hub").mkdir()
    (settings.home / "hub" / "users.yaml").write_text(f"users:\n  {name}: {{group: analysts}}\n")
    svc = AccessService(settings, server_groups=("analysts",))
    root = protected_root(settings, "silver.customers")
    try:
        svc.grant(LEGAL, "group:analysts", "silver.customers")
        assert acl.readers(root) == [name]
    finally:
        remove_os_user(name)
    assert acl.has_orphans(root)
    svc.sync_all()
    assert not acl.has_orphans(root)
    assert acl.readers(root) == acl.readers(root / "data" / "f.parquet") == []
