"""Same-run timing for the benchmarks: two variants measured alternately.

Run as scripts (``python tests/benchmarks/bench_x.py``), the benchmarks import this module
from their own folder. Alternating the order every round spreads the machine's drift (other
load, caches warming up, CPU frequency) over both variants equally.

Examples
--------
>>> a, b = interleaved(lambda: None, lambda: sum(range(100)), 4)
>>> len(a), len(b)
(4, 4)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

__all__ = ["interleaved", "interleaved_medians", "p95", "verdict"]


def interleaved(
    a: Callable[[], object],
    b: Callable[[], object],
    rounds: int,
    *,
    before: Callable[[], object] | None = None,
    collect: bool = False,
) -> tuple[list[float], list[float]]:
    """Seconds of each run of ``a`` and of ``b``, alternating which runs first every round.

    ``before`` runs (untimed) before every timed run; ``collect`` collects the garbage of
    the previous run first (large results).
    """
    ta: list[float] = []
    tb: list[float] = []
    for i in range(rounds):
        for fn, out in ((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta)):
            if before is not None:
                before()
            if collect:
                gc.collect()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return ta, tb


def interleaved_medians(
    a: Callable[[], object],
    b: Callable[[], object],
    rounds: int,
    *,
    before: Callable[[], object] | None = None,
    collect: bool = False,
) -> tuple[float, float]:
    """Median seconds of ``a`` and ``b`` (see :func:`interleaved`)."""
    ta, tb = interleaved(a, b, rounds, before=before, collect=collect)
    return statistics.median(ta), statistics.median(tb)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of ``values``."""
    return sorted(values)[max(0, int(len(values) * 0.95) - 1)]


def verdict(ok: bool) -> str:
    """``PASS`` or ``MISS``, as every benchmark prints it."""
    return "PASS" if ok else "MISS"
