"""The scheduler service's :class:`~workspace.api.authz.Authorizer`: the caller's hub scopes.

Reading needs ``custom:pipelines:run`` or ``custom:pipelines:manage`` (checked when the
request is authenticated); a pipeline, its runs and its history are for its owner, engineers
and admins (:meth:`~workspace.api.auth.Identity.can_see`); payloads are shaped to what
the caller may see, without the service's folders unless an admin asks
(:mod:`workspace.hub.jobs_visibility`).

Examples
--------
>>> from workspace.api.auth import RUN_SCOPE, Identity
>>> scopes = HubScopes(Identity("ada", scopes=frozenset({RUN_SCOPE})), PathScrubber([]))
>>> scopes.can_change("ada"), scopes.can_change("bob"), scopes.manager
(True, False, False)
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from workspace.api.auth import Identity
from workspace.api.authz import IdentityAuthorizer
from workspace.api.service import JobsService
from workspace.hub.hub_auth import require_change, require_manage, require_see
from workspace.hub.jobs_visibility import PathScrubber, shaped
from workspace.jobs.models import PipelineNotFoundError
from workspace.lake.errors import WorkspaceError
from workspace.reports.reruns import require_audience


class HubScopes(IdentityAuthorizer):
    """What a hub identity may do with the jobs routes."""

    def __init__(self, identity: Identity, scrubber: PathScrubber) -> None:
        super().__init__(identity)
        self.scrubber = scrubber

    def visible(self, service: JobsService, name: str) -> None:
        try:
            owner = service.owner(name)
        except WorkspaceError:
            if self.identity.can_see(None):  # engineers, admins: the real error (400, 404)
                raise
            raise PipelineNotFoundError(name) from None
        if not self.identity.can_see(owner):
            raise PipelineNotFoundError(name)

    def _target(
        self, service: JobsService, pipeline: str | None, run_id: str | None
    ) -> tuple[str, str | None]:
        if run_id is not None:
            return service.run_owner(run_id)
        assert pipeline is not None
        return pipeline, service.owner(pipeline)

    def may_see(
        self, service: JobsService, *, pipeline: str | None = None, run_id: str | None = None
    ) -> None:
        require_see(self.identity, *self._target(service, pipeline, run_id))

    def may_change(
        self, service: JobsService, *, pipeline: str | None = None, run_id: str | None = None
    ) -> None:
        require_change(self.identity, *self._target(service, pipeline, run_id))

    def may_approve(self, pipeline: str) -> None:
        require_manage(self.identity, pipeline, "approve")

    def may_view(self, service: JobsService, pipeline: str) -> None:
        require_audience(self.identity, service, pipeline)

    def present(self, payload: BaseModel) -> str:
        payload = shaped(self.identity, payload)
        if self.identity.admin:
            return payload.model_dump_json()
        data = json.loads(payload.model_dump_json())  # pydantic's JSON (NaN -> null)
        return json.dumps(self.scrubber(data), separators=(",", ":"))
