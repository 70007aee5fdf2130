"""Behind JupyterHub, "Schedule this notebook" promotes through the scheduler service.

A user's Lab server runs as their OS account and cannot write ``scheduled/`` or ``jobs/``.
With the scheduler service configured (:class:`~workspace.server.scheduler_proxy.SchedulerProxy`),
``POST schedule/promote`` reads the notebook (as the user), posts its content to the
service's ``promotions`` route with the server's hub token, and answers in the Lab's own
payloads; ``GET schedule/reports/<test_id>`` forwards to the service's report of that test
run, which only its promoter (and engineers, admins) may read.

Examples
--------
>>> lab_body({"pipeline": "daily", "ok": True, "message": "m", "folder": "/s/daily",
...           "test_id": "daily-20250101T000000000000"}, "/user/ada/workspace/api/")["report_url"]
'/user/ada/workspace/api/schedule/reports/daily-20250101T000000000000'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tornado.web
from jupyter_server.utils import url_path_join
from tornado.httpclient import HTTPClientError

from workspace.api.models import PromotionRequest
from workspace.server.models import PromoteRequest
from workspace.server.scheduler_proxy import Relayed, SchedulerProxy

if TYPE_CHECKING:
    from workspace.server.schedule_handlers import ScheduleHandler

#: Seconds a promotion (its test run) may take through the service.
PROMOTE_TIMEOUT = 3600.0


def promotion_body(file: Path, request: PromoteRequest, kernel: str) -> bytes:
    """The service's ``PromotionRequest`` for the notebook ``file`` and the Lab's form."""
    notebook = json.loads(file.read_text(encoding="utf-8"))
    payload = PromotionRequest(
        name=request.name,
        notebook=notebook,
        notebook_name=file.name,
        cron=request.cron,
        timezone=request.timezone,
        parameters=request.parameters,
        force=request.force,
        kernel=kernel,
    )
    return payload.model_dump_json().encode()


def lab_body(service: dict[str, Any], api_base: str) -> dict[str, Any]:
    """The Lab's ``PromoteResponse`` (or ``PromoteError``) fields from the service's answer.

    ``api_base`` is this server's ``{base_url}workspace/api/``.
    """
    test_id = service.get("test_id")
    report = url_path_join(api_base, "schedule/reports", test_id) if test_id else None
    return {
        "pipeline": service.get("pipeline", ""),
        "folder": service.get("folder") or "",
        "ok": bool(service.get("ok")),
        "message": service.get("message") or service.get("error") or "",
        "report_url": report,
        "pipeline_url": url_path_join(api_base, "jobs/pipelines", str(service.get("pipeline"))),
        "approval": service.get("approval"),
    }


async def promote(proxy: SchedulerProxy, body: bytes) -> Relayed:
    """Post a promotion to the service (long timeout: it waits for the test run)."""
    return await proxy.forward("POST", "promotions", {}, body, timeout=PROMOTE_TIMEOUT)


async def test_report(proxy: SchedulerProxy, test_id: str) -> Relayed:
    """The service's report of a promotion test run (its status and page as they are)."""
    return await proxy.forward("GET", f"promotions/{test_id}/report", {}, b"")


async def _relay(proxy: SchedulerProxy, call: Any) -> Relayed:
    try:
        return await call
    except (OSError, HTTPClientError) as exc:
        raise tornado.web.HTTPError(
            502, "The scheduler service (%s) did not answer: %s", proxy.base_url, exc
        ) from None


async def forward_promote(handler: ScheduleHandler, request: PromoteRequest) -> bool:
    """Under the hub: promote through the service and answer; False outside the hub."""
    proxy = handler.scheduler_proxy
    if proxy is None:
        return False
    from workspace.server import schedule_ops
    from workspace.server.models import PromoteError, PromoteResponse

    def read() -> bytes:
        file = schedule_ops.notebook_path(handler.root_dir, request.path)
        kernel = json.loads(file.read_text(encoding="utf-8")).get("metadata", {})
        name = kernel.get("kernelspec", {}).get("name") or "workspace"
        return promotion_body(file, request, str(name))

    body = await handler.blocking(read)
    relayed = await _relay(proxy, promote(proxy, body))
    try:
        answer = json.loads(relayed.body or b"{}")
    except ValueError:
        answer = {"error": "The scheduler service answered something that is not JSON."}
    fields = lab_body(answer, handler.api_url() + "/")
    if relayed.status == 201:
        handler.send(PromoteResponse(**fields), status=201)
    else:
        error = PromoteError(
            status=relayed.status,
            error=answer.get("message") or answer.get("error") or f"HTTP {relayed.status}",
            errors=answer.get("errors") or [],
            report_url=fields["report_url"],
        )
        handler.send(error, status=relayed.status)
    return True


async def forward_report(handler: ScheduleHandler, test_id: str) -> bool:
    """Under the hub: relay the service's report of a promotion test; False outside it."""
    proxy = handler.scheduler_proxy
    if proxy is None:
        return False
    relayed = await _relay(proxy, test_report(proxy, test_id))
    handler.set_status(relayed.status)
    for name, value in relayed.headers.items():
        handler.set_header(name, value)
    tornado.web.RequestHandler.finish(handler, relayed.body)
    return True


__all__ = [
    "forward_promote",
    "forward_report",
    "lab_body",
    "promote",
    "promotion_body",
    "test_report",
]
