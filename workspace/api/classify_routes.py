"""``governance/classify``: the table's owner and the ``legal`` group set a tier through
the scheduler service (``POST``), and the Lab's Classify dialog reads the choices (``GET``).

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
from workspace.governance.classify import ClassifyResult, classify, read_policy
from workspace.governance.masking import DEFAULT_MASK, MASKS
from workspace.governance.tiers import load_tiers
from workspace.lake.errors import WorkspaceError
from workspace.lake.protected import read_index
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.api.routes import Call

__all__ = [
    "ClassifyBody",
    "ClassifyQuery",
    "ClassifyView",
    "TierInfo",
    "classify_table",
    "classify_view",
    "table_owner",
]


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


class ClassifyQuery(BaseModel):
    """``GET governance/classify?table=``."""

    table: str = Field(min_length=1, description="layer.table")


class TierInfo(BaseModel):
    """One tier, lowest first: whether it moves data out of the shared lake, and encrypts."""

    name: str
    protected: bool
    encrypted: bool


class ClassifyView(BaseModel):
    """What the Classify dialog offers the caller for one table."""

    table: str
    tier: str
    tiers: list[TierInfo]
    masks: list[str]
    default_mask: str
    #: the table's PII columns and their masks (a protected table's policy, else its flags)
    pii: dict[str, str]
    may_classify: bool
    #: lowering a tier needs this (admins and the legal group)
    may_lower: bool
    why_not: str | None = None


def classify_view(c: Call) -> ClassifyView:
    """The tiers, masks and current classification of a table, and what the caller may do."""
    query: ClassifyQuery = c.query
    settings = c.service.settings
    caller = caller_of(c.auth)
    tiers = load_tiers()
    entry = read_index(settings).get(query.table)
    owner = table_owner(settings, query.table)
    pii = read_policy(settings, query.table) if entry is not None and entry.protected else {}
    if not pii:
        from workspace.lake.workspace import Workspace

        try:
            with Workspace(settings, read_only=True) as ws:
                flags = ws.catalog.describe(query.table).columns
        except WorkspaceError:  # a protected table this process cannot open: no flags
            flags = []
        pii = {col.name: DEFAULT_MASK for col in flags if col.pii}
    may = caller.legal or (owner is not None and owner == caller.name)
    why = None if may else f"Only its owner ({owner or 'none'}) and the legal group classify it."
    return ClassifyView(
        table=query.table, tier=entry.tier if entry else tiers.default,
        tiers=[TierInfo(name=t, protected=tiers.protected(t), encrypted=tiers.encrypted(t))
               for t in tiers.names],
        masks=list(MASKS), default_mask=DEFAULT_MASK, pii=pii, may_classify=may,
        may_lower=caller.legal, why_not=why,
    )  # fmt: skip


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
