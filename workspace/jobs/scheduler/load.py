"""What the scheduler runs: the pipelines under ``scheduled/`` and the pool sizes.

:class:`PipelineCatalog` takes the specs from the one discovery
(:func:`workspace.jobs.spec.discovery.scanner`), which loads the folder again only when
something changed; an invalid ``pipeline.yaml`` is logged once and skipped. Pool sizes come
from ``scheduled/pools.yaml``. Format: docs/scheduler.md.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, RootModel, ValidationError

from workspace.jobs.paths import POOLS_FILE
from workspace.jobs.spec.discovery import scanner
from workspace.jobs.spec.pipeline import PIPELINE_NAME, Pipeline, PipelineSpecError
from workspace.lake.errors import WorkspaceError

log = logging.getLogger(__name__)

__all__ = [
    "POOLS_FILE",
    "PipelineCatalog",
    "PoolsError",
    "SchedulerError",
    "load_pools",
    "spec_hash",
]


class SchedulerError(WorkspaceError):
    """The scheduler cannot use its configuration (pools.yaml, the scheduled folder...)."""


class PoolsError(SchedulerError):
    """``scheduled/pools.yaml`` is invalid: the message names the pool and the fix."""


class _Pools(RootModel[dict[str, int]]):
    root: dict[str, int]


class _PoolName(BaseModel):
    name: str = Field(pattern=PIPELINE_NAME.pattern)
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

    Examples
    --------
    >>> catalog = PipelineCatalog(Path("scheduled"))  # doctest: +SKIP
    >>> changed = catalog.refresh()  # doctest: +SKIP
    >>> sorted(catalog.pipelines), catalog.pools  # doctest: +SKIP
    (['demo_refresh', 'region_reports'], {})
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pipelines: dict[str, Pipeline] = {}
        self.pools: dict[str, int] = {}
        self.errors: dict[str, str] = {}
        self._scanner = scanner(root)
        self._version: int | None = None

    def refresh(self) -> bool:
        """Reload if any file changed since the last call; True when a reload happened."""
        version, specs = self._scanner.snapshot()
        if version == self._version:
            return False
        self._version = version
        self._load(specs)
        return True

    def _report(self, key: str, message: str) -> None:
        if self.errors.get(key) != message:
            log.error("%s; it is skipped until the file is fixed", message)
        self.errors[key] = message

    def _load(self, specs: Mapping[str, Pipeline | PipelineSpecError]) -> None:
        errors_before = dict(self.errors)
        self.errors = {}
        found: dict[str, Pipeline] = {}
        for name, spec in specs.items():
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
