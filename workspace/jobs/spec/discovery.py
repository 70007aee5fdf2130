"""Discovery: every ``scheduled/<name>/pipeline.yaml`` under a folder, loaded and cross-checked.

The one reader of pipeline folders: the scheduler, the jobs service (HTTP APIs and CLI) and
the reports service all get their specs here. :func:`scan` returns each pipeline's spec or
its error (a bad file never hides the others), from a :class:`PipelineScanner` that loads the
folder again only when something in it changed (a ``stat`` of each file per call);
:func:`discover` keeps the valid ones; :func:`after_errors` checks ``after:`` across
pipelines (unknown targets and cycles), naming the file, the field and the cycle.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path

from workspace.jobs.paths import SPEC_FILE
from workspace.jobs.spec.pipeline import Pipeline, PipelineSpecError, load_pipeline

__all__ = ["PipelineScanner", "after_errors", "discover", "scan", "scanner"]

#: A file changed less than this long before its ``stat`` may change again without its
#: mtime moving (coarse file-system clocks): such a folder is loaded again on the next call.
RACY_SECONDS = 2.0
_MAX_SCANNERS = 32

Specs = dict[str, Pipeline | PipelineSpecError]
Signature = tuple[tuple[str, int, int, int], ...]


def _after_cycle(graph: Mapping[str, list[str]], start: str) -> list[str] | None:
    """A path ``start -> ... -> start`` through ``after:`` edges, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in graph.get(name, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen and nxt in graph:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def after_errors(
    specs: Mapping[str, Pipeline | Exception], root: str | Path
) -> dict[str, PipelineSpecError]:
    """The ``after:`` problems that span pipelines: an unknown target, or a cycle.

    ``specs`` are every pipeline folder under ``root`` by name, each its valid spec or the
    error that makes it invalid (an invalid folder is still a known ``after`` target). A
    pipeline whose ``after`` names itself, or is part of a cycle of ``after`` entries, would
    trigger itself forever: each pipeline of the cycle gets an error naming the file, the
    field and the cycle.

    Examples
    --------
    >>> a = Pipeline(name="a", after=["b"], tasks=[{"name": "t", "notebook": "t.ipynb"}])
    >>> b = Pipeline(name="b", after=["a"], tasks=[{"name": "t", "notebook": "t.ipynb"}])
    >>> print(after_errors({"a": a, "b": b}, "scheduled")["a"])  # doctest: +NORMALIZE_WHITESPACE
    scheduled/a/pipeline.yaml: after: the after entries form a cycle, a -> b -> a, so each
    run would trigger the next forever; remove one of these entries
    """
    root = Path(root)
    graph = {n: list(s.after) for n, s in specs.items() if isinstance(s, Pipeline)}
    errors: dict[str, PipelineSpecError] = {}
    for name, after in graph.items():
        source = root / name / SPEC_FILE
        unknown = [(i, up) for i, up in enumerate(after) if up not in specs]
        if unknown:
            i, up = unknown[0]
            known = ", ".join(sorted(n for n in specs if n != name)) or "none"
            errors[name] = PipelineSpecError(
                f"{source}: after[{i}]: {up!r} is not a pipeline under {root} (pipelines: "
                f"{known}); fix the name or remove the entry"
            )
            continue
        if name in after:
            errors[name] = PipelineSpecError(
                f"{source}: after[{after.index(name)}]: names the pipeline itself ({name!r}), "
                "so each run would trigger the next forever; remove the entry"
            )
            continue
        cycle = _after_cycle(graph, name)
        if cycle is not None:
            errors[name] = PipelineSpecError(
                f"{source}: after: the after entries form a cycle, {' -> '.join(cycle)}, so "
                "each run would trigger the next forever; remove one of these entries"
            )
    return errors


def _load_all(root: Path) -> Specs:
    """Every pipeline folder under ``root`` loaded now (no cache)."""
    found: Specs = {}
    for spec in sorted(root.glob(f"*/{SPEC_FILE}")):
        try:
            found[spec.parent.name] = load_pipeline(spec.parent)  # named by its folder
        except PipelineSpecError as exc:
            found[spec.parent.name] = exc
        except OSError as exc:
            found[spec.parent.name] = PipelineSpecError(f"{spec}: cannot be read: {exc}")
    found.update(after_errors(found, root))
    return found


def _signature(root: Path) -> Signature:
    """(path, mtime_ns, size, inode) of the root's entries and of every file in each
    pipeline folder (notebooks in sub-folders too)."""
    entries: list[tuple[str, int, int, int]] = []
    try:
        top = list(os.scandir(root))
    except OSError:  # missing or unreadable: no pipelines
        return ()
    for entry in top:
        try:
            st = entry.stat()
            entries.append((entry.path, st.st_mtime_ns, st.st_size, st.st_ino))
            if not entry.is_dir():
                continue
            for folder, dirs, files in os.walk(entry.path):
                for name in dirs + files:
                    sub = os.stat(os.path.join(folder, name))
                    entries.append((f"{folder}/{name}", sub.st_mtime_ns, sub.st_size, sub.st_ino))
        except OSError:  # removed while scanning: the next call sees the new state
            continue
    return tuple(sorted(entries))


class PipelineScanner:
    """The pipelines of one ``scheduled/`` folder, loaded again only when a file changed.

    ``version`` grows by one each time the folder is loaded (the scheduler reloads its
    catalog then). Thread-safe: one scanner serves every caller of a process.

    Examples
    --------
    >>> scanner = PipelineScanner(Path("/nonexistent/scheduled"))
    >>> scanner.scan(), scanner.version
    ({}, 1)
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.version = 0
        self._lock = threading.Lock()
        self._signature: Signature | None = None
        self._racy = True
        self._specs: Specs = {}

    def snapshot(self) -> tuple[int, Specs]:
        """The current ``version`` and every pipeline folder: its spec or its error."""
        with self._lock:
            taken = time.time_ns()
            signature = _signature(self.root)
            if self._racy or signature != self._signature:
                self._specs = _load_all(self.root)
                self._signature = signature
                fresh = taken - int(RACY_SECONDS * 1e9)
                self._racy = any(mtime > fresh for _, mtime, _, _ in signature)
                self.version += 1
            return self.version, dict(self._specs)

    def scan(self) -> Specs:
        """Every pipeline folder under the root by name: its valid spec, or the error that
        makes it invalid (its own file, or an ``after:`` problem across pipelines)."""
        return self.snapshot()[1]


_scanners: OrderedDict[tuple[Path, Path], PipelineScanner] = OrderedDict()
_scanners_lock = threading.Lock()


def scanner(root: str | Path) -> PipelineScanner:
    """The process's scanner of ``root`` (specs keep the root as given, relative or not)."""
    root = Path(root)
    key = (root, root.absolute())
    with _scanners_lock:
        found = _scanners.get(key)
        if found is None:
            found = _scanners[key] = PipelineScanner(root)
            while len(_scanners) > _MAX_SCANNERS:
                _scanners.popitem(last=False)
        _scanners.move_to_end(key)
        return found


def scan(root: str | Path) -> Specs:
    """Every pipeline folder under ``root`` (``scheduled/``) by name: its valid spec, or the
    error that makes it invalid (its own file, or an ``after:`` problem across pipelines).

    Examples
    --------
    >>> scan("/nonexistent/scheduled")
    {}
    """
    return scanner(root).scan()


def discover(root: str | Path) -> dict[str, Pipeline]:
    """Every pipeline under ``root`` (``scheduled/``), by name. Invalid specs raise."""
    found: dict[str, Pipeline] = {}
    for name, spec in scan(root).items():
        if isinstance(spec, PipelineSpecError):
            raise spec
        found[name] = spec
    return found
