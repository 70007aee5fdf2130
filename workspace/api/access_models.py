"""The payloads of the access routes (:mod:`workspace.api.access_routes`).

Bodies and queries are validated here (pydantic) before the lifecycle of
:mod:`workspace.governance.access` sees them; answers are the store's
:class:`~workspace.governance.access_store.AccessRequest` and the lifecycle's
:class:`~workspace.governance.access_policy.GrantView`, wrapped in lists.

Examples
--------
>>> AccessRequestBody(target="silver.customers", reason="churn study").days
30
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workspace.governance.access_policy import DEFAULT_DAYS, MAX_DAYS, GrantView
from workspace.governance.access_store import AccessRequest

__all__ = [
    "ACCESS_MODELS",
    "AccessDecision",
    "AccessRequest",
    "AccessRequestBody",
    "AccessRequestList",
    "AccessRequestView",
    "GrantBody",
    "GrantList",
    "GrantView",
    "GrantsQuery",
    "RequestsQuery",
    "RevokeQuery",
]

_Days = Field(DEFAULT_DAYS, ge=1, le=MAX_DAYS, description="How long the grant lasts, in days.")


class AccessRequestBody(BaseModel):
    """``POST access/requests``: what the caller asks for, and why."""

    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, description="A protected table (layer.table) or a tier.")
    reason: str = Field(min_length=1, max_length=2000)
    days: int = _Days
    rows: str | None = Field(
        None, max_length=2000,
        description="A row filter: only the rows this condition keeps (a table, not a tier).",
    )  # fmt: skip


class AccessDecision(BaseModel):
    """``POST access/requests/{request_id}/approve|deny``: an optional note."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(None, max_length=2000)


class GrantBody(BaseModel):
    """``POST access/grants``: the approvers' shortcut, without a request."""

    model_config = ConfigDict(extra="forbid")

    user: str = Field(
        min_length=1, description="A user, or ``group:NAME``: every member of a hub group."
    )
    target: str = Field(min_length=1)
    days: int = _Days
    rows: str | None = Field(
        None, max_length=2000,
        description="A row filter: only the rows this condition keeps (a table, not a tier).",
    )  # fmt: skip


class RevokeQuery(BaseModel):
    """``DELETE access/grants?user=&target=``."""

    user: str = Field(min_length=1)
    target: str = Field(min_length=1)


class GrantsQuery(BaseModel):
    """``GET access/grants``: filters; ``ended`` lists ended grants too."""

    user: str | None = None
    table: str | None = None
    ended: bool = False


class RequestsQuery(BaseModel):
    """``GET access/requests``: pending ones by default."""

    status: Literal["pending", "approved", "denied", "all"] = "pending"
    user: str | None = None


class AccessRequestView(AccessRequest):
    """A request with whether the caller may approve or deny it."""

    can_decide: bool = False


class AccessRequestList(BaseModel):
    requests: list[AccessRequestView]


class GrantList(BaseModel):
    grants: list[GrantView]


#: Published under ``components.schemas`` (the OpenAPI documents, the Lab's TS types).
ACCESS_MODELS: tuple[type[BaseModel], ...] = (
    AccessRequestBody,
    AccessDecision,
    GrantBody,
    AccessRequest,
    AccessRequestList,
    GrantView,
    GrantList,
)
