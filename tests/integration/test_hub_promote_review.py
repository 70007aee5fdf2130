"""Issue 9 (items 6, 7, 12): identity given by the platform, promotion as the gate into
production, and sharing without root, behind a real JupyterHub with real OS accounts.

* An analyst promotes a notebook from a shell of their own OS account with ``workspace
  promote`` and their hub token (``JUPYTERHUB_API_TOKEN`` + ``WORKSPACE_SCHEDULER_URL``, as in
  a Lab terminal): the scheduler service runs the test and records them as the owner; the
  pipeline is pending review, cannot run, and the analyst cannot approve it (403). An
  engineer approves it (recorded), then it runs.
* The owner shares it with stakeholders from the CLI (no root, no pipeline.yaml edit): the
  stakeholder is refused the report before, and opens it after.
* A pipeline.yaml cannot claim another pipeline's name or owner.

Needs root (``useradd``; ``runuser`` to act as the analyst's account).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from tests.support.hub import cli_env, new_user_name
from tests.support.hub_demo import Deployment, deployment, wait_for, write_pipeline

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="per-user OS accounts need root"),
]

ANALYST = new_user_name("wsa_")
VICTIM = new_user_name("wsv_")
ENGINEER = new_user_name("wse_")
STAKEHOLDER = new_user_name("wss_")
PROMOTED = "promoted_" + ANALYST
VICTIMS = "victims_" + VICTIM
CLAIM = "claim_" + ANALYST


def _setup(scheduled: Path) -> None:
    write_pipeline(scheduled, VICTIMS, VICTIM, ["print('victim ran')"])
    # a folder claiming the victim's pipeline name, and another one claiming its owner
    folder = write_pipeline(scheduled, CLAIM, ANALYST, ["print('claim')"])
    spec = (folder / "pipeline.yaml").read_text()
    (folder / "pipeline.yaml").write_text(f"name: {VICTIMS}\n" + spec)


@pytest.fixture(scope="module")
def dep() -> Iterator[Deployment]:
    with deployment(services="scheduler,reports", demo=False, setup=_setup) as d:
        d.add(ANALYST, "analysts")
        d.add(VICTIM, "analysts")
        d.add(ENGINEER, "engineers")
        d.add(STAKEHOLDER, "stakeholders")
        yield d


def as_user(dep: Deployment, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``workspace ARGS`` run by ``user``'s OS account with their hub token, as in a Lab
    terminal behind the hub."""
    env = cli_env(
        dep.hub.home,
        JUPYTERHUB_API_TOKEN=dep.token(user),
        WORKSPACE_SCHEDULER_URL=f"{dep.hub.url}/services/scheduler/",
        HOME=f"/home/{user}",
    )
    return subprocess.run(
        ["runuser", "-u", user, "--", sys.executable, "-m", "workspace.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd="/tmp",
    )


def _notebook(path: Path) -> Path:
    params = nbformat.v4.new_code_cell("label = 'test'")
    params.metadata["tags"] = ["parameters"]
    code = nbformat.v4.new_code_cell("print('promoted pipeline ran', label)")
    nbformat.write(nbformat.v4.new_notebook(cells=[params, code]), path)
    path.chmod(0o644)
    return path


def test_an_analyst_promotes_an_engineer_approves_and_it_runs(dep: Deployment) -> None:
    nb = _notebook(Path(f"/home/{ANALYST}/daily.ipynb"))  # in the analyst's own home
    shutil.chown(nb, ANALYST, ANALYST)
    # the analyst cannot write scheduled/ or jobs/ themself: the service does it
    done = as_user(dep, ANALYST, "promote", str(nb), "--pipeline", PROMOTED, "-k", "python3")
    assert done.returncode == 0, done.stdout + done.stderr + dep.hub.log()[-3000:]
    assert "pending review" in done.stdout and f"workspace jobs approve {PROMOTED}" in done.stdout
    assert (dep.scheduled / PROMOTED / "daily.ipynb").is_file()
    assert "owner:" not in (dep.scheduled / PROMOTED / "pipeline.yaml").read_text()

    detail = dep.scheduler(ANALYST, "GET", f"pipelines/{PROMOTED}").json()
    assert (detail["owner"], detail["approval"], detail["promoted_by"]) == (
        ANALYST,
        "pending",
        ANALYST,
    )
    listed = as_user(dep, ANALYST, "jobs", "list")
    assert listed.returncode == 0, listed.stderr
    assert any(PROMOTED in line and "pending" in line for line in listed.stdout.splitlines())

    refused = dep.scheduler(ANALYST, "POST", f"pipelines/{PROMOTED}/trigger", {})
    assert refused.status_code == 409 and "pending review" in refused.json()["error"]
    assert dep.scheduler(ANALYST, "POST", f"pipelines/{PROMOTED}/resume").status_code == 409
    assert dep.scheduler(ANALYST, "POST", f"pipelines/{PROMOTED}/approve").status_code == 403
    cli = as_user(dep, ANALYST, "jobs", "approve", PROMOTED)
    assert cli.returncode != 0 and "403" not in cli.stdout and "may not approve" in cli.stderr

    approved = as_user(dep, ENGINEER, "jobs", "approve", PROMOTED)
    assert approved.returncode == 0, approved.stderr
    after = dep.scheduler(ANALYST, "GET", f"pipelines/{PROMOTED}").json()
    assert (after["approval"], after["approved_by"], after["paused"]) == (
        "approved",
        ENGINEER,
        False,
    )
    history = dep.scheduler(ANALYST, "GET", f"pipelines/{PROMOTED}/history").json()["events"]
    assert [(e["kind"], e["actor"]) for e in history][-1] == ("approved", ENGINEER)

    # the jobs commands of the analyst's Lab terminal go through the service, as them
    triggered = as_user(dep, ANALYST, "jobs", "trigger", PROMOTED, "--wait", "-q")
    assert triggered.returncode == 0, triggered.stdout + triggered.stderr
    run_id = triggered.stdout.split()[1].rstrip(":")
    assert "/services/scheduler/api/jobs/runs/" in triggered.stdout  # the report's link
    finished = dep.wait_finished(ANALYST, run_id)
    assert finished["run"]["state"] == "succeeded", finished
    assert finished["run"]["owner"] == ANALYST
    runs = json.loads(as_user(dep, ANALYST, "jobs", "runs", PROMOTED, "--json").stdout)
    assert [r["run_id"] for r in runs] == [run_id]
    shown = as_user(dep, ANALYST, "jobs", "run", run_id)
    assert shown.returncode == 0 and "task daily: succeeded" in shown.stdout, shown.stderr
    hidden = as_user(dep, ANALYST, "jobs", "show", VICTIMS)  # a private pipeline of another
    assert hidden.returncode != 0 and "Traceback" not in hidden.stderr


def test_the_owner_shares_the_report_with_stakeholders(dep: Deployment) -> None:
    stakeholder = dep.login(STAKEHOLDER)
    latest = f"{dep.hub.url}/services/reports/pipelines/{PROMOTED}/latest"
    wait_for(
        "a report of the promoted pipeline",
        lambda: dep.scheduler(ANALYST, "GET", f"runs?pipeline={PROMOTED}").json()["runs"][0][
            "report_path"
        ],
        120,
        dep.hub.log,
    )
    before = stakeholder.get(latest, timeout=60)
    assert before.status_code in (403, 404), before.status_code  # private by default
    # another analyst (not the owner) cannot share it
    assert (
        dep.scheduler(VICTIM, "PUT", f"pipelines/{PROMOTED}/audience", {"groups": ["x"]})
    ).status_code == 403
    shared = as_user(dep, ANALYST, "jobs", "share", PROMOTED, "--group", "stakeholders")
    assert shared.returncode == 0, shared.stderr
    assert "group stakeholders" in shared.stdout
    opened = stakeholder.get(latest, timeout=60)
    assert opened.status_code == 200, (opened.status_code, opened.text[:500])
    assert PROMOTED in opened.text
    unshared = as_user(dep, ANALYST, "jobs", "unshare", PROMOTED)
    assert unshared.returncode == 0 and "private" in unshared.stdout
    assert stakeholder.get(latest, timeout=60).status_code in (403, 404)


def test_a_pipeline_yaml_cannot_claim_another_pipelines_name_or_owner(dep: Deployment) -> None:
    pipelines = dep.scheduler(ENGINEER, "GET", "pipelines").json()["pipelines"]
    by_name = {p["name"]: p for p in pipelines}
    assert by_name[VICTIMS]["owner"] == VICTIM  # the folder of that name decides
    assert "differs from the pipeline's folder name" in by_name[CLAIM]["error"]
    # the claiming folder's author gets nothing of the victim's pipeline
    assert dep.scheduler(ANALYST, "POST", f"pipelines/{VICTIMS}/pause").status_code == 403
    assert dep.scheduler(ANALYST, "GET", f"runs?pipeline={VICTIMS}").status_code == 403
    # nor by promoting over it, nor by handing it to themself
    body = {"name": VICTIMS, "notebook": nbformat.v4.new_notebook(), "force": True}
    assert dep.scheduler(ANALYST, "POST", "promotions", body).status_code == 403
    grab = dep.scheduler(ANALYST, "POST", f"pipelines/{VICTIMS}/owner", {"owner": ANALYST})
    assert grab.status_code == 403
    # the owner hands over through the API; it is recorded
    handed = dep.scheduler(VICTIM, "POST", f"pipelines/{VICTIMS}/owner", {"owner": ANALYST})
    assert handed.status_code == 200 and handed.json()["owner"] == ANALYST
    owners = [
        (e["actor"], e["detail"]["owner"], e["detail"]["previous"])
        for e in dep.scheduler(ANALYST, "GET", f"pipelines/{VICTIMS}/history").json()["events"]
        if e["kind"] == "owner"
    ]
    assert owners[-1] == (VICTIM, ANALYST, VICTIM)


def test_another_analyst_reads_no_promotion_test_run_from_disk(dep: Deployment) -> None:
    """The service keeps promotion test runs (notebook, executed copy, report, throwaway lake)
    private: another analyst's plain file reads are refused."""
    promote = dep.hub.home / "jobs" / "promote"
    files = [p for p in promote.rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files), files
    code = (
        "import json\n"
        "seen = {}\n"
        f"for p in {[str(p) for p in files]!r}:\n"
        "    try:\n"
        "        open(p, 'rb').read(1); seen[p] = 'read'\n"
        "    except PermissionError:\n"
        "        seen[p] = 'denied'\n"
        "print(json.dumps(seen))\n"
    )
    proc = subprocess.run(
        ["runuser", "-u", VICTIM, "--", sys.executable, "-c", code],
        capture_output=True, text=True, timeout=120, check=False, cwd="/tmp",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [p for p, how in seen.items() if how != "denied"] == []
