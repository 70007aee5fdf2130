"""What an attempt used: CPU, peak memory, bytes read and wall time of its kernel's tree.

The runner (which runs outside the kernel: in its own process with the subprocess executor,
in the Dask worker with the Dask executor) starts a :class:`ResourceSampler` before the
kernel and stops it after. A thread samples the tree rooted at the kernel's pid with psutil
every ``interval`` seconds: CPU seconds (user + system) are summed over every process seen
(each process's last reading, so short-lived children count up to their last sample), peak
RSS is the largest sum of the tree's resident memory in one sample, bytes read are the
bytes the tree's processes read through ``read()`` calls (``/proc/PID/io`` ``rchar``:
files, whether from the disk or the page cache, and pipes), summed like CPU. When the runner
runs in a Dask worker, the cluster's worker count is sampled too (every ~5 s): its least and
most during the attempt show how the cluster scaled. The kernel runs as the
``ws-runner`` account; the runner reads it as root (or as the same user). The result is a
dict of :class:`~workspace.jobs.models.AttemptResources` fields, stored with the attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import psutil

from workspace.jobs.execution.context import TableWrite
from workspace.lake.engine import LAKE, LAYERS, open_connection
from workspace.lake.settings import Settings
from workspace.lake.snapshots import metadata_tables

__all__ = [
    "ResourceSampler",
    "TreeUsage",
    "bytes_written",
    "current_dask_worker",
    "dask_worker_count",
    "tree_usage",
]

log = logging.getLogger(__name__)


class TreeUsage(NamedTuple):
    """One reading of a process tree (see :func:`tree_usage`)."""

    cpu: dict[int, float]  # CPU seconds per pid (cumulative)
    rss: int  # resident bytes of the whole tree now
    reads: dict[int, int]  # bytes read per pid (cumulative ``rchar``)


def tree_usage(pid: int) -> TreeUsage:
    """CPU seconds and bytes read per process, and total RSS (bytes), of ``pid`` and its
    descendants now.

    Processes that vanish or cannot be read are left out; a missing ``pid`` gives an empty
    reading.

    Examples
    --------
    >>> import os
    >>> cpu, rss, reads = tree_usage(os.getpid())
    >>> cpu[os.getpid()] > 0 and rss > 0 and reads[os.getpid()] > 0
    True
    """
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return TreeUsage({}, 0, {})
    cpu: dict[int, float] = {}
    reads: dict[int, int] = {}
    rss = 0
    for proc in procs:
        try:
            with proc.oneshot():
                times = proc.cpu_times()
                mem = proc.memory_info().rss
                io = proc.io_counters() if hasattr(proc, "io_counters") else None
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        cpu[proc.pid] = times.user + times.system
        if io is not None:
            reads[proc.pid] = int(getattr(io, "read_chars", io.read_bytes))
        rss += mem
    return TreeUsage(cpu, rss, reads)


def current_dask_worker() -> Any:
    """The Dask worker running this task (call it from the task's thread), else None."""
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):  # not in a worker
        return None


def dask_worker_count(worker: Any) -> int | None:
    """Workers of the cluster ``worker`` belongs to (None when it cannot be read now)."""
    if worker is None:
        return None
    try:
        return len(worker.client.scheduler_info(n_workers=-1)["workers"])
    except Exception:  # a busy or restarting scheduler: skip this sample
        log.debug("could not read the Dask worker count", exc_info=True)
        return None


class ResourceSampler:
    """Sample the process tree of ``pid()`` (None until the kernel started) in a thread.

    Examples
    --------
    >>> import os
    >>> with ResourceSampler(os.getpid, interval=0.05) as sampler:
    ...     _ = sum(range(200_000))
    >>> used = sampler.result()
    >>> used["cpu_seconds"] > 0, used["peak_rss_bytes"] > 0, used["measured"]
    (True, True, 'kernel')
    """

    def __init__(self, pid: Callable[[], int | None], *, interval: float = 0.5) -> None:
        self._pid = pid
        self.interval = interval
        self._cpu: dict[int, float] = {}
        self._reads: dict[int, int] = {}
        self._workers: list[int] = []
        self._dask = current_dask_worker()  # from the task's thread: the sampler's has none
        self._next_workers = 0.0
        self._peak = 0
        self.samples = 0
        self._t0: float | None = None
        self._t1: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="workspace-resources", daemon=True)

    def __enter__(self) -> ResourceSampler:
        self._t0 = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()  # the end: whatever of the tree is still there
        self._t1 = time.monotonic()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        """Take one reading of the tree (nothing before the kernel has a pid)."""
        pid = self._pid()
        if pid is None:
            return
        cpu, rss, reads = tree_usage(pid)
        if not cpu:
            return
        workers = None
        if time.monotonic() >= self._next_workers:
            self._next_workers = time.monotonic() + 5.0
            workers = dask_worker_count(self._dask)
        with self._lock:
            for key, seconds in cpu.items():  # cumulative per process: keep the latest
                self._cpu[key] = max(seconds, self._cpu.get(key, 0.0))
            for key, n in reads.items():
                self._reads[key] = max(n, self._reads.get(key, 0))
            if workers is not None:
                self._workers.append(workers)
            self._peak = max(self._peak, rss)
            self.samples += 1

    def result(self) -> dict[str, Any]:
        """The measured fields of :class:`~workspace.jobs.models.AttemptResources`."""
        end = self._t1 if self._t1 is not None else time.monotonic()
        wall = end - self._t0 if self._t0 is not None else None
        with self._lock:
            measured = self.samples > 0
            return {
                "wall_seconds": None if wall is None else round(wall, 3),
                "cpu_seconds": round(sum(self._cpu.values()), 3) if measured else None,
                "peak_rss_bytes": self._peak if measured else None,
                "bytes_read": sum(self._reads.values()) if measured and self._reads else None,
                "dask_workers_min": min(self._workers) if self._workers else None,
                "dask_workers_max": max(self._workers) if self._workers else None,
                "samples": self.samples,
                "measured": "kernel" if measured else None,
            }


def bytes_written(settings: Settings, writes: Iterable[TableWrite]) -> dict[str, int]:
    """``{"bytes_written": N}``: the data files the writes to lake layers added (DuckLake's
    metadata, by snapshot); ``{}`` without such writes or when the lake cannot be read.
    Rows inlined into the catalog (small writes) add no file and count 0 bytes.

    Examples
    --------
    >>> bytes_written(Settings.resolve("/nonexistent"), [])
    {}
    """
    ids = sorted({w.snapshot_id for w in writes if w.table.split(".")[0] in LAYERS})
    if not ids:
        return {}
    try:
        con = open_connection(settings, read_only=True)
        try:
            meta = metadata_tables(con, LAKE)
            row = con.execute(
                f"SELECT coalesce(sum(file_size_bytes), 0) FROM {meta}.ducklake_data_file "
                f"WHERE begin_snapshot IN ({', '.join('?' * len(ids))})",
                ids,
            ).fetchone()
        finally:
            con.close()
    except Exception:  # measuring must never fail the attempt
        log.warning("could not read the bytes written by snapshots %s", ids, exc_info=True)
        return {}
    return {"bytes_written": int(row[0]) if row else 0}
