"""Who may see which pipeline's reports: the viewer (from hub OAuth) and each pipeline's audience.

A pipeline declares its audience in ``scheduled/<name>/pipeline.yaml``::

    owner: ada
    audience:
      groups: [stakeholders]
      users: [grace]

Rules (:func:`can_view`):

* the viewer needs the scope ``custom:reports:view`` (admins and holders of
  ``custom:pipelines:manage`` need nothing more);
* admins, engineers (group ``engineers`` or scope ``custom:pipelines:manage``) and the
  pipeline's ``owner`` always see it;
* no ``audience`` key: every viewer sees it;
* an ``audience``: its users, and members of its groups, see it. An empty or null audience
  means "owner and engineers only", and an audience that does not parse (a string, unknown
  keys, a broken ``pipeline.yaml``) fails closed the same way;
* a pipeline known only from the run store (its folder is gone) has no declared audience:
  only engineers and admins see it.

``spec.py`` does not know ``audience`` yet, so it is parsed here from the YAML directly,
ignoring every other field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from workspace.jobs.spec import Audience

__all__ = [
    "MANAGE_SCOPE",
    "PIPELINE_NAME",
    "VIEW_SCOPE",
    "Audience",
    "PipelineAccess",
    "Viewer",
    "can_view",
    "read_access",
    "scan_pipelines",
]

VIEW_SCOPE = "custom:reports:view"
MANAGE_SCOPE = "custom:pipelines:manage"
ENGINEERS = "engineers"
STAKEHOLDERS = "stakeholders"
SPEC_FILE = "pipeline.yaml"
#: Pipeline names (the folder name rule of ``spec.py``).
PIPELINE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _SpecFields(BaseModel):
    """The fields of pipeline.yaml the reports service reads; the rest is spec.py's."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    description: str | None = None
    owner: str | None = None
    audience: Audience | None = None


@dataclass(frozen=True)
class PipelineAccess:
    """What decides who sees a pipeline's reports.

    ``restricted`` is False only when pipeline.yaml has no ``audience`` key at all.
    """

    name: str
    owner: str | None = None
    description: str | None = None
    audience: Audience | None = None
    restricted: bool = True
    problem: str | None = None

    @property
    def public(self) -> bool:
        """Every viewer with ``custom:reports:view`` may see it."""
        return not self.restricted


def read_access(folder: Path) -> PipelineAccess:
    """The owner and audience declared in ``folder/pipeline.yaml`` (fails closed).

    Examples
    --------
    >>> read_access(Path("scheduled/sales")).audience  # doctest: +SKIP
    Audience(groups=['stakeholders'], users=[])
    """
    name = folder.name
    try:
        data = yaml.safe_load((folder / SPEC_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return PipelineAccess(name, problem=f"{SPEC_FILE} unreadable: {type(exc).__name__}")
    if not isinstance(data, Mapping):
        return PipelineAccess(name, problem=f"{SPEC_FILE} is not a mapping")
    try:
        fields = _SpecFields.model_validate(data)
    except ValidationError as exc:
        owner = data.get("owner") if isinstance(data.get("owner"), str) else None
        return PipelineAccess(
            name, owner=owner, problem=f"invalid audience: {exc.error_count()} error(s)"
        )
    if fields.name is not None and fields.name != name:
        name = fields.name
    return PipelineAccess(
        name=name,
        owner=fields.owner,
        description=fields.description,
        audience=fields.audience,
        restricted="audience" in data,
    )


def scan_pipelines(scheduled_root: Path, known: Iterable[str] = ()) -> dict[str, PipelineAccess]:
    """Every pipeline under ``scheduled_root`` (one folder each) plus ``known`` names from
    the run store that have no folder any more (restricted to engineers and admins)."""
    found: dict[str, PipelineAccess] = {}
    for spec in sorted(scheduled_root.glob(f"*/{SPEC_FILE}")):
        access = read_access(spec.parent)
        if PIPELINE_NAME.match(access.name):
            found.setdefault(access.name, access)
    for name in known:
        found.setdefault(name, PipelineAccess(name, problem="no pipeline.yaml"))
    return found


@dataclass(frozen=True)
class Viewer:
    """The person behind a request, from the hub's OAuth user model."""

    name: str
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    admin: bool = False

    @classmethod
    def from_hub(cls, model: Mapping[str, Any]) -> Viewer:
        """From ``HubOAuthenticated.current_user`` (``name``, ``groups``, ``scopes``)."""
        return cls(
            name=str(model.get("name", "")),
            groups=frozenset(str(g) for g in model.get("groups") or ()),
            scopes=frozenset(str(s) for s in model.get("scopes") or ()),
            admin=model.get("admin") is True,
        )

    @property
    def sees_everything(self) -> bool:
        """Admins and engineers see every pipeline, whatever its audience."""
        return self.admin or MANAGE_SCOPE in self.scopes or ENGINEERS in self.groups

    @property
    def may_view_reports(self) -> bool:
        """Has the reports scope (or sees everything anyway)."""
        return self.sees_everything or VIEW_SCOPE in self.scopes

    @property
    def stakeholder(self) -> bool:
        """Stakeholders read results: they never get code."""
        return STAKEHOLDERS in self.groups and not self.sees_everything

    def may_see_code(self, access: PipelineAccess) -> bool:
        """Code cells on request (``?code=1``): the owner, engineers and admins only."""
        if self.stakeholder:
            return False
        return self.sees_everything or (access.owner is not None and access.owner == self.name)


def can_view(viewer: Viewer, access: PipelineAccess) -> bool:
    """May ``viewer`` see the reports of the pipeline described by ``access``?

    Examples
    --------
    >>> ada = Viewer("ada", frozenset({"stakeholders"}), frozenset({VIEW_SCOPE}))
    >>> can_view(ada, PipelineAccess("sales", restricted=False))
    True
    >>> can_view(ada, PipelineAccess("hr", audience=Audience(groups=["engineers"])))
    False
    """
    if not viewer.name or not viewer.may_view_reports:
        return False
    if viewer.sees_everything or (access.owner is not None and access.owner == viewer.name):
        return True
    if access.public:
        return True
    audience = access.audience
    if audience is None:
        return False
    return viewer.name in audience.users or bool(viewer.groups & set(audience.groups))
