"""``workspace quality scan | pii | history | status``: the documented JSON shapes, the text
output, and clear errors, through the real command line (click's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import workspace
from workspace.cli.main import cli

FINDING_KEYS = {"table", "kind", "column", "severity", "message"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("cli") / "home"
    with workspace.connect(home, user="tester") as ws:
        for day in range(6):
            rows = 200 if day < 5 else 20  # the last commit is small: a volume finding
            ws.write(
                "silver.customers",
                pd.DataFrame(
                    {
                        "id": range(day * 1000, day * 1000 + rows),
                        "email": [f"c{i}@example.org" for i in range(rows)],
                        "segment": ["a", "b"] * (rows // 2),
                    }
                ),
            )
    return {"WORKSPACE_HOME": str(home), "WORKSPACE_USER": "tester"}


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["quality", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_scan_json(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "scan", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["tables"] == ["silver.customers"]
    assert all(set(f) >= FINDING_KEYS for f in data["findings"])
    kinds = {(f["kind"], f["column"], f["severity"]) for f in data["findings"]}
    assert {("volume", None, "warn"), ("pii", "email", "warn")} <= kinds
    assert all(f["table"] == "silver.customers" for f in data["findings"])


def test_scan_text_and_as_of(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "scan", "silver.customers", "--as-of", "2030-01-01T00:00:00")
    assert code == 0
    assert "WARN  volume" in out and "1 table scanned" in out
    code, _, err = _run(env, "scan", "--as-of", "yesterday")
    assert code == 2 and "is not an ISO time" in err
    code, _, err = _run(env, "scan", "gold.nope")
    assert code == 2 and "gold.nope" in err and "Traceback" not in err


def test_pii_json_and_review(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "pii", "silver.customers", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["table"] == "silver.customers"
    (email,) = data["columns"]
    assert {"column", "kind", "share"} <= set(email)
    assert (email["column"], email["kind"], email["share"], email["status"]) == (
        "email", "email", 1.0, "suggested",
    )  # fmt: skip
    assert email["example"].endswith("@e******.org") and "example" not in email["example"]
    code, out, _ = _run(env, "pii", "silver.customers", "--confirm", "email")
    assert code == 0 and "confirmed" in out
    code, _, err = _run(env, "pii", "silver.customers", "--dismiss", "segment")
    assert code == 2 and "was not detected as PII" in err


def test_history_json_and_text(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "history", "silver.customers", "--json")
    assert code == 0
    commits = json.loads(out)["commits"]
    assert [c["rows_added"] for c in commits] == [200] * 5 + [20]
    assert {"snapshot_id", "committed_at", "rows_total", "bytes", "columns"} <= set(commits[0])
    code, out, _ = _run(env, "history", "silver.customers", "--column", "segment")
    assert code == 0 and "segment: nulls 0.0%" in out and "top a 50%" in out


def test_status_json(env: dict[str, str]) -> None:
    code, out, _ = _run(env, "status", "--json")
    assert code == 0
    (row,) = json.loads(out)["tables"]
    assert set(row) == {
        "table", "health", "commits", "last_commit", "due_by", "findings", "message",
    }  # fmt: skip
    assert (row["table"], row["health"], row["commits"]) == ("silver.customers", "warning", 6)
    code, out, _ = _run(env, "status")
    assert code == 0 and "silver.customers" in out and "warning" in out


def test_sandbox_tables_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    with workspace.connect(env["WORKSPACE_HOME"], user="tester") as ws:
        ws.write("scratch", pd.DataFrame({"x": [1]}))
    code, _, err = _run(env, "history", "scratch")
    assert code == 2 and "quality monitors watch the shared layers" in err
