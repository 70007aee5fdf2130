"""Thresholds of the monitors: sensible defaults, tunable per table in one YAML file.

:class:`MonitorConfig` holds the thresholds; the file ``$WORKSPACE_HOME/lake/quality/monitors.yaml``
(``defaults:`` and per-table ``tables:``) tunes them. A malformed file is an error naming the
file, the field and what to write instead. File format: docs/quality-monitors.md.

Examples
--------
>>> MonitorConfig().min_commits
5
>>> MonitorConfig(volume_z=6).digest() != MonitorConfig().digest()
True
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings
from workspace.quality.store import store_dir

MonitorKind = Literal["volume", "freshness", "schema", "nulls", "distribution"]
ALL_MONITORS: tuple[MonitorKind, ...] = ("volume", "freshness", "schema", "nulls", "distribution")
CONFIG_FILE = "monitors.yaml"


class MonitorConfig(BaseModel):
    """The thresholds of one table's monitors."""

    model_config = ConfigDict(extra="forbid")

    monitors: list[MonitorKind] = Field(
        default_factory=lambda: list(ALL_MONITORS), description="Which monitors run."
    )
    min_commits: int = Field(
        5, ge=2, description="Commits of history before volume, freshness, nulls and "
        "distribution are judged (fewer: 'not enough history').",
    )  # fmt: skip
    window: int = Field(30, ge=3, description="Past commits each judgement compares against.")
    volume_z: float = Field(4.0, gt=0, description="Robust z-score of rows per commit.")
    volume_min_change: float = Field(
        0.3, ge=0, description="...and at least this relative change from the median."
    )
    freshness_z: float = Field(4.0, gt=0, description="Robust z-score of a commit's lateness.")
    freshness_min_slack: float = Field(
        0.25, ge=0, description="Lateness always tolerated, as a share of the usual interval."
    )
    burst_gap: float = Field(
        300.0, ge=0, description="Seconds: commits closer than this are one update."
    )
    null_z: float = Field(4.0, gt=0, description="Robust z-score of a column's null share.")
    null_min_change: float = Field(
        0.1, ge=0, description="...and at least this rise of the null share (0.1 = 10 points)."
    )
    psi_threshold: float = Field(
        0.25, gt=0, description="Population stability index of a numeric column."
    )
    js_threshold: float = Field(
        0.2, gt=0, description="Jensen-Shannon distance (base 2) of a text column's values."
    )
    noise_factor: float = Field(
        3.0, ge=1, description="A drift must also exceed this many times the column's usual "
        "commit-to-commit drift (ids and dates drift every commit).",
    )  # fmt: skip
    min_rows: int = Field(30, ge=1, description="Commits adding fewer rows are not profiled "
                          "for nulls and distribution.")  # fmt: skip
    seasonality: bool = Field(
        True,
        description="Learn weekday effects (volume: three commits on a weekday; "
        "freshness: three weeks of history).",
    )
    ignore_columns: list[str] = Field(default_factory=list)

    def enabled(self, kind: MonitorKind) -> bool:
        """Whether a monitor runs."""
        return kind in self.monitors

    def digest(self) -> str:
        """A short hash of the settings (cached results are per setting)."""
        return hashlib.sha1(self.model_dump_json().encode()).hexdigest()[:12]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = Field(default_factory=dict)


class MonitorConfigs:
    """The settings of every table: the file's defaults, overridden per table."""

    def __init__(self, defaults: dict[str, Any], tables: dict[str, dict[str, Any]]) -> None:
        self._defaults = defaults
        self._tables = tables
        self._cache: dict[str, MonitorConfig] = {}

    def for_table(self, table: str) -> MonitorConfig:
        """The settings of ``table`` (``layer.name``)."""
        key = table if table in self._tables else ""  # tables without overrides share one
        if key not in self._cache:
            self._cache[key] = MonitorConfig.model_validate(
                {**self._defaults, **self._tables.get(table, {})}
            )
        return self._cache[key]


def config_path(settings: Settings) -> Path:
    """Where the monitors' settings are read from."""
    return store_dir(settings) / CONFIG_FILE


def load_configs(settings: Settings) -> MonitorConfigs:
    """Read :func:`config_path` (defaults everywhere when it does not exist)."""
    path = config_path(settings)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return MonitorConfigs({}, {})
    except (OSError, yaml.YAMLError) as exc:
        raise WorkspaceError(f"Cannot read the monitor settings {path}: {exc}") from None
    try:
        parsed = _File.model_validate(raw)
        MonitorConfig.model_validate(parsed.defaults)
        for table, values in parsed.tables.items():
            try:
                MonitorConfig.model_validate({**parsed.defaults, **values})
            except ValidationError as exc:
                raise _explain(exc, path, f"tables.{table}") from None
    except ValidationError as exc:
        raise _explain(exc, path, "") from None
    return MonitorConfigs(parsed.defaults, parsed.tables)


def _explain(exc: ValidationError, path: Path, prefix: str) -> WorkspaceError:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *err["loc"]) if p != "")
    fields = ", ".join(MonitorConfig.model_fields)
    hint = (
        f"the settings are {fields}"
        if err["type"] == "extra_forbidden"
        else "see docs/quality-monitors.md for the allowed values"
    )
    return WorkspaceError(
        f"Invalid monitor settings in {path}, field {where or '(top level)'}: {err['msg']}. "
        f"Fix the file: {hint}."
    )
