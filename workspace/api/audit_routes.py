"""What the jobs routes leave in the audit trail (:mod:`workspace.governance.audit`).

:func:`workspace.api.mount.invoke` calls :func:`audit_call` after every route it ran and
:func:`audit_refusal` when the caller was not allowed to run it. State-changing routes
(trigger, pause, resume, approve, owner, share, repair, cancel, promote, rerun) and report views are
recorded with the caller the front end authenticated; other reads are not. Entries are
written only by a process that may write the trail: the scheduler service and root's
commands in the team deployment, the user's own process in a single-user install.

Examples
--------
>>> ACTIONS["audience"], ACTIONS["promotions"]
('share', 'promote')
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from workspace.api.routes import Call, Route

#: Route name -> audit action (routes not listed record nothing).
ACTIONS = {
    "trigger": "trigger",
    "pause": "pause",
    "resume": "resume",
    "approve": "approve",
    "owner": "owner",
    "audience": "share",
    "repair": "repair",
    "cancel": "cancel",
    "reruns": "rerun",
    "promotions": "promote",
    "run_report": "report_view",
    "attempt_report": "report_view",
    "promotion_report": "report_view",
}
_RESULT_FIELDS = ("run_id", "ok", "approval", "test_id", "test_status", "reset", "stopping")


def _target(call: Call) -> str:
    args = call.args
    if "test_id" in args:
        return f"promotion:{args['test_id']}"
    if "run_id" in args:
        return f"run:{args['run_id']}"
    if "name" in args:
        return f"pipeline:{args['name']}"
    name = getattr(call.body, "name", None)
    return f"pipeline:{name}" if name else "jobs"


def _details(route: Route, call: Call, result: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if "attempt_id" in call.args:
        details["attempt_id"] = int(call.args["attempt_id"])
    if isinstance(call.body, BaseModel):
        body = call.body.model_dump(mode="json", exclude_none=True, exclude={"notebook"})
        details.update(body)
    if isinstance(result, BaseModel):
        data = result.model_dump(mode="json", exclude_none=True)
        run = data.get("run")
        if isinstance(run, dict) and "run_id" in run:
            details["run_id"] = run["run_id"]
        details.update({k: data[k] for k in _RESULT_FIELDS if k in data})
    return details


def audit_call(route: Route, call: Call, result: Any) -> None:
    """Record a route that ran, if it is one the trail keeps."""
    action = ACTIONS.get(route.name)
    if action is None:
        return
    from workspace.governance.audit import record

    details = _details(route, call, result)
    record(call.auth.user, action, _target(call), settings=call.service.settings, **details)


def audit_refusal(route: Route, call: Call, error: BaseException) -> None:
    """Record that the caller was refused a state-changing route."""
    if route.method == "GET" or route.name not in ACTIONS:
        return
    from workspace.governance.audit import record

    record(
        call.auth.user, "denied", _target(call), settings=call.service.settings,
        route=route.name, error=type(error).__name__, message=str(error)[:300],
    )  # fmt: skip
