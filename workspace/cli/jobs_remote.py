"""The scheduler service seen from a Lab terminal: ``workspace`` commands behind the hub.

With ``WORKSPACE_SCHEDULER_URL`` and ``JUPYTERHUB_API_TOKEN`` set, :class:`SchedulerClient`
sends ``workspace promote`` and ``workspace jobs ...`` to the service as that hub user.
Design notes: docs/api.md, "Module notes".

Examples
--------
>>> SchedulerClient.from_env({}) is None
True
>>> SchedulerClient.from_env({"WORKSPACE_SCHEDULER_URL": "http://127.0.0.1:8082/services/"
...     "scheduler", "JUPYTERHUB_API_TOKEN": "t"}).url("pipelines")
'http://127.0.0.1:8082/services/scheduler/api/jobs/pipelines'
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from workspace.lake.errors import WorkspaceError

ENV_URL = "WORKSPACE_SCHEDULER_URL"
ENV_TOKEN = "JUPYTERHUB_API_TOKEN"


class ServiceError(WorkspaceError):
    """The scheduler service refused or failed a request; the message is the service's."""

    def __init__(self, status: int, message: str, body: Mapping[str, Any] | None = None) -> None:
        self.status = status
        self.body = dict(body or {})
        super().__init__(message)


@dataclass(frozen=True)
class SchedulerClient:
    """Calls ``{WORKSPACE_SCHEDULER_URL}api/jobs/...`` with the user's hub token."""

    base_url: str
    token: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SchedulerClient | None:
        """The client for this terminal's hub user, ``None`` outside the hub."""
        env = os.environ if environ is None else environ
        url, token = env.get(ENV_URL, "").strip(), env.get(ENV_TOKEN, "").strip()
        if not url or not token:
            return None
        return cls(base_url=url.rstrip("/") + "/", token=token)

    def url(self, path: str) -> str:
        return f"{self.base_url}api/jobs/{path.lstrip('/')}"

    def public(self, path: str) -> str:
        """A path of the service as the browser reaches it through the hub."""
        prefix = urlparse(self.base_url).path or "/services/scheduler/"
        return prefix.rstrip("/") + "/api/jobs/" + path.lstrip("/")

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timeout: float = 60.0,
        ok: tuple[int, ...] = (),
    ) -> dict[str, Any]:
        """The JSON answer of a request; :class:`ServiceError` for a status >= 400 that is
        not in ``ok``, :class:`WorkspaceError` when the service cannot be reached."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url(path),
            data=data if method != "GET" else None,
            method=method,
            headers={
                "Authorization": f"token {self.token}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
            exc.close()
        except (urllib.error.URLError, OSError) as exc:
            raise WorkspaceError(
                f"The scheduler service at {self.base_url} did not answer ({exc}); is the hub "
                f"running? Unset {ENV_URL} to work on a local scheduled/ folder."
            ) from None
        try:
            answer: dict[str, Any] = json.loads(raw or b"{}")
        except ValueError:
            answer = {"error": raw.decode("utf-8", "replace")[:300]}
        if status >= 400 and status not in ok:
            message = answer.get("error") or answer.get("message") or f"HTTP {status}"
            raise ServiceError(status, f"scheduler service: {message}", answer)
        answer.setdefault("_status", status)
        return answer


__all__ = ["ENV_TOKEN", "ENV_URL", "SchedulerClient", "ServiceError"]
