"""Pipeline runs end to end: real papermill attempts on real kernels through an executor,
state in the real run store."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.notebooks import make_notebook as _nb

from workspace.jobs.execution.executors import SubprocessExecutor
from workspace.jobs.models import RunState
from workspace.jobs.orchestration.orchestrator import RunDriver
from workspace.jobs.spec.pipeline import load_pipeline
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.resolve(tmp_path / "home", user="scheduler")


@pytest.fixture
def store(settings: Settings) -> Iterator[RunStore]:
    s = RunStore.open(settings)
    yield s
    s.close()


@pytest.fixture
def executor() -> Iterator[SubprocessExecutor]:
    ex = SubprocessExecutor()
    ex.start()
    yield ex
    ex.shutdown()


def _pipeline(tmp_path: Path, yaml: str, notebooks: dict[str, tuple[str, str]]) -> Path:
    folder = tmp_path / "scheduled" / "p"
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(yaml)
    for name, (params, body) in notebooks.items():
        _nb(folder / name, params, body)
    return folder


def _run(
    folder: Path,
    store: RunStore,
    executor: SubprocessExecutor,
    settings: Settings,
    **params: object,
) -> tuple[RunDriver, object]:
    pipeline = load_pipeline(folder)
    store.upsert_pipeline(pipeline.name)
    run = store.create_manual_run(pipeline.name, parameters=params)
    driver = RunDriver(pipeline, store, executor, settings=settings, run_id=run.run_id)
    return driver, driver.run(timeout=240)


OUT = "from workspace.jobs import output\n"


def test_outputs_run_if_fan_out_and_fan_in(
    tmp_path: Path, store: RunStore, executor: SubprocessExecutor, settings: Settings
) -> None:
    folder = _pipeline(
        tmp_path,
        """
defaults: {kernel: python3}
concurrency: 2
tasks:
  - {name: gate, notebook: gate.ipynb, parameters: {threshold: 5}}
  - {name: publish, notebook: publish.ipynb, depends_on: [gate],
     run_if: {output: gate.passed, op: "==", value: true}}
  - {name: fanout, notebook: item.ipynb, depends_on: [gate],
     for_each: {values: [1, 2, 3], as: n}}
  - {name: summary, notebook: summary.ipynb, depends_on: [fanout]}
  - {name: after_publish, notebook: publish.ipynb, depends_on: [publish]}
""",
        {
            "gate.ipynb": ("threshold = 0", OUT + "output('passed', threshold > 10)"),
            "publish.ipynb": ("", "print('published')"),
            "item.ipynb": ("n = 0", OUT + "output('square', n * n)"),
            "summary.ipynb": (
                "fanout_outputs = []",
                OUT + "output('total', sum(o['square'] for o in fanout_outputs))",
            ),
        },
    )
    _, detail = _run(folder, store, executor, settings)
    states = {t.task_key: str(t.state) for t in detail.tasks}
    assert states == {
        "gate": "succeeded",
        "publish": "skipped",
        "after_publish": "skipped",
        "fanout[0]": "succeeded",
        "fanout[1]": "succeeded",
        "fanout[2]": "succeeded",
        "summary": "succeeded",
    }
    reasons = {t.task_key: t.reason for t in detail.tasks}
    assert reasons["publish"] == "run_if: gate.passed == True is false (gate.passed was False)"
    assert reasons["after_publish"] == (
        "upstream skipped: publish (run_if: all_success needs success)"
    )
    outputs = {t.task_key: t.outputs for t in detail.tasks}
    assert outputs["summary"] == {"total": 14} and outputs["gate"] == {"passed": False}
    assert detail.run.state == RunState.SUCCEEDED
    assert detail.run.report_path and Path(detail.run.report_path).is_file()
    executed = [Path(a.notebook_path) for a in detail.attempts if a.notebook_path]
    assert len(executed) == 5 and all(p.is_file() for p in executed)


def test_retries_then_failure_handler_and_upstream_failed(
    tmp_path: Path, store: RunStore, executor: SubprocessExecutor, settings: Settings
) -> None:
    counter = tmp_path / "tries.json"
    flaky = (
        "import json, pathlib\n"
        f"p = pathlib.Path({str(counter)!r})\n"
        "n = json.loads(p.read_text()) + 1 if p.exists() else 1\n"
        "p.write_text(json.dumps(n))\n"
        "assert n >= 2, f'flaky: try {n}'\n"
    )
    folder = _pipeline(
        tmp_path,
        """
defaults: {kernel: python3, retries: {count: 1, backoff: 0.2s}}
tasks:
  - {name: flaky, notebook: flaky.ipynb}
  - {name: broken, notebook: broken.ipynb, depends_on: [flaky], retries: 0,
     on_failure: alert.ipynb}
  - {name: downstream, notebook: flaky.ipynb, depends_on: [broken]}
  - {name: cleanup, notebook: alert.ipynb, depends_on: [broken], run_if: any_failed}
""",
        {
            "flaky.ipynb": ("", flaky),
            "broken.ipynb": ("", "raise ValueError('bad data in cell 1')"),
            "alert.ipynb": (
                "failed_task = ''\nfailed_error = ''",
                f"open({str(tmp_path / 'alert.txt')!r}, 'a').write(f'{{failed_task}}: "
                "{failed_error}\\n')",
            ),
        },
    )
    _, detail = _run(folder, store, executor, settings)
    states = {t.task_key: str(t.state) for t in detail.tasks}
    assert states["flaky"] == "succeeded" and json.loads(counter.read_text()) == 2
    assert states["broken"] == "failed"
    assert states["downstream"] == "upstream_failed"
    assert states["cleanup"] == "succeeded"
    assert states["broken.on_failure"] == "succeeded"
    alert = (tmp_path / "alert.txt").read_text().splitlines()
    assert any(line.startswith("broken: ") and "bad data" in line for line in alert)
    assert detail.run.state == RunState.FAILED
    broken = [a for a in detail.attempts if a.task_key == "broken"]
    assert (
        len(broken) == 1 and broken[0].failing_cell == 2 and "ValueError" in (broken[0].error or "")
    )
    flaky_attempts = [a for a in detail.attempts if a.task_key == "flaky"]
    assert [str(a.state) for a in flaky_attempts] == ["failed", "succeeded"]
    for a in detail.attempts:  # every attempt records its log (Dask ones too: executors.py)
        assert a.log_path and a.log_path.endswith("runner.log") and Path(a.log_path).is_file()


def test_repair_reruns_only_failed_tasks_and_dependents_under_the_same_run(
    tmp_path: Path, store: RunStore, executor: SubprocessExecutor, settings: Settings
) -> None:
    flag = tmp_path / "fixed"
    folder = _pipeline(
        tmp_path,
        """
defaults: {kernel: python3}
tasks:
  - {name: ok, notebook: ok.ipynb}
  - {name: fragile, notebook: fragile.ipynb, depends_on: [ok]}
  - {name: after, notebook: ok.ipynb, depends_on: [fragile]}
""",
        {
            "ok.ipynb": ("", OUT + "output('done', True)"),
            "fragile.ipynb": (
                "",
                f"import pathlib\nassert pathlib.Path({str(flag)!r}).exists(), 'file missing'",
            ),
        },
    )
    driver, detail = _run(folder, store, executor, settings)
    states = {t.task_key: str(t.state) for t in detail.tasks}
    assert states == {"ok": "succeeded", "fragile": "failed", "after": "upstream_failed"}
    flag.touch()  # the cause is fixed
    reset = store.repair(driver.run_id, downstream=driver.pipeline.downstream)
    assert sorted(reset) == ["after", "fragile"]
    repaired = RunDriver(
        driver.pipeline, store, executor, settings=settings, run_id=driver.run_id
    ).run(timeout=120)
    assert repaired.run.state == RunState.SUCCEEDED and repaired.run.run_id == driver.run_id
    assert {str(t.state) for t in repaired.tasks} == {"succeeded"}
    by_task: dict[str, list[str]] = {}
    for a in repaired.attempts:
        by_task.setdefault(a.task_key, []).append(str(a.state))
    assert by_task == {
        "ok": ["succeeded"],  # not re-run
        "fragile": ["failed", "succeeded"],  # history kept
        "after": ["succeeded"],
    }


def _flaky_kernel(tmp_path: Path, fails: int) -> Path:
    """A kernel spec ``flaky`` whose first ``fails`` starts die before answering."""
    counter = tmp_path / "kernel-starts"
    code = (
        "import os, sys\n"
        f"p = {str(counter)!r}\n"
        "n = int(open(p).read()) if os.path.exists(p) else 0\n"
        "open(p, 'w').write(str(n + 1))\n"
        f"if n < {fails}: sys.exit(3)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'ipykernel_launcher', '-f', sys.argv[1]])"
    )
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-c", code, "{connection_file}"],
                "display_name": "flaky",
                "language": "python",
            }
        )
    )
    return counter


def test_a_kernel_that_does_not_start_is_retried_without_using_retries(
    tmp_path: Path,
    store: RunStore,
    executor: SubprocessExecutor,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workspace.jobs.orchestration import orchestrator

    monkeypatch.setattr(orchestrator, "INFRA_BACKOFF", 0.0, raising=False)
    counter = _flaky_kernel(tmp_path, fails=2)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    folder = _pipeline(
        tmp_path,
        "defaults: {kernel: flaky, retries: 0}\ntasks: [{name: a, notebook: a.ipynb}]\n",
        {"a.ipynb": ("", "print('ran')")},
    )
    _, detail = _run(folder, store, executor, settings)
    assert counter.read_text() == "3"
    assert detail.run.state == RunState.SUCCEEDED, detail.attempts  # retries: 0, yet it ran
    assert [a.state for a in detail.attempts] == ["lost", "lost", "succeeded"]
    assert all("The kernel did not start" in (a.error or "") for a in detail.attempts[:2])
    said = [e.message for e in detail.events if "infrastructure" in e.message]
    assert len(said) == 2 and "without using one of its retries" in said[0]
    assert "infrastructure retry 2 of 3" in said[1]


def test_kernel_start_failures_are_bounded(
    tmp_path: Path,
    store: RunStore,
    executor: SubprocessExecutor,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from workspace.jobs.orchestration import orchestrator

    monkeypatch.setattr(orchestrator, "INFRA_BACKOFF", 0.0, raising=False)
    _flaky_kernel(tmp_path, fails=100)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    folder = _pipeline(
        tmp_path,
        "defaults: {kernel: flaky, retries: {count: 1, backoff: 0.1s}}\n"
        "tasks: [{name: a, notebook: a.ipynb}]\n",
        {"a.ipynb": ("", "print('ran')")},
    )
    _, detail = _run(folder, store, executor, settings)
    assert detail.run.state == RunState.FAILED
    # 3 free infrastructure retries, then the task's own retry, then it fails
    assert [a.state for a in detail.attempts] == ["lost"] * 3 + ["failed", "failed"]
    assert "The kernel did not start" in (detail.attempts[-1].error or "")
