"""run_if decisions, fan-out items, fan-in parameters, state aggregation."""

from __future__ import annotations

import pytest

from workspace.jobs.orchestration.dag import (
    RunIfError,
    aggregate,
    decide,
    expand_items,
    parameters_for,
    task_key,
)
from workspace.jobs.spec.pipeline import Task, parse_pipeline
from workspace.lake.errors import WorkspaceError


def _task(**kw: object) -> Task:
    return Task.model_validate({"name": "t", "notebook": "t.ipynb", "depends_on": ["a", "b"], **kw})


@pytest.mark.parametrize(
    ("run_if", "a", "b", "expected"),
    [
        ("all_success", "succeeded", "succeeded", "run"),
        ("all_success", "succeeded", "failed", "upstream_failed"),
        ("all_success", "succeeded", "timed_out", "upstream_failed"),
        ("all_success", "succeeded", "skipped", "skip"),
        ("all_success", "succeeded", None, "wait"),
        ("all_done", "failed", "skipped", "run"),
        ("all_done", "failed", None, "wait"),
        ("any_failed", "succeeded", "failed", "run"),
        ("any_failed", "succeeded", "succeeded", "skip"),
        ("any_failed", "upstream_failed", "succeeded", "run"),
    ],
)
def test_run_if_rules(run_if: str, a: str | None, b: str | None, expected: str) -> None:
    assert decide(_task(run_if=run_if), {"a": a, "b": b}, {}) == expected


def test_output_conditions() -> None:
    gate = _task(run_if={"output": "a.passed", "op": "==", "value": True})
    ok = {"a": "succeeded", "b": "succeeded"}
    assert decide(gate, ok, {"a": [{"passed": True}]}) == "run"
    assert decide(gate, ok, {"a": [{"passed": False}]}) == "skip"
    assert decide(gate, {"a": "failed", "b": "succeeded"}, {}) == "upstream_failed"
    rows = _task(run_if={"output": "a.rows", "op": ">", "value": 100})
    assert decide(rows, ok, {"a": [{"rows": 150}, {"rows": 101}]}) == "run"
    assert decide(rows, ok, {"a": [{"rows": 150}, {"rows": 5}]}) == "skip"  # every item
    with pytest.raises(RunIfError, match=r"did not publish 'rows'.*it published: other"):
        decide(rows, ok, {"a": [{"other": 1}]})
    with pytest.raises(RunIfError, match="published no outputs"):
        decide(rows, ok, {})
    with pytest.raises(RunIfError, match="cannot compare"):
        decide(rows, ok, {"a": [{"rows": "many"}]})


def test_aggregate_and_keys() -> None:
    assert aggregate(["succeeded", "skipped"]) == "succeeded"
    assert aggregate(["skipped", "skipped"]) == "skipped"
    assert aggregate(["succeeded", "timed_out", "failed"]) == "failed"
    assert aggregate([]) is None and aggregate(["queued"]) is None
    assert task_key("r", 0) == "r[0]"


PIPE = """
parameters: {env_label: prod, scale: 1}
tasks:
  - {name: regions, notebook: r.ipynb, for_each: {values: [AFRICA, ASIA], as: region},
     parameters: {scale: 2}}
  - {name: summary, notebook: s.ipynb, depends_on: [regions]}
"""


def test_fan_out_and_fan_in_parameters() -> None:
    p = parse_pipeline(PIPE, source="x", name="x")
    regions, summary = p.tasks
    items = expand_items(regions, lambda q: [])
    assert items == ["AFRICA", "ASIA"]
    assert parameters_for(p, regions, "ASIA", {}, run_parameters={"scale": 3}) == {
        "env_label": "prod",
        "scale": 2,
        "region": "ASIA",
    }
    outs = {"regions": [{"revenue": 1.0}, {"revenue": 2.0}]}
    assert parameters_for(p, summary, None, outs)["regions_outputs"] == outs["regions"]
    assert expand_items(summary, lambda q: []) == [None]


def test_fan_out_over_a_query_with_a_bound() -> None:
    p = parse_pipeline(
        "tasks:\n - {name: r, notebook: r.ipynb, for_each: {query: 'SELECT x', max_items: 2}}\n",
        source="x",
        name="x",
    )
    (task,) = p.tasks
    assert expand_items(task, lambda q: [("a",), ("b",)]) == ["a", "b"]
    with pytest.raises(WorkspaceError, match="3 items, more than max_items=2"):
        expand_items(task, lambda q: [("a",), ("b",), ("c",)])


def test_skip_and_upstream_failed_reasons_say_what_was_seen() -> None:
    from workspace.jobs.orchestration.dag import explain

    gate = Task(
        name="publish",
        notebook="p.ipynb",
        depends_on=["gate"],
        run_if={"output": "gate.rows", "op": ">", "value": 10},
    )
    assert decide(gate, {"gate": "succeeded"}, {"gate": [{"rows": 3}]}) == "skip"
    why = explain(gate, {"gate": "succeeded"}, {"gate": [{"rows": 3}]}, "skip")
    assert why == "run_if: gate.rows > 10 is false (gate.rows was 3)"
    fan = explain(gate, {"gate": "succeeded"}, {"gate": [{"rows": 30}, {"rows": 3}]}, "skip")
    assert "(gate.rows was [30, 3] (one per item))" in fan
    cleanup = Task(name="c", notebook="c.ipynb", depends_on=["a"], run_if="any_failed")
    assert "no upstream task failed (a: succeeded)" in explain(
        cleanup, {"a": "succeeded"}, {}, "skip"
    )
    plain = Task(name="b", notebook="b.ipynb", depends_on=["a"])
    assert explain(plain, {"a": "failed"}, {}, "upstream_failed") == (
        "upstream task did not succeed (a: failed)"
    )
    assert "upstream skipped: a" in explain(plain, {"a": "skipped"}, {}, "skip")
