"""Running lake writers (``lake_worker.py``) as real OS processes, all at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workspace.lake import Settings

WORKER = Path(__file__).with_name("lake_worker.py")


@dataclass
class WorkerRun:
    """Outcome of one worker process."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        """The JSON line the worker printed last (empty if it printed none)."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return dict(json.loads(line))
        return {}

    def describe(self) -> str:
        return (
            f"worker {' '.join(self.args)} exited {self.returncode}\n"
            f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-4000:]}"
        )


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for a worker: this interpreter's, plus the workspace settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKSPACE_")}
    env.update(settings.env())
    env["PYTHONWARNINGS"] = "ignore"
    env.update(extra)
    return env


def start_worker(
    settings: Settings, args: Sequence[str], **extra_env: str
) -> subprocess.Popen[str]:
    """Start one worker process (stdout/stderr piped, text mode)."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=worker_env(settings, **extra_env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_workers(
    settings: Settings,
    jobs: Sequence[Sequence[str]],
    *,
    timeout: float = 240,
    **extra_env: str,
) -> list[WorkerRun]:
    """Run every job in its own process at once (with a start barrier) and wait for all."""
    with tempfile.TemporaryDirectory(prefix="ws-barrier-") as barrier:
        env = {"WORKER_BARRIER_DIR": barrier, "WORKER_COUNT": str(len(jobs)), **extra_env}
        procs = [(list(job), start_worker(settings, job, **env)) for job in jobs]
        runs = []
        try:
            for args, proc in procs:
                out, err = proc.communicate(timeout=timeout)
                runs.append(WorkerRun(args, proc.returncode, out, err))
        finally:
            for _, proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return runs


def contention_seen(runs: Sequence[WorkerRun]) -> dict[str, int]:
    """Distinct contention errors the workers' retries absorbed, with counts."""
    seen: dict[str, int] = {}
    for run in runs:
        for text, n in run.result.get("contention", {}).items():
            seen[text] = seen.get(text, 0) + int(n)
    return seen
