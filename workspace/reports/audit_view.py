"""The audit trail for the security team: ``GET /services/reports/audit`` (JSON).

The reports service runs as root, so it can read the trail; it answers only hub admins and
members of the hub group ``security`` (403 for everyone else), with the filters of
``workspace audit``: ``?actor=&action=&target=&since=&limit=``. Each read is itself
recorded (``audit_read``). Create the group on the hub's admin page (Groups) or with
``POST /hub/api/groups/security`` and add the security team to it.

Examples
--------
>>> may_read_audit(Identity(name="sec", groups=frozenset({SECURITY_GROUP})))
True
>>> may_read_audit(Identity(name="ana", groups=frozenset({"analysts"})))
False
"""

from __future__ import annotations

import json
from typing import Any

from jupyterhub.services.auth import HubOAuthenticated
from pydantic import ValidationError
from tornado.web import HTTPError, RequestHandler, authenticated

from workspace.api.auth import Identity
from workspace.governance.audit import AuditQuery, AuditStoreError, record, trail
from workspace.lake.settings import Settings

__all__ = ["SECURITY_GROUP", "AuditHandler", "may_read_audit"]

#: The hub group whose members read the audit trail (besides admins).
SECURITY_GROUP = "security"


def may_read_audit(viewer: Identity) -> bool:
    """Hub admins and the ``security`` group."""
    return viewer.admin or SECURITY_GROUP in viewer.groups


class AuditHandler(HubOAuthenticated, RequestHandler):
    """``GET audit``: the newest entries matching the query, as JSON."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    @authenticated
    def get(self) -> None:
        user = self.current_user
        viewer = Identity.from_hub_model(user if isinstance(user, dict) else {})
        if not may_read_audit(viewer):
            raise HTTPError(403, log_message=f"{viewer.name} may not read the audit trail")
        args: dict[str, Any] = {
            k: self.get_argument(k) for k in ("actor", "action", "target", "since", "limit")
            if self.get_argument(k, None)
        }  # fmt: skip
        try:
            query = AuditQuery.model_validate(args)
        except ValidationError as exc:
            raise HTTPError(400, reason=exc.errors()[0]["msg"][:100]) from None
        settings: Settings = self.settings["workspace_settings"]
        try:
            events = trail(settings).query(query)
        except AuditStoreError:
            events = []
        record(viewer.name, "audit_read", "audit", settings=settings, **args)
        self.finish(json.dumps([e.model_dump() for e in events]))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(json.dumps({"error": self._reason, "status": status_code}))
