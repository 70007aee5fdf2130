"""Who may call a route: the :class:`Authorizer` seam between the route table and a front end.

Every route of :mod:`workspace.api.routes` names the :class:`Permission` it needs; a front end
answers it through its own authorizer: :class:`LocalUser` (the single-user Lab), the
scheduler service's hub scopes and the reports service's viewer (both
:class:`IdentityAuthorizer`); a Lab behind the hub forwards the request to the scheduler.

Examples
--------
>>> local = LocalUser("ada")
>>> local.can_change("bob"), local.manager
(True, True)
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from workspace.api.auth import Identity

if TYPE_CHECKING:
    from workspace.api.routes import Call
    from workspace.api.service import JobsService


class Permission(StrEnum):
    """What a route needs (hub scopes in brackets)."""

    #: read the scheduler at all (``custom:pipelines:run`` or ``custom:pipelines:manage``)
    RUN = "run"
    #: see one pipeline or run in full: its owner, engineers and admins
    SEE = "see"
    #: trigger, pause, resume, hand over, share, repair, cancel: the owner (with ``run``),
    #: engineers and admins
    CHANGE = "change"
    #: approve a pipeline pending review (``custom:pipelines:manage``)
    APPROVE = "approve"
    #: re-run a pipeline's report with other values: its report audience
    #: (:func:`workspace.reports.access.can_view`)
    VIEW = "view"


class Authorizer(Protocol):
    """The caller of one request, as a front end authenticated them."""

    @property
    def user(self) -> str:
        """The name recorded as ``by`` / ``requested_by``."""
        ...

    @property
    def manager(self) -> bool:
        """Whether the caller manages every pipeline (approves, sees every run)."""
        ...

    def can_change(self, owner: str | None) -> bool:
        """Whether the caller may change (and see in full) a pipeline owned by ``owner``."""
        ...

    def visible(self, service: JobsService, name: str) -> None:
        """Raise a 404 error, as for an unknown pipeline, unless the caller may see ``name``."""
        ...

    def may_see(self, service: JobsService, *, pipeline: str | None = None,
                run_id: str | None = None) -> None:  # fmt: skip
        """Raise a 403 error unless the caller may see the pipeline or the run's pipeline
        (404 if the run does not exist)."""
        ...

    def may_change(self, service: JobsService, *, pipeline: str | None = None,
                   run_id: str | None = None) -> None:  # fmt: skip
        """Raise a 403 error unless the caller may change the pipeline (or the run's)."""
        ...

    def may_approve(self, pipeline: str) -> None:
        """Raise a 403 error unless the caller may approve ``pipeline``."""
        ...

    def may_view(self, service: JobsService, pipeline: str) -> None:
        """Raise a 403 error unless the caller is in the audience of ``pipeline``'s reports."""
        ...

    def present(self, payload: BaseModel) -> str:
        """``payload`` as JSON text, as the caller may see it."""
        ...


class LocalUser:
    """The single-user Lab's user: the workspace is theirs, they may do everything.

    The other front ends:

    - the scheduler service's hub scopes (``workspace.hub.jobs_authz.HubScopes``);
    - the reports service's report viewer (``workspace.reports.reruns.ViewerAuthorizer``);
    - a Lab behind the hub forwards the whole request to the scheduler service instead, which
      authorizes it there (``workspace.server.scheduler_proxy``).

    Checks that read the run store (who owns a pipeline or a run) are blocking; the
    dispatcher calls :func:`authorize` on a worker thread.
    """

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def user(self) -> str:
        return self._name

    @property
    def manager(self) -> bool:
        return True

    def can_change(self, owner: str | None) -> bool:
        return True

    def visible(self, service: JobsService, name: str) -> None:
        return None

    def may_see(self, service: JobsService, *, pipeline: str | None = None,
                run_id: str | None = None) -> None:  # fmt: skip
        return None

    def may_change(self, service: JobsService, *, pipeline: str | None = None,
                   run_id: str | None = None) -> None:  # fmt: skip
        return None

    def may_approve(self, pipeline: str) -> None:
        return None

    def may_view(self, service: JobsService, pipeline: str) -> None:
        return None

    def present(self, payload: BaseModel) -> str:
        return payload.model_dump_json()


class IdentityAuthorizer:
    """The identity adapter of the authorizers of a hub :class:`~workspace.api.auth.Identity`
    (the scheduler's hub scopes, the reports service's viewer): who the caller is, whether
    they manage every pipeline, whose pipelines they may change, and the payload as JSON.
    Subclasses add the route checks (``visible``, ``may_see``, ...).

    Examples
    --------
    >>> from workspace.api.auth import RUN_SCOPE
    >>> ada = IdentityAuthorizer(Identity("ada", scopes=frozenset({RUN_SCOPE})))
    >>> ada.user, ada.manager, ada.can_change("ada"), ada.can_change("bob")
    ('ada', False, True, False)
    """

    def __init__(self, identity: Identity) -> None:
        self.identity = identity

    @property
    def user(self) -> str:
        return self.identity.name

    @property
    def manager(self) -> bool:
        return self.identity.manager

    def can_change(self, owner: str | None) -> bool:
        return self.identity.can_change(owner)

    def present(self, payload: BaseModel) -> str:
        return payload.model_dump_json()


def authorize(permission: Permission, call: Call) -> None:
    """Check ``permission`` for the route's target: the run (``run_id``), the pipeline
    (``name`` in the path, or ``?pipeline=`` of a runs query), or nothing (``run``).

    A pipeline in the path that the caller may not see is 404 as for an unknown one; a run
    or a queried pipeline is 403.
    """
    auth, service, args = call.auth, call.service, call.args
    if permission is Permission.RUN:
        return
    if permission is Permission.APPROVE:
        auth.may_approve(args["name"])
    elif permission is Permission.VIEW:
        auth.may_view(service, args["name"])
    elif permission is Permission.CHANGE:
        auth.may_change(service, pipeline=args.get("name"), run_id=args.get("run_id"))
    elif "run_id" in args:
        auth.may_see(service, run_id=args["run_id"])
    elif "name" in args:
        auth.visible(service, args["name"])
    else:
        pipeline = getattr(call.query, "pipeline", None)
        if pipeline is not None:
            auth.may_see(service, pipeline=pipeline)
