"""Who may see which pipeline's reports: the viewer (from hub OAuth) and each pipeline's audience.

The viewer is an :class:`~workspace.api.auth.Identity`; the pipelines come from the one
discovery (:func:`scan_pipelines`), with the owner and audience the scheduler service
recorded. :func:`can_view` decides: admins, engineers and the owner always; everyone else only
through the pipeline's audience (**private by default**, failing closed).

The rules in detail: docs/reports.md, "Module notes".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from workspace.api.auth import PIPELINE_NAME, Identity
from workspace.jobs.paths import SPEC_FILE
from workspace.jobs.spec.discovery import scan
from workspace.jobs.spec.pipeline import Audience, Pipeline, PipelineSpecError

if TYPE_CHECKING:
    from workspace.api.service import JobsService

__all__ = ["Audience", "PipelineAccess", "can_view", "scan_pipelines"]


@dataclass(frozen=True)
class PipelineAccess:
    """What decides who sees a pipeline's reports.

    ``restricted`` is always True now (no audience means private); ``public`` stays for
    callers that ask. ``problem`` says why a pipeline has no usable spec (it fails closed).
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

    @classmethod
    def from_spec(cls, name: str, spec: Pipeline | PipelineSpecError) -> PipelineAccess:
        """From the discovery's answer for folder ``name``: a valid spec's initial owner,
        audience and description; for an invalid one, nothing but the problem (fails
        closed: no owner, no audience).

        Examples
        --------
        >>> PipelineAccess.from_spec("hr", PipelineSpecError("hr/pipeline.yaml: bad")).problem
        'hr/pipeline.yaml: bad'
        """
        if isinstance(spec, PipelineSpecError):
            return cls(name, problem=str(spec).splitlines()[0])
        return cls(name, owner=spec.owner, description=spec.description, audience=spec.audience)


def scan_pipelines(
    scheduled_root: Path, known: Iterable[str] = (), *, jobs: JobsService | None = None
) -> dict[str, PipelineAccess]:
    """Every pipeline under ``scheduled_root`` (named by its folder, as the one discovery,
    :func:`workspace.jobs.spec.discovery.scan`, finds them) plus ``known`` names from the
    run store that have no folder any more.

    With ``jobs`` (the reports service), owner and audience are the run store's records (a
    folder not met yet is registered, adopting its initial values once); without it, a
    valid spec's initial values (tests, tools), still private unless an audience is given.
    """
    found = {
        name: PipelineAccess.from_spec(name, spec)
        for name, spec in scan(scheduled_root).items()
        if PIPELINE_NAME.match(name)
    }
    for name in known:
        found.setdefault(name, PipelineAccess(name, problem=f"no {SPEC_FILE}"))
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


def can_view(viewer: Identity, access: PipelineAccess) -> bool:
    """May ``viewer`` see the reports of the pipeline described by ``access``?

    Examples
    --------
    >>> from workspace.api.auth import STAKEHOLDERS, VIEW_SCOPE
    >>> ada = Identity("ada", frozenset({STAKEHOLDERS}), frozenset({VIEW_SCOPE}))
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
