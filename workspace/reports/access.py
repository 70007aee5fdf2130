"""Who may see which pipeline's reports: the viewer (from hub OAuth) and each pipeline's audience.

A pipeline's owner and audience are what the scheduler service recorded in the run store
(:mod:`workspace.jobs.store.pipelines`): the owner from the identity that promoted it, the
audience set by its owner (``workspace jobs share NAME --group stakeholders``, the Pipelines
panel, ``PUT .../pipelines/NAME/audience``). ``pipeline.yaml``'s ``owner:``/``audience:`` are
only initial values of an operator-installed folder, adopted once (:func:`scan_pipelines`
with ``jobs``).

Rules (:func:`can_view`):

* the viewer needs the scope ``custom:reports:view`` (admins and holders of
  ``custom:pipelines:manage`` need nothing more);
* admins, engineers (group ``engineers`` or scope ``custom:pipelines:manage``) and the
  pipeline's owner always see it;
* **private by default**: without an audience only they see it;
* an audience: its users, and members of its groups, see it. An audience that does not parse
  fails closed the same way;
* a pipeline known only from the run store (its folder is gone) keeps its recorded owner and
  audience; with no record, only engineers and admins see it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from workspace.jobs.spec.pipeline import Audience

if TYPE_CHECKING:
    from workspace.api.service import JobsService

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
#: Pipeline names (the folder name rule of ``jobs/spec/pipeline.py``).
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

    ``restricted`` is always True now (no audience means private); ``public`` stays for
    callers that ask.
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
        restricted=True,
    )


def scan_pipelines(
    scheduled_root: Path, known: Iterable[str] = (), *, jobs: JobsService | None = None
) -> dict[str, PipelineAccess]:
    """Every pipeline under ``scheduled_root`` (named by its folder) plus ``known`` names
    from the run store that have no folder any more.

    With ``jobs`` (the reports service), owner and audience are the run store's records (a
    folder not met yet is registered, adopting its initial values once); without it, the
    files' values (tests, tools), still private unless an audience is given.
    """
    found: dict[str, PipelineAccess] = {}
    for spec in sorted(scheduled_root.glob(f"*/{SPEC_FILE}")):
        name = spec.parent.name
        if PIPELINE_NAME.match(name):
            found[name] = replace(read_access(spec.parent), name=name)
    for name in known:
        found.setdefault(name, PipelineAccess(name, problem="no pipeline.yaml"))
    if jobs is None:
        return found
    return {name: _recorded(jobs, access) for name, access in found.items()}


def _recorded(jobs: JobsService, access: PipelineAccess) -> PipelineAccess:
    """``access`` with the owner and audience the run store records (fails closed)."""
    from workspace.lake.errors import WorkspaceError

    try:
        gov = jobs.governance(access.name)
    except WorkspaceError:  # no record and no valid folder: engineers and admins only
        return replace(access, owner=None, audience=None, problem=access.problem or "unknown")
    return replace(access, owner=gov.owner, audience=gov.audience, restricted=True)


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
