"""``POST governance/classify``: the table's owner and the ``legal`` group set a tier through
the scheduler service.

Classifying moves data into root-only trees, so the route lets the people allowed to do it
go through the service (root), which checks the caller first: admins and ``legal`` classify
any table; a table's owner may raise or set its tier, but lowering needs ``legal``'s approval.
The audit entry names the caller. Design notes: docs/governance.md, "Module notes".

Examples
--------
>>> ClassifyBody(table="silver.customers", tier="confidential", pii={"phone": "partial"}).tier
'confidential'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from workspace.api.access_routes import caller_of
from workspace.governance.access_policy import AccessDenied
from workspace.governance.classify import ClassifyResult, classify
from workspace.lake.protected import read_index
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.api.routes import Call

__all__ = ["ClassifyBody", "classify_table", "table_owner"]


class ClassifyBody(BaseModel):
    """What ``workspace classify`` sends: the table, its tier and its PII masks."""

    model_config = ConfigDict(extra="forbid")

    table: str = Field(min_length=1, description="layer.table")
    tier: str = Field(min_length=1)
    pii: dict[str, str] = Field(
        default_factory=dict, description="column -> mask (hash, redact, partial, generalise)"
    )
    approve: bool = Field(False, description="Approve lowering the tier (legal, admins).")
    owner: str | None = None
    description: str | None = None


def table_owner(settings: Settings, table: str) -> str | None:
    """The owner of ``table``: the protected index's, else its catalog annotation's."""
    entry = read_index(settings).get(table)
    if entry is not None:
        return entry.owner or None
    from workspace.lake.workspace import Workspace

    with Workspace(settings, read_only=True) as ws:
        return ws.catalog.describe(table).owner or None


def classify_table(c: Call) -> ClassifyResult:
    """Check the caller (see the module docs), then classify as the service."""
    body: ClassifyBody = c.body
    settings = c.service.settings
    caller = caller_of(c.auth)
    if not caller.legal:
        owner = table_owner(settings, body.table)
        if owner != caller.name:
            raise AccessDenied(
                f"{caller.name} may not classify {body.table}: its owner "
                f"({owner or 'none'}) and the legal group do."
            )
        if body.approve:
            raise AccessDenied(
                f"Lowering the tier of {body.table} is approved by the legal group, not by "
                "its owner."
            )
    return classify(
        settings, body.table, body.tier, pii=body.pii or None, approve=body.approve,
        owner=body.owner, description=body.description, actor=caller.name,
    )  # fmt: skip
