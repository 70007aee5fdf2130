"""Benchmark: a trivial notebook through run_notebook (incl. report) vs the papermill CLI.

Run with ``.venv/bin/python tests/benchmarks/bench_run.py``. Prints the median of 5 runs of
each and the ratio (goal <= 1.2x), and the same for the ``workspace run`` CLI (a fresh
process that also records the run in a throwaway run store) against the ``papermill`` CLI.
Every run starts a fresh ``python3`` kernel; a warm kernel pool is not implemented.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from workspace.jobs.execution.context import AttemptSpec
from workspace.jobs.execution.executors import SubprocessExecutor
from workspace.jobs.execution.runner import RunContext, run_notebook

REPEAT = 5


def _notebook(folder: Path) -> Path:
    nb = new_notebook(
        cells=[
            new_code_cell("n = 10", metadata={"tags": ["parameters"]}),
            new_code_cell("total = sum(range(n))\nprint(total)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / "trivial.ipynb"
    nbformat.write(nb, path)
    return path


def _time(fn) -> float:
    samples = []
    for i in range(REPEAT):
        start = time.perf_counter()
        fn(i)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        nb = _notebook(folder)
        papermill = str(Path(sys.executable).with_name("papermill"))
        workspace = str(Path(sys.executable).with_name("workspace"))

        def cli(i: int) -> None:
            out = folder / f"pm-{i}.ipynb"
            cmd = [
                papermill,
                str(nb),
                str(out),
                "-k",
                "python3",
                "-p",
                "n",
                "20",
                "--no-progress-bar",
            ]
            subprocess.run(cmd, check=True, capture_output=True)

        def ours(i: int) -> None:
            result = run_notebook(
                nb,
                parameters={"n": 20},
                context=RunContext(f"bench-{i}", "bench", "trivial"),
                attempt_dir=folder / f"attempt-{i}",
                kernel_name="python3",
            )
            assert result.status == "succeeded", result.error
            assert result.report is not None

        def subprocess_executor(i: int) -> None:
            executor = SubprocessExecutor()
            executor.start()
            spec = AttemptSpec(
                nb,
                {"n": 20},
                RunContext(f"sub-{i}", "bench", "trivial"),
                folder / f"sub-{i}",
                kernel_name="python3",
            )
            handle = executor.submit(spec)
            while (result := executor.poll(handle)) is None:
                time.sleep(0.02)
            assert result.status == "succeeded", result.error
            executor.shutdown()

        def workspace_cli(i: int) -> None:
            cmd = [workspace, "run", str(nb), "-p", "n", "20", "-q"]
            env = {**os.environ, "WORKSPACE_HOME": str(folder / "home")}
            subprocess.run(cmd, check=True, capture_output=True, env=env)

        ours(-1)  # warm imports (nbconvert templates, papermill) once, like a long-lived worker
        baseline, measured, cold = _time(cli), _time(ours), _time(subprocess_executor)
        run_cli = _time(workspace_cli)
    print(f"papermill CLI           median of {REPEAT}: {baseline:.3f}s")
    print(f"run_notebook + report   median of {REPEAT}: {measured:.3f}s")
    print(f"ratio                   {measured / baseline:.2f}x (goal <= 1.2x)")
    print(f"SubprocessExecutor      median of {REPEAT}: {cold:.3f}s (fresh interpreter + report)")
    print(f"ratio                   {cold / baseline:.2f}x")
    print(f"workspace run (CLI)     median of {REPEAT}: {run_cli:.3f}s (run store + report)")
    print(f"ratio                   {run_cli / baseline:.2f}x (goal <= 1.2x)")


if __name__ == "__main__":
    main()
