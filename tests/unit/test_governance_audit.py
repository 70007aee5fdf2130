"""The audit trail's chain, its tamper detection, its queries and ``workspace audit``.

The trail is a real SQLite file in a temporary workspace home; tampering is done the way an
attacker with the file would do it: raw ``sqlite3`` after dropping the triggers.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from workspace.cli.main import cli
from workspace.governance.audit import (
    AuditQuery,
    failed_login_burst,
    record,
    trail,
    writable_trail,
)
from workspace.lake.settings import Settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    return home


def _fill(n: int = 6) -> None:
    for i in range(1, n + 1):
        record("ana" if i % 2 else "bob", "trigger", f"pipeline:p{i % 3}", run_id=f"r{i}")


def _tamper(home: Path, *sql: str) -> None:
    with sqlite3.connect(home / "audit" / "audit.sqlite") as con:
        con.execute("DROP TRIGGER IF EXISTS events_no_update")
        con.execute("DROP TRIGGER IF EXISTS events_no_delete")
        for statement in sql:
            con.execute(statement)


def test_the_chain_verifies_and_the_store_is_private(home: Path) -> None:
    _fill()
    result = trail().verify()
    assert result.ok and result.checked == 6 and result.last_seq == 6
    folder = home / "audit"
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "audit.sqlite").stat().st_mode & 0o777 == 0o600
    events = trail().query(AuditQuery(limit=10))
    assert [e.seq for e in events] == [6, 5, 4, 3, 2, 1]
    assert events[-1].prev_hash == "0" * 64 and events[0].prev_hash == events[1].hash


def test_triggers_refuse_update_and_delete(home: Path) -> None:
    _fill(2)
    with sqlite3.connect(home / "audit" / "audit.sqlite") as con:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("UPDATE events SET actor = 'eve' WHERE seq = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            con.execute("DELETE FROM events WHERE seq = 2")


@pytest.mark.parametrize(
    ("sql", "seq", "reason"),
    [
        (['UPDATE events SET details = \'{"run_id":"forged"}\' WHERE seq = 3'], 3, "changed"),
        (["DELETE FROM events WHERE seq = 4"], 4, "missing"),
        (["DELETE FROM events WHERE seq = 6"], 6, "anchor"),  # cut off the end
        (  # swap two entries' contents: each keeps its seq
            [
                "UPDATE events SET seq = -2 WHERE seq = 2",
                "UPDATE events SET seq = 2 WHERE seq = 3",
                "UPDATE events SET seq = 3 WHERE seq = -2",
            ],
            2,
            "",
        ),
    ],
    ids=["changed", "deleted", "truncated", "reordered"],
)
def test_tampering_is_detected_with_the_entry_named(
    home: Path, sql: list[str], seq: int, reason: str
) -> None:
    _fill()
    _tamper(home, *sql)
    result = trail().verify()
    assert not result.ok and result.broken_seq == seq and reason in result.reason
    out = CliRunner().invoke(cli, ["audit", "verify"])
    assert out.exit_code == 1 and f"broken at entry {seq}" in out.stderr


def test_cli_filters_and_json(home: Path) -> None:
    _fill()
    record("root", "user_add", "user:cy", group="analysts")
    run = CliRunner().invoke(cli, ["audit", "--actor", "ana", "--target", "pipeline:*", "--json"])
    assert run.exit_code == 0, run.output
    rows = json.loads(run.stdout)
    assert [r["details"]["run_id"] for r in rows] == ["r5", "r3", "r1"]
    assert {r["actor"] for r in rows} == {"ana"}
    one = CliRunner().invoke(cli, ["audit", "--action", "user_add", "--since", "1h", "--json"])
    assert [r["target"] for r in json.loads(one.stdout)] == ["user:cy"]
    none = CliRunner().invoke(cli, ["audit", "--since", "2999-01-01", "--json"])
    assert json.loads(none.stdout) == []
    ok = CliRunner().invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 7 entries" in ok.stdout
    bad = CliRunner().invoke(cli, ["audit", "--since", "yesterday"])
    assert bad.exit_code == 2 and "ISO date" in bad.output


def test_a_folder_someone_else_could_rewrite_is_not_used(home: Path) -> None:
    (home / "audit").mkdir(mode=0o755)
    (home / "audit").chmod(0o755)  # not 0700: another account may have prepared it
    assert writable_trail() is None and record("ana", "trigger", "pipeline:x") is None


def test_failed_login_burst_alerts_once(home: Path) -> None:
    settings = Settings.resolve()
    for _ in range(3):
        record("mallory", "login_failed", "user:mallory")
        alert = failed_login_burst("mallory", threshold=3, window=60, settings=settings)
    assert alert is not None and alert.details["kind"] == "failed_logins"
    record("mallory", "login_failed", "user:mallory")
    assert failed_login_burst("mallory", threshold=3, window=60, settings=settings) is None
    alerts = trail().query(AuditQuery(action="security_alert"))
    assert [a.target for a in alerts] == ["user:mallory"]
