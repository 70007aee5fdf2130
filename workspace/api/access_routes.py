"""The access routes' calls: requests, decisions, grants and revocations through a service.

Users cannot open the root-only access store, so ``workspace access`` and the Lab call these
routes of the scheduler service (root), which acts for the caller its front end authenticated
(:func:`caller_of`). Every route needs only ``Permission.RUN``; the lifecycle
(:class:`~workspace.governance.access.AccessService`) decides who may do what, from the
caller's hub groups. Design notes: docs/governance.md, "Module notes".

Examples
--------
>>> from workspace.api.authz import LocalUser
>>> caller_of(LocalUser("root"))
Caller(name='root', groups=frozenset(), admin=True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workspace.api.access_models import (
    AccessRequest,
    AccessRequestList,
    AccessRequestView,
    GrantList,
    GrantView,
)
from workspace.api.auth import SERVER_GROUPS
from workspace.governance.access import AccessService
from workspace.governance.access_policy import Caller, Target
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.api.authz import Authorizer
    from workspace.api.routes import Call


def caller_of(auth: Authorizer) -> Caller:
    """The lifecycle's caller for a route's authorizer (see the module docs)."""
    identity: Any = getattr(auth, "identity", None)
    if identity is None:
        return Caller(auth.user, admin=auth.manager)
    return Caller(identity.name, frozenset(identity.groups), bool(identity.admin))


def access_service(settings: Settings) -> AccessService:
    """The lifecycle of ``settings``' workspace; grants go to users with a server only."""
    return AccessService(settings, server_groups=SERVER_GROUPS)


def _svc(c: Call) -> AccessService:
    return access_service(c.service.settings)


def request(c: Call) -> AccessRequest:
    body = c.body
    return _svc(c).request(caller_of(c.auth), body.target, body.reason, body.days, rows=body.rows)


def requests(c: Call) -> AccessRequestList:
    svc, caller = _svc(c), caller_of(c.auth)
    status = None if c.query.status == "all" else c.query.status
    found = svc.requests(caller, status=status, user=c.query.user)
    return AccessRequestList(
        requests=[
            AccessRequestView(
                **r.model_dump(),
                can_decide=r.status == "pending"
                and r.user != caller.name
                and svc.may_approve(caller, Target.parse(r.target)),
            )
            for r in found
        ]
    )


def approve(c: Call) -> GrantView:
    return _svc(c).approve(caller_of(c.auth), int(c.args["request_id"]))


def deny(c: Call) -> AccessRequest:
    note = c.body.note if c.body is not None else None
    return _svc(c).deny(caller_of(c.auth), int(c.args["request_id"]), note)


def grants(c: Call) -> GrantList:
    q = c.query
    found = _svc(c).grants(caller_of(c.auth), user=q.user, table=q.table, active=not q.ended)
    return GrantList(grants=found)


def grant(c: Call) -> GrantView:
    body = c.body
    return _svc(c).grant(caller_of(c.auth), body.user, body.target, body.days, rows=body.rows)


def revoke(c: Call) -> GrantList:
    return GrantList(grants=_svc(c).revoke(caller_of(c.auth), c.query.user, c.query.target))
