"""How ``workspace jobs run`` and ``--wait`` print a run from the jobs API's JSON answer.

Both work on the ``GET runs/{run_id}`` answer, whether the route ran in this process or on
the hub's scheduler service, so a run reads the same in an operator's shell and in a
user's Lab terminal. Behind the hub a report is shown as the link the browser opens (the
report files are the service's), outside it as the file.

Examples
--------
>>> terminal({"run": {"state": "failed"}}), terminal({"run": {"state": "running"}})
(True, False)
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from workspace.cli.jobs_common import echo_result
from workspace.jobs.costs import usage_line

if TYPE_CHECKING:
    from workspace.cli.jobs_client import RemoteJobs

__all__ = ["echo_run", "follow_remote", "terminal"]

#: Run states after which nothing changes until a repair.
TERMINAL = ("succeeded", "failed", "cancelled", "timed_out")


def terminal(detail: dict[str, Any]) -> bool:
    """Whether the run of a ``GET runs/{run_id}`` answer has ended."""
    return bool(detail["run"]["state"] in TERMINAL)


def _fmt(value: str | None) -> str:
    return value.replace("T", " ")[:19] + "Z" if value else "-"


def echo_run(detail: dict[str, Any], *, local: bool) -> None:
    """Print a run: its tasks, their attempts (errors, failing cells), outputs and reports."""
    r = detail["run"]

    def report(path: str | None, url: str | None) -> str | None:
        return path if local else url

    click.echo(f"run {r['run_id']}  pipeline {r['pipeline']}  {r['state']}  ({r['trigger']})")
    click.echo(f"  created {_fmt(r['created_at'])}  started {_fmt(r['started_at'])}  "
               f"finished {_fmt(r['finished_at'])}")  # fmt: skip
    if r.get("parameters"):
        click.echo(f"  parameters: {r['parameters']}")
    if r.get("repair_generation"):
        click.echo(f"  repaired {r['repair_generation']} time(s)")
    if report(r.get("report_path"), detail.get("report_url")):
        click.echo(f"  report: {report(r.get('report_path'), detail.get('report_url'))}")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for a in detail["attempts"]:
        by_task.setdefault(a["task_key"], []).append(a)
    for t in detail["tasks"]:
        reason = f" ({t['reason']})" if t.get("reason") else ""
        click.echo(f"  task {t['task_key']}: {t['state']}{reason}")
        if t.get("outputs"):
            click.echo(f"    outputs: {t['outputs']}")
        for a in by_task.get(t["task_key"], []):
            cell = f" at cell {a['failing_cell']}" if a.get("failing_cell") is not None else ""
            err = f": {a['error']}" if a.get("error") else ""
            click.echo(f"    attempt {a['number']} (gen {a['repair_generation']}) "
                       f"{a['state']}{cell}{err}")  # fmt: skip
            link = report(a.get("report_path"), a.get("report_url"))
            if link:
                click.echo(f"      report: {link}")
            if used := usage_line(a.get("resources"), a.get("cost")):
                click.echo(f"      used: {used}")


def follow_remote(client: RemoteJobs, run_id: str, quiet: bool, *, every: float = 2.0) -> int:
    """Follow a run on the scheduler service until it ends, printing each task's new state
    (unless ``quiet``); print how it ended and return the exit code (0: succeeded)."""
    from workspace.api.models import RunDetailResponse
    from workspace.jobs.models import RunDetail

    seen: dict[str, str] = {}
    while True:
        detail = client.call("run", run_id=run_id)
        for t in detail["tasks"]:
            if not quiet and seen.get(t["task_key"]) != t["state"]:
                click.echo(f"  {t['task_key']}: {t['state']}")
            seen[t["task_key"]] = t["state"]
        if terminal(detail):
            break
        time.sleep(every)
    answer = RunDetailResponse.model_validate(detail)
    public = client.client.public
    run = answer.run.model_copy(
        update={"report_path": public(answer.report_url.split("/api/jobs/", 1)[-1])
                if answer.report_url else None}
    )  # fmt: skip
    attempts = [
        a.model_copy(update={"report_path": public(a.report_url.split("/api/jobs/", 1)[-1])
                             if a.report_url else None})
        for a in answer.attempts
    ]  # fmt: skip
    return echo_result(
        RunDetail(run=run, tasks=answer.tasks, attempts=attempts, events=answer.events)
    )
