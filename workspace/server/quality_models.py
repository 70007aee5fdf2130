"""The payloads of the ``quality/...`` routes (:mod:`workspace.server.quality_handlers`).

A table's health is the word of ``workspace quality status`` (``healthy``, ``warning``,
``stale``, ``failing``, ``no_history``; ``unwatched`` for sandbox tables) and the level the
catalog colours its badge with (``ok`` green, ``warn`` amber, ``fail`` red, ``unknown``
grey). :class:`TableQuality` is everything the table's Quality tab shows.

Examples
--------
>>> level_of("stale"), level_of("no_history")
('warn', 'unknown')
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from workspace.quality.charts import QualityChart
from workspace.quality.findings import Finding
from workspace.quality.pii_review import PiiColumn

Health = Literal["healthy", "warning", "failing", "stale", "no_history", "unwatched"]

Level = Literal["ok", "warn", "fail", "unknown"]
_LEVELS: dict[str, Level] = {
    "healthy": "ok",
    "warning": "warn",
    "stale": "warn",
    "failing": "fail",
    "no_history": "unknown",
}
#: Commits shown in the row-count sparkline (the latest ones).
SPARK_COMMITS = 60


def level_of(health: str) -> Level:
    """The badge colour of a health word: ``ok``, ``warn``, ``fail`` or ``unknown``."""
    return _LEVELS.get(health, "unknown")


class HealthRow(BaseModel):
    """A table's health: the ``workspace quality status`` row and its badge level."""

    table: str
    health: Health
    level: Level
    message: str
    commits: int = 0
    findings: int = 0
    last_commit: dt.datetime | None = None
    due_by: dt.datetime | None = None

    @classmethod
    def of(cls, row: BaseModel) -> HealthRow:
        """The row of a :class:`workspace.quality.scan.TableHealth`."""
        data = row.model_dump()
        return cls(level=level_of(data["health"]), **data)


class HealthResponse(BaseModel):
    """``GET quality/health``: every shared table's health, in one request."""

    tables: list[HealthRow]


class CheckResult(BaseModel):
    """A declared check's last recorded result."""

    name: str
    type: str | None = None
    column: str | None = None
    severity: str | None = None
    status: str
    violations: int | None = None
    message: str | None = None


class CountPoint(BaseModel):
    """The table's rows after one commit."""

    snapshot_id: int
    committed_at: dt.datetime
    rows_total: int


class TableQuality(BaseModel):
    """``GET quality/tables/{name}``: everything the Quality tab shows."""

    table: str
    health: HealthRow
    checks_at: dt.datetime | None = Field(None, description="When the checks last ran.")
    checks_trigger: str | None = None
    checks: list[CheckResult] = []
    findings: list[Finding] = []
    history: list[CountPoint] = []
    charts: list[QualityChart] = Field(
        [], description="Vega-Lite specs: rows, hours between updates, null rates per commit."
    )
    pii: list[PiiColumn] = []
    owner: str | None = None
    can_review: bool = Field(description="Whether this user may confirm or dismiss PII.")
    review_note: str | None = None


class PiiReview(BaseModel):
    """``POST quality/tables/{name}/pii``: confirm or dismiss one suggested column."""

    column: str = Field(min_length=1)
    action: Literal["confirm", "dismiss"]


class PiiReviewResult(BaseModel):
    """The answer of a review: what was recorded."""

    table: str
    column: str
    action: Literal["confirm", "dismiss"]


#: The models of ``openapi.yaml``'s ``components.schemas`` (see workspace.server.models).
QUALITY_MODELS: tuple[type[BaseModel], ...] = (
    HealthResponse,
    TableQuality,
    PiiReview,
    PiiReviewResult,
)
