"""Checks declared under a task in pipeline.yaml: validation, the kernel hand-over, the
write hook's results and the task outputs that ``run_if`` tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from workspace.jobs.execution.context import AttemptResult
from workspace.jobs.orchestration.dag import decide
from workspace.jobs.orchestration.task_checks import attempt_outputs, kernel_env
from workspace.jobs.paths import CHECKS_FILE
from workspace.jobs.spec.pipeline import PipelineSpecError, parse_pipeline
from workspace.lake.workspace import Workspace
from workspace.lake.writes import WRITE_LOG_ENV
from workspace.quality import QualityCheckError
from workspace.quality.contract import Contract
from workspace.quality.task_checks import (
    RESULTS_FILE,
    TASK_CHECKS_ENV,
    check_outputs,
    merge_contracts,
    parse_task_checks,
    read_task_results,
    task_checks_env,
)

SOURCE = "scheduled/p/pipeline.yaml"
SPEC = """
tasks:
  - name: silver
    notebook: s.ipynb
    checks:
      silver.orders:
        - {check: not_null, column: id, severity: error}
        - {type: row_count, min: 1}
      sandbox.scratch: [{check: range, column: n, max: 10, severity: warn}]
  - name: gold
    notebook: g.ipynb
    depends_on: [silver]
    run_if: {output: silver.checks.passed, op: "==", value: true}
"""


def _parse(text: str = SPEC):  # type: ignore[no-untyped-def]
    return parse_pipeline(text, source=SOURCE, name="p")


def test_checks_parse_with_the_contract_models() -> None:
    silver = _parse().task("silver")
    assert sorted(silver.checks) == ["sandbox.scratch", "silver.orders"]
    orders = silver.checks["silver.orders"]
    assert isinstance(orders, Contract) and orders.table == "silver.orders"
    assert [(c.name, c.severity) for c in orders.checks] == [
        ("not_null(id)", "error"),
        ("row_count", "error"),  # error is the contracts' default severity
    ]
    assert _parse().task("gold").checks == {}
    gold = _parse().task("gold")
    assert gold.run_if.output == "silver.checks.passed"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (
            "{check: not_nul, column: id}",
            "tasks[0].checks: task silver: checks of silver.orders: checks[0]: check must be "
            "one of not_null, unique",
        ),
        (
            "{check: not_null, colum: id}",
            "checks[0] (not_null).colum: is not a known field",
        ),
        ("{check: range, column: id}", "checks[0] (range): give min, max or both"),
    ],
)
def test_bad_checks_name_the_file_task_table_and_check(bad: str, expected: str) -> None:
    text = SPEC.replace("{check: not_null, column: id, severity: error}", bad)
    with pytest.raises(PipelineSpecError) as err:
        _parse(text)
    assert str(err.value).startswith(f"{SOURCE}: ") and expected in str(err.value)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ("orders", "task silver: checks: 'orders' must name a layer, e.g. silver.orders"),
        ("platinum.orders", "unknown layer 'platinum'"),
    ],
)
def test_checked_tables_need_a_known_layer(table: str, expected: str) -> None:
    with pytest.raises(PipelineSpecError, match=expected):
        _parse(SPEC.replace("silver.orders:", f"{table}:"))


def test_checks_must_be_a_mapping_of_lists() -> None:
    with pytest.raises(PipelineSpecError, match=r"checks of silver\.orders must be a list"):
        _parse(SPEC.replace("      silver.orders:\n", "      silver.orders: 3\n      x:\n"))
    with pytest.raises(PipelineSpecError, match="checks must map each table"):
        parse_pipeline(
            "tasks: [{name: t, notebook: t.ipynb, checks: [not_null]}]", source=SOURCE, name="p"
        )


def test_check_outputs() -> None:
    declared = ["silver.orders", "silver.customers"]
    clean = [
        {"table": "silver.orders", "failed": []},
        {"table": "silver.customers", "failed": []},
    ]
    assert check_outputs(declared, clean) == {
        "checks.passed": True,
        "checks.failed": 0,
        "checks.silver.customers.passed": True,
        "checks.silver.customers.failed": 0,
        "checks.silver.orders.passed": True,
        "checks.silver.orders.failed": 0,
    }
    warned = [*clean, {"table": "silver.orders", "failed": ["a", "b"]}]  # a second write
    out = check_outputs(declared, warned)
    assert (out["checks.passed"], out["checks.failed"]) == (False, 2)
    assert out["checks.silver.orders.passed"] is False
    assert out["checks.silver.customers.passed"] is True
    unwritten = check_outputs(declared, clean[:1])  # a declared table the task never wrote
    assert unwritten["checks.passed"] is False
    assert unwritten["checks.silver.customers.passed"] is False
    assert unwritten["checks.silver.customers.failed"] == 0


@pytest.mark.parametrize(("passed", "expected"), [(True, "run"), (False, "skip")])
def test_run_if_branches_on_check_outputs(passed: bool, expected: str) -> None:
    pipeline = _parse()
    results = [{"table": "silver.orders", "failed": [] if passed else ["not_null(id)"]}]
    results.append({"table": "sandbox.scratch", "failed": []})
    outputs = check_outputs(pipeline.task("silver").checks, results)
    assert decide(pipeline.task("gold"), {"silver": "succeeded"}, {"silver": [outputs]}) == (
        expected
    )


def test_a_declared_check_replaces_the_contracts_check_of_the_same_name() -> None:
    own = Contract.model_validate(
        {
            "key": ["id"],
            "checks": [
                {"type": "not_null", "column": "id", "severity": "warn"},
                {"type": "unique", "columns": "id"},
            ],
        }
    )
    declared = parse_task_checks({"silver.orders": [{"check": "not_null", "column": "id"}]})
    merged = merge_contracts(own, declared["silver.orders"])
    assert merged is not None and merged.key == ["id"]
    assert [(c.name, c.severity) for c in merged.checks] == [
        ("unique(id)", "error"),
        ("not_null(id)", "error"),
    ]
    assert merge_contracts(None, declared["silver.orders"]) is declared["silver.orders"]
    assert merge_contracts(own, None) is own


def test_the_kernel_gets_the_checks_and_the_attempt_gets_the_outputs(tmp_path: Path) -> None:
    assert CHECKS_FILE == RESULTS_FILE
    silver = _parse().task("silver")
    env = kernel_env(silver)
    assert sorted(json.loads(env[TASK_CHECKS_ENV])) == ["sandbox.scratch", "silver.orders"]
    assert kernel_env(silver, handler=True) == {}
    lines = [{"table": "silver.orders", "failed": []}, {"table": "sandbox.scratch", "failed": []}]
    (tmp_path / CHECKS_FILE).write_text("".join(json.dumps(x) + "\n" for x in lines) + '{"cut')
    now = datetime.now(UTC)
    result = AttemptResult("succeeded", now, now, tmp_path, outputs={"rows": 3})
    outputs = attempt_outputs(silver, result)
    assert outputs["rows"] == 3 and outputs["checks.passed"] is True
    assert attempt_outputs(silver, result, handler=True) == {"rows": 3}
    assert attempt_outputs(_parse().task("gold"), result) == {"rows": 3}


def test_a_tasks_checks_run_in_its_writes(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    declared = parse_task_checks(
        {
            "silver.orders": [
                {"check": "not_null", "column": "id"},
                {"check": "range", "column": "id", "max": 10, "severity": "warn"},
            ]
        }
    )
    monkeypatch.setenv(WRITE_LOG_ENV, str(tmp_path / "writes.jsonl"))
    monkeypatch.setenv(TASK_CHECKS_ENV, task_checks_env(declared)[TASK_CHECKS_ENV])
    ws.write("silver.orders", pd.DataFrame({"id": pd.array([1, 2], dtype="Int64")}))
    monkeypatch.setenv("WORKSPACE_PIPELINE", "p")
    monkeypatch.setenv("WORKSPACE_TASK", "silver")
    fix = r"not_null\(id\).* contract scheduled/p/pipeline.yaml \(the checks of task silver\)"
    with pytest.raises(QualityCheckError, match=fix):
        ws.write("silver.orders", pd.DataFrame({"id": pd.array([3, None], dtype="Int64")}))
    ws.write("silver.orders", pd.DataFrame({"id": pd.array([40], dtype="Int64")}))
    ws.write("silver.other", pd.DataFrame({"id": [None]}))  # not declared: not checked
    assert ws.con.execute("SELECT count(*) FROM silver.orders").fetchone() == (3,)
    results = read_task_results(tmp_path / RESULTS_FILE)
    assert [(r["table"], r["outcome"], r["failed"]) for r in results] == [
        ("silver.orders", "passed", []),
        ("silver.orders", "blocked", ["not_null(id)"]),
        ("silver.orders", "warned", ["range(id)"]),
    ]
    monkeypatch.delenv(TASK_CHECKS_ENV)  # outside a task the declared checks do not apply
    ws.write("silver.orders", pd.DataFrame({"id": pd.array([None], dtype="Int64")}))
    assert len(read_task_results(tmp_path / RESULTS_FILE)) == 3
