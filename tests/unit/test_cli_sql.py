"""``workspace sql``: the same runner as the magic, printed for a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import workspace
from workspace.cli.main import cli


@pytest.fixture
def env(ws_home: Path) -> dict[str, str]:
    with workspace.connect(ws_home, user="tester") as ws:
        ws.write("gold.sales", pd.DataFrame({"region": ["n", "s", "n"], "amount": [10, 20, 5]}))
    return {"WORKSPACE_HOME": str(ws_home), "WORKSPACE_USER": "tester"}


def _invoke(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, ["sql", *args], env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_table_format_shows_rows_count_and_time(env: dict[str, str]) -> None:
    code, out, _ = _invoke(
        env, "SELECT region, sum(amount) AS total FROM sales GROUP BY 1 ORDER BY 1"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("|")[0].strip() == "region"
    assert lines[2].split() == ["n", "|", "15"]
    assert lines[3].split() == ["s", "|", "20"]
    assert "2 rows" in out and " ms" in out


def test_csv_format_prints_every_row(env: dict[str, str]) -> None:
    code, out, _ = _invoke(env, "SELECT range AS i, 'a,b' AS s FROM range(100)", "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["i", "s"]
    assert [int(r[0]) for r in rows[1:]] == list(range(100))
    assert {r[1] for r in rows[1:]} == {"a,b"}


def test_json_format_and_params(env: dict[str, str]) -> None:
    code, out, _ = _invoke(
        env,
        "SELECT amount FROM sales WHERE region = $r AND amount > $m ORDER BY 1",
        "--format",
        "json",
        "-p",
        "r=n",
        "-p",
        "m=6",
    )
    assert code == 0, out
    assert json.loads(out) == [{"amount": 10}]


def test_query_from_stdin(env: dict[str, str]) -> None:
    code, out, _ = _invoke(env, "-", "--format", "json", stdin="SELECT 1 AS a;\nSELECT 2 AS b;\n")
    assert code == 0
    assert json.loads(out) == [{"b": 2}]


def test_error_is_one_line_with_exit_code_2(env: dict[str, str]) -> None:
    code, out, err = _invoke(env, "SELECT 1;\nSELECT * FROM nowhere")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "nowhere" in err and "statement 2" in err and "ws.catalog.list()" in err
    assert "Traceback" not in err


def test_real_subprocess(env: dict[str, str]) -> None:
    exe = Path(sys.executable).parent / "workspace"
    proc = subprocess.run(
        [str(exe), "sql", "SELECT sum(amount) AS total FROM gold.sales", "--format", "csv"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["total", "35"]
    bad = subprocess.run(
        [str(exe), "sql", "SELEC 1"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2
    assert (
        bad.stderr.startswith("Error: Parser Error") and len(bad.stderr.strip().splitlines()) == 1
    )
