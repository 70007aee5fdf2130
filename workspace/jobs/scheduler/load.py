"""What the scheduler runs: the pipelines under ``scheduled/`` and the pool sizes.

:class:`PipelineCatalog` reloads the folder only when something in it changed (a cheap
``stat`` of each pipeline folder and its files per call). An invalid ``pipeline.yaml`` is
logged once, with the validation message naming the file and field, and skipped; the other
pipelines keep running. ``scheduled/pools.yaml`` maps pool names to slot counts::

    warehouse: 2     # at most two tasks, of any pipeline, use the warehouse at once
    crm_api: 1

Examples
--------
>>> catalog = PipelineCatalog(Path("scheduled"))  # doctest: +SKIP
>>> changed = catalog.refresh()  # doctest: +SKIP
>>> sorted(catalog.pipelines), catalog.pools  # doctest: +SKIP
(['demo_refresh', 'region_reports'], {})
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, RootModel, ValidationError

from workspace.jobs.spec.discovery import scan
from workspace.jobs.spec.pipeline import Pipeline, PipelineSpecError
from workspace.lake.errors import WorkspaceError

log = logging.getLogger(__name__)

POOLS_FILE = "pools.yaml"


class SchedulerError(WorkspaceError):
    """The scheduler cannot use its configuration (pools.yaml, the scheduled folder...)."""


class PoolsError(SchedulerError):
    """``scheduled/pools.yaml`` is invalid: the message names the pool and the fix."""


class _Pools(RootModel[dict[str, int]]):
    root: dict[str, int]


class _PoolName(BaseModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    slots: int = Field(ge=0, le=10_000)


def load_pools(path: Path) -> dict[str, int]:
    """Pool slot counts from ``pools.yaml``; a missing file means no pools.

    Raises
    ------
    PoolsError
        When the file is not a mapping of pool names to non-negative slot counts.

    Examples
    --------
    >>> load_pools(Path("/nonexistent/pools.yaml"))
    {}
    """
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PoolsError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    hint = "expected a mapping of pool names to slot counts, e.g. 'warehouse: 2'"
    if not isinstance(data, dict):
        raise PoolsError(f"{path}: {hint}")
    pools: dict[str, int] = {}
    for name, slots in data.items():
        if isinstance(slots, bool):
            raise PoolsError(f"{path}: {name}: {hint} (got {slots!r})")
        try:
            entry = _PoolName(name=str(name), slots=slots)
        except ValidationError as exc:
            err = exc.errors()[0]
            raise PoolsError(
                f"{path}: {name}: {err['msg']} (got {err.get('input')!r}); {hint}"
            ) from None
        pools[entry.name] = entry.slots
    return pools


def spec_hash(pipeline: Pipeline) -> str:
    """A short hash of a validated pipeline (the store records it to show spec changes).

    Examples
    --------
    >>> len(spec_hash(Pipeline(name="p", tasks=[{"name": "a", "notebook": "a.ipynb"}])))
    16
    """
    text = pipeline.model_dump_json(exclude={"folder"})
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of the root, each pipeline folder and the files in them."""
    entries: list[tuple[str, int, int]] = []
    try:
        top = list(os.scandir(root))
    except FileNotFoundError:
        return ()
    for entry in top:
        try:
            st = entry.stat()
            entries.append((entry.path, st.st_mtime_ns, st.st_size))
            if entry.is_dir():
                for sub in os.scandir(entry.path):
                    if sub.is_file():
                        sst = sub.stat()
                        entries.append((sub.path, sst.st_mtime_ns, sst.st_size))
        except OSError:  # removed while scanning: the next call sees the new state
            continue
    return tuple(sorted(entries))


class PipelineCatalog:
    """The valid pipelines under ``root`` and the pool sizes, reloaded when files change.

    Attributes
    ----------
    pipelines
        Valid pipelines by name.
    pools
        Pool name -> slots (the last valid ``pools.yaml``).
    errors
        Folder (or pools file) -> the error that made it skipped.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pipelines: dict[str, Pipeline] = {}
        self.pools: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self._signature: tuple[tuple[str, int, int], ...] | None = None

    def refresh(self) -> bool:
        """Reload if any file changed since the last call; True when a reload happened."""
        signature = _signature(self.root)
        if signature == self._signature:
            return False
        self._signature = signature
        self._load()
        return True

    def _report(self, key: str, message: str) -> None:
        if self.errors.get(key) != message:
            log.error("%s; it is skipped until the file is fixed", message)
        self.errors[key] = message

    def _load(self) -> None:
        errors_before = dict(self.errors)
        self.errors = {}
        found: dict[str, Pipeline] = {}
        for name, spec in scan(self.root).items():
            key = str(self.root / name)
            if isinstance(spec, PipelineSpecError):
                self.errors[key] = errors_before.get(key, "")
                self._report(key, str(spec))
                continue
            found[name] = spec
        pools_path = self.root / POOLS_FILE
        try:
            self.pools = load_pools(pools_path)
        except PoolsError as exc:
            self.errors[str(pools_path)] = errors_before.get(str(pools_path), "")
            self._report(str(pools_path), f"{exc} (keeping the previous pool sizes)")
        for key in errors_before.keys() - self.errors.keys():
            log.info("%s: valid again", key)
        added, removed = found.keys() - self.pipelines.keys(), self.pipelines.keys() - found
        if added or removed:
            log.info(
                "pipelines: %d loaded (added: %s; removed: %s)",
                len(found),
                ", ".join(sorted(added)) or "-",
                ", ".join(sorted(removed)) or "-",
            )
        self.pipelines = found
