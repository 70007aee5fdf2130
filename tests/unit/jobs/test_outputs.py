"""workspace.jobs.output: validation, atomic merge, and no-op outside a run."""

from __future__ import annotations

import json

import pytest

from workspace.jobs import output
from workspace.jobs.errors import OutputError
from workspace.jobs.execution.outputs import OUTPUTS_ENV, read_outputs


def test_outside_a_run_returns_the_value(monkeypatch, tmp_path):
    monkeypatch.delenv(OUTPUTS_ENV, raising=False)
    assert output("n", [1, 2]) == [1, 2]
    assert list(tmp_path.iterdir()) == []


def test_round_trip_merges_atomically(monkeypatch, tmp_path):
    path = tmp_path / "attempt" / "outputs.json"
    monkeypatch.setenv(OUTPUTS_ENV, str(path))
    output("a", 1)
    output("b", {"x": [1.5, None, "s"]})
    output("a", 2)
    assert read_outputs(path) == {"a": 2, "b": {"x": [1.5, None, "s"]}}
    assert [p.name for p in path.parent.iterdir()] == ["outputs.json"]


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("1st", 1, "not a valid identifier"),
        ("has space", 1, "not a valid identifier"),
        ("obj", object(), "not JSON-serializable .object"),
        ("nan", float("nan"), "not JSON-serializable"),
        ("big", "x" * 70_000, r"68\.4 KiB of JSON, more than the 64 KiB limit"),
    ],
)
def test_invalid_outputs(monkeypatch, tmp_path, name, value, match):
    monkeypatch.setenv(OUTPUTS_ENV, str(tmp_path / "o.json"))
    with pytest.raises(OutputError, match=match):
        output(name, value)
    assert not (tmp_path / "o.json").exists()


def test_read_outputs_errors(tmp_path):
    assert read_outputs(tmp_path / "none.json") == {}
    (tmp_path / "bad.json").write_text("[1]")
    with pytest.raises(OutputError, match="JSON object"):
        read_outputs(tmp_path / "bad.json")
    (tmp_path / "bad.json").write_text(json.dumps({"a": 1})[:-1])
    with pytest.raises(OutputError, match="corrupt"):
        read_outputs(tmp_path / "bad.json")
