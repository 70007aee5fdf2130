"""The jobs routes as the ``workspace jobs`` commands call them: in this process, or through
the hub's scheduler service.

Every command names a route of :mod:`workspace.api.routes` and gets its JSON answer:
:class:`LocalJobs` runs it here as the OS user, :class:`RemoteJobs` sends it to the scheduler
service as the terminal's hub user. Design notes: docs/api.md, "Module notes".

Examples
--------
>>> RemoteJobs.path_of("runs", query={"pipeline": "daily", "state": ["failed", "queued"]})
'runs?pipeline=daily&state=failed%2Cqueued'
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

from pydantic import ValidationError

from workspace.cli.jobs_remote import SchedulerClient
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from workspace.api.service import JobsService

__all__ = ["JobsClient", "LocalJobs", "RemoteJobs", "jobs_client"]


class JobsClient(Protocol):
    """Calls a jobs route by name and returns its JSON answer."""

    #: True when the routes run in this process (the run store is reachable here)
    local: bool

    def call(
        self, route: str, /, *, query: dict[str, Any] | None = None, body: Any = None, **args: Any
    ) -> dict[str, Any]:
        """The JSON answer of ``route`` with path ``args``, ``query`` and ``body``."""
        ...


class LocalJobs:
    """The routes run in this process for the local OS user, who owns the workspace."""

    local = True

    def __init__(self, service: JobsService, user: str | None = None) -> None:
        from workspace.api.authz import LocalUser

        self.service = service
        self.auth = LocalUser(user or getpass.getuser())

    def call(
        self, route: str, /, *, query: dict[str, Any] | None = None, body: Any = None, **args: Any
    ) -> dict[str, Any]:
        import json

        from workspace.api.mount import invoke
        from workspace.api.routes import ROUTES_BY_NAME

        r = ROUTES_BY_NAME[route]
        try:
            q = r.query.model_validate(query or {}) if r.query is not None else None
            b = r.body.model_validate(body or {}) if r.body is not None else None
        except ValidationError as exc:  # the message the API would answer with its 400
            from workspace.api.errors import validation_body

            raise WorkspaceError(validation_body(exc).error) from None
        result = invoke(r, self.service, self.auth, {k: str(v) for k, v in args.items()},
                        query=q, body=b)  # fmt: skip
        answer: dict[str, Any] = json.loads(self.auth.present(result))
        return answer


class RemoteJobs:
    """The routes sent to the scheduler service as this terminal's hub user."""

    local = False

    def __init__(self, client: SchedulerClient) -> None:
        self.client = client

    @staticmethod
    def path_of(route: str, /, *, query: dict[str, Any] | None = None, **args: Any) -> str:
        """The route's path relative to the jobs API, with its query string."""
        from workspace.api.routes import route_path

        path = route_path(route, **args)

        def text(v: Any) -> str:
            if isinstance(v, list | tuple):
                return ",".join(map(text, v))
            return v.isoformat() if hasattr(v, "isoformat") else str(v)

        pairs = {k: text(v) for k, v in (query or {}).items() if v is not None and v != []}
        return f"{path}?{urlencode(pairs)}" if pairs else path

    def call(
        self, route: str, /, *, query: dict[str, Any] | None = None, body: Any = None, **args: Any
    ) -> dict[str, Any]:
        from workspace.api.routes import ROUTES_BY_NAME

        method = ROUTES_BY_NAME[route].method
        answer = self.client.call(method, self.path_of(route, query=query, **args), body)
        answer.pop("_status", None)
        return answer


@contextmanager
def jobs_client(scheduled: Path) -> Iterator[JobsClient]:
    """The scheduler service's routes behind the hub, else the local ones over ``scheduled``
    and this workspace's run store (closed after use)."""
    remote = SchedulerClient.from_env()
    if remote is not None:
        yield RemoteJobs(remote)
        return
    from workspace.api.service import JobsService
    from workspace.lake.settings import Settings

    service = JobsService(Settings.resolve(), scheduled)
    try:
        yield LocalJobs(service)
    finally:
        service.store.close()
