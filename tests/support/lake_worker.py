"""A lake writer run as its own OS process by the concurrency tests and the benchmark.

Run ``python tests/support/lake_worker.py JOB [ARGS...]`` with ``WORKSPACE_HOME``,
``WORKSPACE_CATALOG`` etc. in the environment (``Settings.env()``). Prints one JSON line on
success: ``{"job": ..., "attempts": [...], "seconds": ...}``. Jobs:

``connect``
    Open the workspace (first-connect initialisation race) and list the tables.
``append TABLE WORKER COMMITS ROWS``
    ``COMMITS`` appends of ``ROWS`` rows ``(worker, seq, i)``.
``create PREFIX WORKER COUNT``
    Create tables ``PREFIX_<WORKER>_<k>`` with one row each.
``overwrite TABLE WORKER COMMITS ROWS``
    ``COMMITS`` overwrites of the table with ``ROWS`` rows of this worker.
``big TABLE ROWS``
    One large overwrite (from a lazy ibis SQL expression); prints ``WRITING`` first.
``write-once TABLE``
    Append one row; used to show that a write gives up with WriteConflictError.

Start barrier: when ``WORKER_BARRIER_DIR`` and ``WORKER_COUNT`` are set, each job (after
connecting) marks itself ready in that folder and waits for all the others, so that every
worker hits the catalog at the same moment. The contention errors the retries absorbed are
reported under ``"contention"`` (distinct first lines).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

import pyarrow as pa

import workspace
from workspace.lake.errors import WorkspaceError


def _rows(worker: int, seq: int, n: int) -> pa.Table:
    return pa.table(
        {
            "worker": pa.array([worker] * n, pa.int32()),
            "seq": pa.array([seq] * n, pa.int32()),
            "i": pa.array(range(n), pa.int32()),
        }
    )


class _Contention(logging.Handler):
    """Collects the errors ``retry_on_contention`` retried (it logs them at DEBUG)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("catalog busy") and len(record.args or ()) == 3:
            lines = [ln.strip() for ln in str(record.args[2]).splitlines() if ln.strip()]  # type: ignore[index]
            cause = [ln for ln in lines[1:] if "ERROR:" in ln or "locked" in ln]
            cause = [c[c.find("ERROR:") :] if "ERROR:" in c else c for c in cause]
            text = lines[0][:100] + (f" ... {cause[-1][:160]}" if cause else "")
            self.seen[text] = self.seen.get(text, 0) + 1


def _barrier() -> None:
    folder, count = os.environ.get("WORKER_BARRIER_DIR"), os.environ.get("WORKER_COUNT")
    if not folder or not count:
        return
    with open(os.path.join(folder, f"ready-{os.getpid()}"), "w"):
        pass
    deadline = time.monotonic() + 120
    while len(os.listdir(folder)) < int(count) and time.monotonic() < deadline:
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    job, args = argv[0], argv[1:]
    contention = _Contention()
    engine_log = logging.getLogger("workspace.lake.engine")
    engine_log.addHandler(contention)
    engine_log.setLevel(logging.DEBUG)
    t0 = time.perf_counter()
    attempts: list[int] = []
    snapshots: list[int] = []
    if job == "connect":
        _barrier()
        with workspace.connect() as ws:
            ws.tables()
    elif job in {"append", "overwrite"}:
        table, worker, commits, rows = args[0], int(args[1]), int(args[2]), int(args[3])
        with workspace.connect() as ws:
            _barrier()
            t0 = time.perf_counter()
            for seq in range(commits):
                mode = "append" if job == "append" else "overwrite"
                res = ws.write(table, _rows(worker, seq, rows), mode=mode)
                attempts.append(res.attempts)
                snapshots.append(res.snapshot_id)
    elif job == "create":
        prefix, worker, count = args[0], int(args[1]), int(args[2])
        with workspace.connect() as ws:
            _barrier()
            t0 = time.perf_counter()
            for k in range(count):
                res = ws.write(f"{prefix}_{worker}_{k}", _rows(worker, k, 1))
                attempts.append(res.attempts)
                snapshots.append(res.snapshot_id)
    elif job == "big":
        table, rows = args[0], int(args[1])
        with workspace.connect() as ws:
            expr = ws.sql(
                f"SELECT range AS id, range * 0.5 AS v, 'row-' || range::VARCHAR AS s "
                f"FROM range({rows})"
            )
            print("WRITING", flush=True)
            ws.write(table, expr, mode="overwrite")
    elif job == "write-once":
        with workspace.connect() as ws:
            print("CONNECTED", flush=True)
            try:
                ws.write(args[0], _rows(0, 0, 1))
            except WorkspaceError as exc:
                print(json.dumps({"job": job, "error": type(exc).__name__, "message": str(exc)}))
                return 3
    else:
        print(f"unknown job {job!r}", file=sys.stderr)
        return 2
    out = {
        "job": job,
        "attempts": attempts,
        "snapshots": snapshots,
        "seconds": time.perf_counter() - t0,
        "contention": contention.seen,
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
