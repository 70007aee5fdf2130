"""Behind JupyterHub, the server extension's jobs routes forward to the scheduler service.

A single-user server must neither open the run store nor decide who may see or trigger what.
Under the hub, with the scheduler service configured, :class:`SchedulerProxy` sends each
``workspace/api/jobs/<path>`` request to ``{WORKSPACE_SCHEDULER_URL}api/jobs/<path>`` with the
server's hub token, and returns the service's answer.

Design notes (links, environment): docs/extension-api.md, "Module notes".
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest, HTTPResponse

#: The environment the hub gives a single-user server (the last one from our hub config).
ENV_VARS = ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "WORKSPACE_SCHEDULER_URL")
#: The scheduler service's public path when its URL has none (the hub's default prefix).
DEFAULT_PUBLIC_PREFIX = "/services/scheduler/"
#: Links in the service's payloads that the browser opens.
LINK_KEYS = frozenset({"report_url", "log_url"})
#: Response headers relayed from the service (reports are HTML under a strict CSP).
RELAYED_HEADERS = (
    "Content-Type",
    "Content-Security-Policy",
    "Referrer-Policy",
    "X-Content-Type-Options",
    "Cache-Control",
)
#: Query arguments that authenticate to *this* server and must not reach the service.
_LOCAL_ARGS = frozenset({"token", "_xsrf"})


@dataclass(frozen=True)
class Relayed:
    """The service's answer: status, headers to relay, and the (rewritten) body."""

    status: int
    headers: dict[str, str]
    body: bytes
    location: str | None = None


@dataclass(frozen=True)
class SchedulerProxy:
    """Forward jobs requests to the scheduler service with the server's hub token.

    Examples
    --------
    >>> proxy = SchedulerProxy("http://127.0.0.1:8082/services/scheduler/", "t")
    >>> proxy.url("runs/abc", "")
    'http://127.0.0.1:8082/services/scheduler/api/jobs/runs/abc'
    >>> proxy.public_link("http://127.0.0.1:8082/services/scheduler/api/jobs/runs/abc/report")
    '/services/scheduler/api/jobs/runs/abc/report'
    >>> SchedulerProxy.from_env({}) is None
    True
    """

    base_url: str
    token: str
    timeout: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SchedulerProxy | None:
        """The proxy configured by the hub, ``None`` outside it (or without a scheduler)."""
        env = os.environ if environ is None else environ
        if not all(env.get(name) for name in ENV_VARS):
            return None
        base = env["WORKSPACE_SCHEDULER_URL"].rstrip("/") + "/"
        return cls(base_url=base, token=env["JUPYTERHUB_API_TOKEN"])

    @property
    def public_prefix(self) -> str:
        """The service's path under the hub, e.g. ``/services/scheduler/``."""
        path = urlparse(self.base_url).path
        return path if path and path != "/" else DEFAULT_PUBLIC_PREFIX

    def url(self, path: str, query: str) -> str:
        """The service URL of ``api/jobs/<path>`` with ``query`` (already encoded)."""
        url = self.base_url + "api/jobs/" + path.lstrip("/")
        return f"{url}?{query}" if query else url

    def public_link(self, link: str) -> str:
        """A link of the service as a path the browser reaches through the hub's proxy."""
        parsed = urlparse(link)
        if not parsed.scheme and not parsed.netloc:
            if link.startswith("/"):
                return link
            return self.public_prefix + link
        path = parsed.path
        base_path = urlparse(self.base_url).path
        if base_path and base_path != "/" and path.startswith(base_path):
            path = self.public_prefix + path[len(base_path) :]
        return path + (f"?{parsed.query}" if parsed.query else "")

    def rewrite(self, payload: Any) -> Any:
        """``payload`` with every ``report_url``/``log_url`` made a public path."""
        if isinstance(payload, dict):
            return {
                key: (
                    self.public_link(value)
                    if key in LINK_KEYS and isinstance(value, str)
                    else self.rewrite(value)
                )
                for key, value in payload.items()
            }
        if isinstance(payload, list):
            return [self.rewrite(item) for item in payload]
        return payload

    def local_location(self, location: str, local_jobs: str) -> str:
        """The service's ``Location`` (``.../api/jobs/runs/<id>``) as this server's route
        (``local_jobs`` is ``{base_url}workspace/api/jobs/``)."""
        path = urlparse(location).path
        marker = "api/jobs/"
        index = path.find(marker)
        if index < 0:
            return location
        return local_jobs + path[index + len(marker) :]

    async def forward(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[bytes]],
        body: bytes,
        *,
        timeout: float | None = None,
    ) -> Relayed:
        """Send the request to the service; its answer (any status) as :class:`Relayed`.

        ``timeout`` overrides the proxy's for a slow route (a promotion's test run).

        Raises :class:`OSError` (or a tornado timeout) when the service cannot be reached.
        """
        pairs = [
            (key, value.decode("utf-8", "replace"))
            for key, values in query.items()
            if key not in _LOCAL_ARGS
            for value in values
        ]
        request = HTTPRequest(
            self.url(path, urlencode(pairs)),
            method=method,
            headers={
                "Authorization": f"token {self.token}",
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if method != "GET" else {}),
            },
            body=(body or b"{}") if method not in ("GET", "HEAD", "DELETE") else None,
            follow_redirects=False,
            request_timeout=timeout or self.timeout,
        )
        try:
            response: HTTPResponse = await AsyncHTTPClient().fetch(request, raise_error=False)
        except HTTPClientError as exc:  # pragma: no cover - raise_error=False
            if exc.response is None:
                raise
            response = exc.response
        if response.code == 599:  # connection failure / timeout
            raise OSError(str(response.error or "the scheduler service did not answer"))
        headers = {
            name: response.headers[name] for name in RELAYED_HEADERS if name in response.headers
        }
        content = response.body or b""
        if "json" in headers.get("Content-Type", "") and content:
            try:
                data = json.loads(content)
            except (json.JSONDecodeError, UnicodeDecodeError):
                pass
            else:
                content = json.dumps(self.rewrite(data)).encode()
        return Relayed(
            status=response.code,
            headers=headers,
            body=content,
            location=response.headers.get("Location"),
        )


__all__ = ["ENV_VARS", "Relayed", "SchedulerProxy"]
