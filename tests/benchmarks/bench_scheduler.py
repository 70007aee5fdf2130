"""Benchmark: the scheduler service's latency and throughput, on real python3 kernels.

Run with ``.venv/bin/python tests/benchmarks/bench_scheduler.py [N_TASKS]``. Prints:

1. tick -> task-start latency on a running scheduler (``run_forever`` in a thread, poll
   0.2 s): manual runs are created while others run; latency is the run's creation (the
   tick) to its attempt's ``started_at`` in the store. p50 and p99, and the ratio to the
   anchor, jupyter-scheduler's 10 s poll (expected wait 5 s). Goal: p50 <= 0.5 s.
2. throughput: one run fanning out over N (100) trivial one-cell tasks with concurrency 2,
   driven by ``tick_once``; runs per minute (goal >= 60 on 2 cores), the scheduler's own time
   per dispatched task, and the ratio to the bare executor (the same notebooks, 2 at a time,
   submitted and polled directly) measured in the same run.

A missed goal prints ``MISS`` with the figure.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from workspace.jobs.execution.context import AttemptSpec, RunContext
from workspace.jobs.execution.executors import get_executor
from workspace.jobs.models import RunState
from workspace.jobs.scheduler.loop import Scheduler
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings

ANCHOR_POLL = 10.0  # jupyter-scheduler's poll interval (s)
LATENCY_SAMPLES = 20


def _notebook(path: Path) -> None:
    nb = new_notebook(
        cells=[
            new_code_cell("n = 0", metadata={"tags": ["parameters"]}),
            new_code_cell("print(n)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def _pipeline(root: Path, name: str, extra: str) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    _notebook(folder / "nb.ipynb")
    tasks = "" if "tasks:" in extra else "tasks: [{name: a, notebook: nb.ipynb}]\n"
    (folder / "pipeline.yaml").write_text(f"defaults: {{kernel: python3}}\n{extra}{tasks}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(tmp: Path) -> None:
    root = tmp / "lat" / "scheduled"
    _pipeline(root, "lat", "max_active_runs: 20\nconcurrency: 20\n")
    settings = Settings.resolve(tmp / "lat" / "home", user="bench")
    scheduler = Scheduler(settings, root, executor_name="subprocess", poll_interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=scheduler.run_forever, args=(stop,))
    thread.start()
    store = RunStore.open(settings)
    try:
        while not store.list_pipelines():
            time.sleep(0.05)
        runs = []
        for i in range(LATENCY_SAMPLES):
            runs.append(store.create_manual_run("lat"))
            time.sleep(0.37 + 0.05 * (i % 3))  # not in phase with the poll
        deadline = time.monotonic() + 120
        while any(not store.get_run(r.run_id).state.finished for r in runs):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        lat = []
        for r in runs:
            attempts = store.get_run_detail(r.run_id).attempts
            if attempts:
                lat.append((attempts[0].started_at - r.created_at).total_seconds())
    finally:
        stop.set()
        thread.join(60)
        store.close()
    p50, p99 = statistics.median(lat), _pct(lat, 0.99)
    anchor = ANCHOR_POLL / 2
    print(f"[1] tick -> task start over {len(lat)} runs: p50 {p50:.3f} s, p99 {p99:.3f} s")
    print(f"    anchor jupyter-scheduler (10 s poll, expected {anchor:.1f} s): {anchor / p50:.0f}x")
    print(f"    {'ok' if p50 <= 0.5 else 'MISS'}: goal p50 <= 0.5 s (got {p50:.3f} s)")


def bare_executor(tmp: Path, n: int, name: str = "subprocess") -> float:
    """Tasks per minute of the executor alone, 2 at a time (the baseline)."""
    nb = tmp / "bare.ipynb"
    _notebook(nb)
    executor = get_executor(name)
    executor.start()
    todo, running, done = list(range(n)), list[object](), 0
    start = time.perf_counter()
    while todo or running:
        while todo and len(running) < 2:
            i = todo.pop()
            ctx = RunContext(
                run_id="bare", pipeline="bare", task=f"t{i}", attempt=1,
                logical_date=datetime.now(UTC),
            )  # fmt: skip
            spec = AttemptSpec(
                notebook=nb, parameters={"n": i}, context=ctx,
                attempt_dir=tmp / f"bare-{name}" / str(i),
                kernel_name="python3", timeout=None, env={},
            )  # fmt: skip
            running.append(executor.submit(spec))
        for handle in list(running):
            if executor.poll(handle) is not None:
                running.remove(handle)
                done += 1
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    executor.shutdown()
    return done / elapsed * 60


def throughput(tmp: Path, n: int, executor_name: str = "dask") -> None:
    root = tmp / "tp" / "scheduled"
    values = ", ".join(str(i) for i in range(n))
    _pipeline(
        root,
        "fan",
        f"concurrency: 2\ntasks: [{{name: a, notebook: nb.ipynb, "
        f"for_each: {{values: [{values}], as: n, max_items: {max(n, 1)}}}}}]\n",
    )
    settings = Settings.resolve(tmp / "tp" / "home", user="bench")
    scheduler = Scheduler(settings, root, poll_interval=0.2, executor_name=executor_name)
    scheduler.tick_once()
    run = scheduler.store.create_manual_run("fan")
    loop_time, dispatched = 0.0, 0
    start = time.perf_counter()
    while scheduler.store.get_run(run.run_id).state not in (RunState.SUCCEEDED, RunState.FAILED):
        report = scheduler.tick_once()
        loop_time += report.seconds
        dispatched += report.dispatched
        time.sleep(scheduler.poll_interval)
    elapsed = time.perf_counter() - start
    state = scheduler.store.get_run(run.run_id).state
    scheduler.shutdown()
    per_min = n / elapsed * 60
    per_dispatch = loop_time / max(dispatched, 1)
    print(
        f"[2] {n} trivial tasks, concurrency 2, {executor_name} executor: "
        f"{elapsed:.1f} s, run {state}"
    )
    print(f"    tasks per minute: {per_min:.1f}")
    print(
        f"    scheduler loop time: {loop_time:.2f} s total, {per_dispatch * 1000:.1f} ms per "
        f"dispatched task ({dispatched} dispatches; {loop_time / elapsed:.1%} of wall time)"
    )
    base_n = max(10, n // 4)
    bare = bare_executor(tmp, base_n, executor_name)
    print(f"    bare {executor_name} executor, {base_n} tasks 2 at a time: {bare:.1f} per minute")
    cold = bare_executor(tmp, base_n, "subprocess")
    print(f"    bare subprocess executor (fresh process per task): {cold:.1f} per minute")
    print(f"    scheduler / bare executor throughput: {per_min / bare:.2f}x")
    print(f"    {'ok' if per_min >= 60 else 'MISS'}: goal >= 60 per minute (got {per_min:.1f})")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as tmp:
        latency(Path(tmp))
        throughput(Path(tmp), n)


if __name__ == "__main__":
    main()
