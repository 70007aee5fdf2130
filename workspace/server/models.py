"""Payloads of the Lab extension's REST API (``docs/extension-api.md``).

Query strings and bodies are validated with these pydantic models (a bad value is a 400
listing the field); responses reuse the library's own models (:mod:`workspace.lake.catalog`,
:mod:`workspace.api.models`) wherever they exist. :func:`component_schemas`
produces the JSON schemas that ``openapi.yaml`` carries (a test keeps them identical).

Examples
--------
>>> TablesQuery.model_validate({"limit": "10", "q": "cust"}).limit
10
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import models_json_schema

from workspace.api import models as jobs_models
from workspace.lake.catalog import CatalogPage, LayerInfo, TableDescription
from workspace.lake.profile import TableProfile
from workspace.server.preview import MAX_PREVIEW_ROWS, TablePreview
from workspace.server.quality_models import QUALITY_MODELS

REF_TEMPLATE = "#/components/schemas/{model}"
Layer = Literal["bronze", "silver", "gold", "sandbox"]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- catalog ----------------------------------------------------------------------------


class LayersResponse(_Payload):
    """``GET catalog/layers``: the layers, or why there are none."""

    exists: bool
    message: str | None = None
    user: str
    layers: list[LayerInfo]


class TablesQuery(_Payload):
    """Query of ``GET catalog/tables``."""

    layer: Layer | None = None
    q: str | None = Field(None, description="Search text; every word must match.")
    offset: int = Field(0, ge=0)
    limit: int = Field(100, ge=1, le=1000)

    @field_validator("q")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None


class AtQuery(_Payload):
    """``?at=`` (a snapshot id) of a table's detail."""

    at: int | None = Field(None, ge=0, description="Snapshot id (time travel).")


class PreviewQuery(AtQuery):
    """Query of ``GET catalog/tables/{name}/preview``."""

    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=MAX_PREVIEW_ROWS)


class ProfileQuery(_Payload):
    """Query of ``GET catalog/tables/{name}/profile``."""

    refresh: bool = False


class Writer(_Payload):
    """A pipeline task that wrote the table (from run records)."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)

    pipeline: str
    task: str
    last_run_id: str | None = Field(
        None, description="Null when you may not see the pipeline's runs (not yours)."
    )
    last_written: datetime | None = None
    runs: int | None = None


class Snippets(_Payload):
    """Code that reads the table, ready to paste into a cell."""

    sql: str
    ibis: str


class TableDetail(TableDescription):
    """``GET catalog/tables/{name}``: the description plus writers and snippets."""

    at: int | None = Field(None, description="The snapshot the columns and rows describe.")
    writers: list[Writer]
    lineage_error: str | None = Field(
        None, description="Why the writers could not be listed (lineage unavailable), else null."
    )
    snippets: Snippets


# -- schedule ---------------------------------------------------------------------------


class CronQuery(_Payload):
    """Query of ``GET schedule/cron``."""

    cron: str
    timezone: str = "UTC"


class CronPreview(_Payload):
    """A cron expression explained: in words and its next three times."""

    cron: str
    timezone: str
    description: str
    next: list[str] = Field(description="ISO 8601 times with the zone's UTC offset.")


class NotebookQuery(_Payload):
    """Query of ``GET schedule/notebook``."""

    path: str = Field(description="Relative to the server root, as in the Contents API.")


class NotebookParameter(_Payload):
    """A parameter of a notebook's ``parameters`` cell (papermill's inspection)."""

    name: str
    type: str | None = None
    default: str | None = None
    help: str | None = None


class NotebookInfo(_Payload):
    """What "Schedule this notebook" needs to know about a notebook."""

    path: str
    suggested_name: str
    has_parameters_cell: bool
    parameters: list[NotebookParameter]
    existing: bool = Field(description="Whether a pipeline of the suggested name exists.")
    declared: list[jobs_models.DeclaredParameter] = Field(
        default_factory=list,
        description="The widget parameters of its parameters cell (workspace.params), read "
        "statically: the form shows the same controls.",
    )


class PromoteRequest(_Payload):
    """Body of ``POST schedule/promote``."""

    path: str
    name: str
    cron: str | None = None
    timezone: str = "UTC"
    parameters: dict[str, Any] = Field(default_factory=dict)
    force: bool = False

    @field_validator("cron")
    @classmethod
    def _blank_cron(cls, value: str | None) -> str | None:
        return value if value and value.strip() else None


class PromoteResponse(_Payload):
    """A promoted pipeline."""

    pipeline: str
    folder: str
    ok: bool
    message: str
    report_url: str | None = None
    pipeline_url: str
    approval: Literal["pending", "approved"] | None = Field(
        None,
        description="Under the hub: 'pending' (it waits for an engineer's approval before it "
        "runs) or 'approved'; null: promoted directly (no review).",
    )


class PromoteError(jobs_models.ErrorResponse):
    """A failed promotion: the error plus the report of the failed test run, if any."""

    report_url: str | None = None


#: Models published under ``components.schemas`` of the OpenAPI file.
SCHEMA_MODELS: tuple[type[BaseModel], ...] = (
    LayersResponse,
    CatalogPage,
    TableDetail,
    TablePreview,
    TableProfile,
    CronPreview,
    NotebookInfo,
    PromoteRequest,
    PromoteResponse,
    PromoteError,
    *QUALITY_MODELS,
    *jobs_models.SCHEMA_MODELS,
)


def component_schemas() -> dict[str, Any]:
    """JSON schemas of the API payloads, keyed by model name, for ``components.schemas``.

    Examples
    --------
    >>> "TableDetail" in component_schemas()
    True
    """
    models = list(dict.fromkeys(SCHEMA_MODELS))
    _, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF_TEMPLATE)
    return dict(sorted(top.get("$defs", {}).items()))
