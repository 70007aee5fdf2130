"""What runs and storage cost: the price file, the cost of an attempt, and roll-ups.

Prices live in ``$WORKSPACE_HOME/costs.yaml`` (without it every price is zero; a malformed
file raises :class:`CostConfigError`). :func:`attempt_cost` prices an attempt's measured
resources; :func:`cost_report` rolls attempts and storage up by pipeline, owner or table into
a :class:`CostReport` (stable JSON, ``workspace costs --json``).

Design notes (the price file, how storage is charged): docs/pipelines.md, "Module notes".
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workspace.jobs.models import AttemptResources
from workspace.jobs.store.database import RunDatabase
from workspace.jobs.store.schema import store_path
from workspace.jobs.store.usage import Usage, read_usage
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

__all__ = [
    "COSTS_FILE",
    "AttemptCost",
    "CostConfigError",
    "CostPrices",
    "CostReport",
    "CostRow",
    "attempt_cost",
    "cost_report",
    "load_prices",
    "parse_since",
    "prices_or_none",
    "usage_line",
]

log = logging.getLogger(__name__)

#: The price file's name, in the workspace home.
COSTS_FILE = "costs.yaml"
GB = 10**9
By = Literal["pipeline", "user", "table", "layer"]


class CostConfigError(WorkspaceError, ValueError):
    """``costs.yaml`` cannot be read or has a wrong field."""


class CostPrices(BaseModel):
    """Prices of ``costs.yaml``; all zero by default.

    Examples
    --------
    >>> CostPrices(cpu_hour=0.5).memory_gb_hour
    0.0
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field("USD", description="Shown next to the amounts.")
    cpu_hour: float = Field(0.0, ge=0, description="Price per CPU-hour.")
    memory_gb_hour: float = Field(0.0, ge=0, description="Price per GB-hour of peak memory.")
    storage_gb_month: float = Field(0.0, ge=0, description="Price per GB-month of storage.")


class AttemptCost(BaseModel):
    """The compute an attempt used and what it cost."""

    cpu_seconds: float = 0.0
    gb_hours: float = Field(0.0, description="Peak RSS in GB times wall time in hours.")
    cost: float = 0.0


class CostRow(BaseModel):
    """One line of a roll-up: compute and storage of ``key`` over the window."""

    key: str
    cpu_seconds: float = 0.0
    gb_hours: float = 0.0
    storage_gb: float = 0.0
    cost: float = 0.0


class CostReport(BaseModel):
    """``workspace costs --json``: ``{"by", "since", "until", "currency", "rows"}``."""

    by: str
    since: datetime
    until: datetime
    currency: str
    rows: list[CostRow]


def costs_path(settings: Settings) -> Path:
    """Where the price file is: ``<home>/costs.yaml``."""
    return settings.home / COSTS_FILE


def load_prices(settings: Settings | None = None, path: Path | None = None) -> CostPrices:
    """The prices of ``path`` (default ``<home>/costs.yaml``); zero when there is no file.

    Examples
    --------
    >>> load_prices(path=Path("/nonexistent/costs.yaml")).cpu_hour
    0.0
    """
    if path is None:
        path = costs_path(settings or Settings.resolve())
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return CostPrices()
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CostConfigError(f"{path} is not valid YAML ({exc}); fix its syntax.") from exc
    if not isinstance(data, dict):
        raise CostConfigError(f"{path} must be a mapping such as 'cpu_hour: 0.04'.")
    try:
        return CostPrices.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(file)"
        raise CostConfigError(
            f"{path}: field {where!r}: {err['msg']}. Allowed fields: currency, cpu_hour, "
            "memory_gb_hour, storage_gb_month (numbers >= 0)."
        ) from exc


def prices_or_none(settings: Settings) -> CostPrices | None:
    """:func:`load_prices`, or None (logged) when ``costs.yaml`` is malformed: a run's
    detail still shows, without costs."""
    try:
        return load_prices(settings)
    except CostConfigError as exc:
        log.warning("%s", exc)
        return None


def attempt_cost(resources: AttemptResources, prices: CostPrices) -> AttemptCost:
    """The compute cost of one attempt's measured resources.

    Examples
    --------
    >>> used = AttemptResources(cpu_seconds=7200, peak_rss_bytes=2 * 10**9, wall_seconds=3600)
    >>> attempt_cost(used, CostPrices(cpu_hour=0.5, memory_gb_hour=0.25)).cost
    1.5
    """
    cpu = resources.cpu_seconds or 0.0
    gb_hours = (resources.peak_rss_bytes or 0) / GB * (resources.wall_seconds or 0.0) / 3600
    cost = cpu / 3600 * prices.cpu_hour + gb_hours * prices.memory_gb_hour
    return AttemptCost(cpu_seconds=cpu, gb_hours=gb_hours, cost=cost)


def usage_line(resources: dict[str, Any] | None, cost: dict[str, Any] | None) -> str | None:
    """One line for people: what an attempt (as JSON) used and cost; None if nothing known.

    Examples
    --------
    >>> usage_line({"wall_seconds": 12.5, "cpu_seconds": 3.25, "peak_rss_bytes": 2**27,
    ...             "rows_written": 40, "queue_wait_seconds": 1.0}, {"cost": 0.0012})
    'wall 12.5s, CPU 3.2s, peak 134 MB, 40 rows written, queued 1.0s, cost 0.0012'
    """
    r, parts = resources or {}, []
    for key, label, unit in (("wall_seconds", "wall", "s"), ("cpu_seconds", "CPU", "s")):
        if r.get(key) is not None:
            parts.append(f"{label} {r[key]:.1f}{unit}")
    if r.get("peak_rss_bytes") is not None:
        parts.append(f"peak {r['peak_rss_bytes'] / 10**6:.0f} MB")
    if r.get("rows_written"):
        parts.append(f"{r['rows_written']} rows written")
    for key, label in (("queue_wait_seconds", "queued"), ("lateness_seconds", "late")):
        if r.get(key) is not None:
            parts.append(f"{label} {r[key]:.1f}s")
    if cost is not None and parts:
        parts.append(f"cost {cost['cost']:.4g}")
    return ", ".join(parts) or None


def parse_since(text: str | None, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``2025-01-31`` or an ISO time as a UTC datetime; default ``30d``.

    Examples
    --------
    >>> now = datetime(2025, 2, 1, tzinfo=UTC)
    >>> parse_since("7d", now).isoformat(), parse_since("2025-01-31", now).day
    ('2025-01-25T00:00:00+00:00', 31)
    """
    now = now or datetime.now(UTC)
    text = (text or "30d").strip()
    match = re.fullmatch(r"(\d+)\s*([dhw])", text)
    if match:
        n, unit = int(match[1]), match[2]
        return now - timedelta(**{{"d": "days", "h": "hours", "w": "weeks"}[unit]: n})
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CostConfigError(
            f"--since {text!r} is neither a duration (7d, 24h, 2w) nor a date (2025-01-31)."
        ) from None
    if isinstance(value, date) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _lake_storage(settings: Settings) -> dict[str, int]:
    """Bytes of each lake table's current data and delete files, by ``layer.table``."""
    from workspace.lake.engine import LAKE, META_SCHEMA, open_connection
    from workspace.lake.snapshots import metadata_tables

    con = open_connection(settings, read_only=True)
    try:
        meta = metadata_tables(con, LAKE)
        rows = con.execute(
            f"""
            WITH files AS (
                SELECT table_id, file_size_bytes FROM {meta}.ducklake_data_file
                WHERE end_snapshot IS NULL
                UNION ALL
                SELECT table_id, file_size_bytes FROM {meta}.ducklake_delete_file
                WHERE end_snapshot IS NULL)
            SELECT s.schema_name, t.table_name, coalesce(sum(f.file_size_bytes), 0)
            FROM {meta}.ducklake_table t JOIN {meta}.ducklake_schema s USING (schema_id)
            LEFT JOIN files f USING (table_id)
            WHERE t.end_snapshot IS NULL AND s.end_snapshot IS NULL AND s.schema_name <> ?
            GROUP BY 1, 2
            """,
            [META_SCHEMA],
        ).fetchall()
    finally:
        con.close()
    return {f"{schema}.{table}": int(size) for schema, table, size in rows}


def _sandbox_storage(settings: Settings) -> dict[str, int]:
    """Bytes on disk of each user's sandbox folder (catalog and data files)."""
    roots = {settings.home / "sandboxes", settings.data_path.parent / "sandboxes"}
    sizes: dict[str, int] = defaultdict(int)
    for root in roots:
        if not root.is_dir():
            continue
        for user in root.iterdir():
            if user.is_dir():
                sizes[user.name] += sum(f.stat().st_size for f in user.rglob("*") if f.is_file())
    return dict(sizes)


def rollup(
    usage: Usage,
    tables: dict[str, int],
    sandboxes: dict[str, int],
    prices: CostPrices,
    by: By,
    days: float,
) -> list[CostRow]:
    """Group compute and storage by ``by``; storage is charged for ``days`` (30 = a month).

    Examples
    --------
    >>> from workspace.jobs.store.usage import AttemptUsage
    >>> used = AttemptResources(cpu_seconds=3600, peak_rss_bytes=10**9, wall_seconds=3600)
    >>> u = Usage([AttemptUsage(1, "r", "sales", "ada", used)], {"sales": "ada"},
    ...           {"gold.kpi": "sales"})
    >>> prices = CostPrices(cpu_hour=1, memory_gb_hour=1, storage_gb_month=10)
    >>> [(r.key, r.cost) for r in rollup(u, {"gold.kpi": 10**9}, {}, prices, "user", 30)]
    [('ada', 12.0)]
    """
    rows: dict[str, CostRow] = {}

    def add(key: str, cpu: float = 0.0, gbh: float = 0.0, storage: int = 0) -> None:
        row = rows.setdefault(key, CostRow(key=key))
        row.cpu_seconds += cpu
        row.gb_hours += gbh
        row.storage_gb += storage / GB

    def keys_of_pipeline(pipeline: str, owner: str | None) -> Iterable[str]:
        if by == "pipeline":
            return [pipeline]
        if by == "user":
            return [owner or "(no owner)"]
        written = [t for t, p in usage.writers.items() if p == pipeline]
        return [t.split(".")[0] for t in written] if by == "layer" else written

    for a in usage.attempts:
        c = attempt_cost(a.resources, prices)
        for key in keys_of_pipeline(a.pipeline, a.owner):
            add(key, c.cpu_seconds, c.gb_hours)
    for table, size in tables.items():
        pipeline = usage.writers.get(table)
        if by == "table":
            add(table, storage=size)
        elif by == "layer":
            add(table.split(".")[0], storage=size)
        elif pipeline is not None:
            add(pipeline if by == "pipeline" else usage.owners.get(pipeline) or "(no owner)",
                storage=size)  # fmt: skip
    if by == "user":
        for user, size in sandboxes.items():
            add(user, storage=size)
    for row in rows.values():
        row.cost = round(
            row.cpu_seconds / 3600 * prices.cpu_hour
            + row.gb_hours * prices.memory_gb_hour
            + row.storage_gb * prices.storage_gb_month * days / 30,
            6,
        )
    return sorted(rows.values(), key=lambda r: (-r.cost, r.key))


def cost_report(
    settings: Settings,
    *,
    by: By = "pipeline",
    since: datetime | None = None,
    now: datetime | None = None,
) -> CostReport:
    """The roll-up of ``workspace costs``: attempts finished since ``since`` (default 30 days
    ago) and current storage, priced by ``<home>/costs.yaml``.

    Examples
    --------
    >>> report = cost_report(Settings.resolve(), by="layer")  # doctest: +SKIP
    >>> [(r.key, r.storage_gb) for r in report.rows]  # doctest: +SKIP
    [('gold', 0.002), ('silver', 0.01), ('bronze', 0.03)]
    """
    if by not in ("pipeline", "user", "table", "layer"):
        raise CostConfigError(f"cannot group costs by {by!r}; use pipeline, user, table or layer.")
    prices = load_prices(settings)
    now = now or datetime.now(UTC)
    since = since or now - timedelta(days=30)
    usage = Usage()
    path = store_path(settings)
    if path.is_file():  # no run store yet: no runs to charge
        try:
            db = RunDatabase.open(path)
            try:
                usage = read_usage(db, since)
            finally:
                db.close()
        except (sqlite3.Error, OSError) as exc:
            raise WorkspaceError(
                f"Cannot read the run store {path} ({exc}); run `workspace costs` as the "
                "account that runs the scheduler (or an admin)."
            ) from exc
    cat = settings.catalog
    has_lake = cat.kind != "sqlite" or (cat.path is not None and cat.path.is_file())
    tables = _lake_storage(settings) if has_lake else {}
    sandboxes = _sandbox_storage(settings) if by == "user" else {}
    days = max((now - since).total_seconds(), 0.0) / 86400
    rows = rollup(usage, tables, sandboxes, prices, by, days)
    return CostReport(by=by, since=since, until=now, currency=prices.currency, rows=rows)
