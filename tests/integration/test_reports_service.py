"""The reports service behind a real JupyterHub: OAuth identity, audiences, CSP, 403 pages.

A JupyterHub 6 on free loopback ports, with a tiny config of its own (DummyAuthenticator
with a password: this test is about the reports service, not about logins), runs
``python -m workspace.cli.reports`` as the hub-managed service ``reports``. Run records and
their reports are created with the real run store and the real report renderer. People log
in through the hub's form and follow the OAuth redirects to the service, like a browser.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import requests
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from workspace.jobs.execution.report import REPORT_CSP, render_report
from workspace.jobs.models import TaskState
from workspace.jobs.store.run_store import RunStore
from workspace.lake.settings import Settings
from workspace.reports.service import REPORT_PAGE_CSP

pytestmark = pytest.mark.slow

PASSWORD = "correct-horse-" + secrets.token_hex(4)
SUFFIX = secrets.token_hex(3)
SAM = f"wst_sam{SUFFIX}"  # stakeholder
GRACE = f"wst_grace{SUFFIX}"  # analyst named in hr's audience
ENG = f"wst_eng{SUFFIX}"  # engineer
NOSCOPE = f"wst_nos{SUFFIX}"  # may use services, but not view reports
CODE_MARKER = "SECRET_CODE_" + SUFFIX
PIPELINES = {
    "sales": f"owner: {GRACE}\naudience: {{groups: [stakeholders]}}\n",
    "hr": f"owner: {ENG}\naudience: {{users: [{GRACE}]}}\n",
    "open_kpis": "description: No audience, so private (owner-less: engineers, admins)\n",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp: Path, ports: dict[str, int], home: Path, scheduled: Path) -> str:
    venv_bin = Path(sys.executable).parent
    return textwrap.dedent(
        f"""
        import sys
        c = get_config()  # noqa
        c.JupyterHub.ip = "127.0.0.1"
        c.JupyterHub.port = {ports["hub"]}
        c.JupyterHub.hub_ip = "127.0.0.1"
        c.JupyterHub.hub_port = {ports["hub_api"]}
        c.ConfigurableHTTPProxy.command = [{str(venv_bin / "configurable-http-proxy")!r}]
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{ports["proxy_api"]}"
        c.JupyterHub.db_url = "sqlite:///{tmp}/jupyterhub.sqlite"
        c.JupyterHub.cookie_secret_file = "{tmp}/cookie_secret"
        c.JupyterHub.pid_file = "{tmp}/jupyterhub.pid"
        c.JupyterHub.authenticator_class = "dummy"
        c.DummyAuthenticator.password = {PASSWORD!r}
        c.Authenticator.allow_all = True
        c.JupyterHub.custom_scopes = {{
            "custom:pipelines:run": {{"description": "run own pipelines"}},
            "custom:pipelines:manage": {{"description": "manage every pipeline"}},
            "custom:reports:view": {{"description": "view reports"}},
        }}
        c.JupyterHub.load_groups = {{
            "stakeholders": {{"users": [{SAM!r}]}},
            "analysts": {{"users": [{GRACE!r}, {NOSCOPE!r}]}},
            "engineers": {{"users": [{ENG!r}]}},
        }}
        c.JupyterHub.load_roles = [
            {{"name": "user", "scopes": ["self"]}},
            {{"name": "stakeholder", "groups": ["stakeholders"],
             "scopes": ["access:services!service=reports", "custom:reports:view"]}},
            {{"name": "analyst", "users": [{GRACE!r}],
             "scopes": ["access:services", "custom:reports:view", "custom:pipelines:run"]}},
            {{"name": "no-reports", "users": [{NOSCOPE!r}], "scopes": ["access:services"]}},
            {{"name": "engineer", "groups": ["engineers"],
             "scopes": ["access:services", "custom:reports:view", "custom:pipelines:manage"]}},
        ]
        c.JupyterHub.services = [{{
            "name": "reports",
            "url": "http://127.0.0.1:{ports["reports"]}",
            "command": [sys.executable, "-m", "workspace.cli.reports"],
            "environment": {{"WORKSPACE_HOME": "{home}", "WORKSPACE_SCHEDULED": "{scheduled}",
                            "PYTHONWARNINGS": "ignore"}},
            "oauth_no_confirm": True,
            "oauth_client_allowed_scopes": [
                "read:users:name!user", "read:users:groups!user", "custom:reports:view",
                "custom:pipelines:manage", "custom:pipelines:run",
            ],
        }}]
        """
    )


@dataclass
class Deployment:
    url: str
    runs: dict[str, list[str]]  # pipeline -> run ids, oldest first
    log: Path

    def login(self, name: str) -> requests.Session:
        """The ENVIRONMENT.md form flow: GET /hub/login for _xsrf, POST the form."""
        session = requests.Session()
        session.get(self.url + "/hub/login", timeout=30).raise_for_status()
        xsrf = session.cookies.get("_xsrf", path="/hub/")
        assert xsrf, session.cookies
        resp = session.post(
            self.url + "/hub/login?next=/services/reports/",
            data={"username": name, "password": PASSWORD, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=30,
        )
        assert resp.status_code == 302, (resp.status_code, resp.text[:500])
        return session

    def reports(self, session: requests.Session, path: str = "") -> requests.Response:
        return session.get(f"{self.url}/services/reports/{path}", timeout=60)


def _executed(folder: Path, pipeline: str) -> Path:
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"# {pipeline} figures\n\n<script>alert(1)</script>"),
            new_code_cell(f"{CODE_MARKER} = 42\nprint({CODE_MARKER})"),
        ]
    )
    nb.cells[1].outputs = [
        new_output("stream", text="42\n"),
        new_output("display_data", data={"text/html": "<img src=x onerror=alert(2)><b>ok</b>"}),
    ]
    path = folder / "executed.ipynb"
    nbformat.write(nb, path)
    return path


#: Outputs (``workspace.jobs.output``) of the two runs of each pipeline, oldest first.
OUTPUTS = [{"revenue": 1000.0, "orders": 40}, {"revenue": 1250.0, "orders": 38}]


def _fake_run(store: RunStore, settings: Settings, pipeline: str, n: int) -> str:
    """A finished run with one attempt whose report is rendered by the real renderer."""
    store.upsert_pipeline(pipeline)
    run = store.create_manual_run(pipeline)
    store.add_tasks(run.run_id, ["main"])
    store.start_run(run.run_id)
    folder = settings.home / "jobs" / "runs" / run.run_id / "main" / "g0-attempt-1"
    folder.mkdir(parents=True)
    store.set_task_state(run.run_id, "main", TaskState.QUEUED)
    attempt = store.claim_task(run.run_id, "main")
    assert attempt is not None
    notebook = _executed(folder, pipeline)
    report = render_report(notebook, folder / "report.html", title=pipeline, status="succeeded")
    store.finish_attempt(
        attempt.attempt_id, "succeeded", notebook_path=str(notebook), report_path=str(report),
        outputs=OUTPUTS[n],
    )  # fmt: skip
    store.set_run_report(run.run_id, str(report))
    store.finish_run(run.run_id, "succeeded")
    return run.run_id


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    tmp = tmp_path_factory.mktemp("reports-hub")
    home, scheduled = tmp / "home", tmp / "scheduled"
    for name, spec in PIPELINES.items():
        (scheduled / name).mkdir(parents=True)
        (scheduled / name / "pipeline.yaml").write_text(
            spec + "tasks:\n  - {name: main, notebook: main.ipynb}\n"
        )
        nbformat.write(new_notebook(), scheduled / name / "main.ipynb")
    settings = Settings.resolve(home, user="tester")
    with contextlib.closing(RunStore.open(settings)) as store:
        runs = {name: [_fake_run(store, settings, name, n) for n in range(2)] for name in PIPELINES}
    ports = {k: _free_port() for k in ("hub", "hub_api", "proxy_api", "reports")}
    config = tmp / "jupyterhub_config.py"
    config.write_text(_config(tmp, ports, home, scheduled))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKSPACE_", "JUPYTERHUB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    log = tmp / "hub.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{ports['hub']}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()
            with contextlib.suppress(requests.RequestException):
                hub_up = requests.get(url + "/hub/api/", timeout=2).status_code == 200
                svc = requests.get(f"http://127.0.0.1:{ports['reports']}/", timeout=2)
                if hub_up and svc.status_code in (302, 404):
                    break
            assert time.monotonic() < deadline, "hub or reports service not ready:\n" + (
                log.read_text()
            )
            time.sleep(0.3)
        yield Deployment(url, runs, log)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # the proxy and the service, if left behind


def _cards(page: str) -> list[str]:
    soup = BeautifulSoup(page, "html.parser")
    return sorted(str(s["id"]).removeprefix("p-") for s in soup.select("section.card"))


def test_stakeholder_sees_only_their_audience(deployment: Deployment) -> None:
    sam = deployment.login(SAM)
    gallery = deployment.reports(sam)
    assert gallery.status_code == 200, gallery.text[:500]
    assert gallery.url.startswith(deployment.url + "/services/reports/")  # OAuth done
    assert _cards(gallery.text) == ["sales"]  # no audience = private
    assert "/pipelines/hr" not in gallery.text and ">hr<" not in gallery.text
    csp = gallery.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp


def test_run_page_is_the_report_under_the_strict_csp(deployment: Deployment) -> None:
    """The page scrolls once: the run page is the sanitized report itself (no iframe), under
    the report's no-script, sandboxed policy, with the service's bar on top."""
    sam = deployment.login(SAM)
    old, new = deployment.runs["sales"]
    page = deployment.reports(sam, f"runs/{old}")
    assert page.status_code == 200, page.text[:500]
    assert page.headers["Content-Security-Policy"] == REPORT_PAGE_CSP
    assert "sandbox" in REPORT_PAGE_CSP and "script-src" not in REPORT_PAGE_CSP
    assert "frame-ancestors 'none'" in REPORT_PAGE_CSP
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    soup = BeautifulSoup(page.text, "html.parser")
    assert not soup.find_all("iframe")
    assert soup.select_one("nav.ws-bar a.logout") is not None
    heading = soup.select_one("header.ws-report-header h1")
    assert heading is not None and heading.get_text() == "sales figures"
    assert "<b>ok</b>" in page.text
    assert "<script" not in page.text.lower() and "onerror" not in page.text
    assert CODE_MARKER not in page.text
    assert "show code" not in page.text  # stakeholders get no code toggle
    coded = deployment.reports(sam, f"runs/{old}?code=1")
    assert coded.status_code == 200 and CODE_MARKER not in coded.text  # never for stakeholders

    report = deployment.reports(sam, f"runs/{old}/report")  # the bare report, as before
    assert report.status_code == 200
    assert report.headers["Content-Security-Policy"] == REPORT_CSP
    assert report.headers["Referrer-Policy"] == "no-referrer"
    assert "sales figures" in report.text and CODE_MARKER not in report.text

    latest = deployment.reports(sam, "pipelines/sales/latest")
    assert latest.status_code == 200
    assert latest.url.endswith("/services/reports/pipelines/sales/latest")  # stable, shareable
    assert f'href="/services/reports/runs/{new}"' in latest.text  # its permalink


def test_run_page_compares_key_numbers_with_the_previous_run(deployment: Deployment) -> None:
    sam = deployment.login(SAM)
    old, new = deployment.runs["sales"]
    soup = BeautifulSoup(deployment.reports(sam, f"runs/{new}").text, "html.parser")
    section = soup.select_one("section.ws-key-numbers")
    assert section is not None
    rows = {
        tr.th.get_text(): [td.get_text(strip=True) for td in tr.find_all("td")]
        for tr in section.select("tbody tr")
        if tr.th is not None
    }
    assert rows == {"revenue": ["1,250", "1,000", "▲ 25.0%"], "orders": ["38", "40", "▼ 5.0%"]}
    previous = section.select_one("thead a")
    assert previous is not None and previous["href"] == f"/services/reports/runs/{old}"
    first = BeautifulSoup(deployment.reports(sam, f"runs/{old}").text, "html.parser")
    assert "No earlier successful run" in first.get_text()


def test_outside_the_audience_is_403_and_unknown_looks_the_same(deployment: Deployment) -> None:
    sam = deployment.login(SAM)
    hr_run = deployment.runs["hr"][0]
    answers = {
        path: deployment.reports(sam, path)
        for path in [
            "pipelines/hr/latest",
            "pipelines/hr",
            f"runs/{hr_run}",
            f"runs/{hr_run}/report",
            f"runs/{hr_run}/attempts/1/report",
            "pipelines/no_such_pipeline/latest",
            "runs/0123456789abcdef0123456789abcdef",
        ]
    }
    for path, resp in answers.items():
        assert resp.status_code == 403, (path, resp.status_code)
        assert "not shared with you" in resp.text, path
        assert "text/html" in resp.headers["Content-Type"]
        assert "figures" not in resp.text and "Content-Security-Policy" in resp.headers
    bodies = {resp.text for resp in answers.values()}
    assert len(bodies) == 1, "hidden and unknown pipelines/runs must answer alike"


def test_audience_user_owner_and_engineer(deployment: Deployment) -> None:
    grace = deployment.login(GRACE)  # named in hr's audience, owner of sales, not stakeholder
    assert _cards(deployment.reports(grace).text) == ["hr", "sales"]
    sales_run = deployment.runs["sales"][1]
    own = deployment.reports(grace, f"runs/{sales_run}")
    assert "show code" in own.text
    coded = deployment.reports(grace, f"runs/{sales_run}/report?code=1")
    assert coded.status_code == 200 and CODE_MARKER in coded.text
    assert coded.headers["Content-Security-Policy"] == REPORT_CSP
    hr_code = deployment.reports(grace, f"runs/{deployment.runs['hr'][0]}/report?code=1")
    assert hr_code.status_code == 200 and CODE_MARKER not in hr_code.text  # not the owner

    eng = deployment.login(ENG)
    assert _cards(deployment.reports(eng).text) == ["hr", "open_kpis", "sales"]
    assert deployment.reports(eng, "pipelines/no_such_pipeline/latest").status_code == 404


def test_refusals_without_login_or_scope(deployment: Deployment) -> None:
    for path in ["", "pipelines/sales/latest", f"runs/{deployment.runs['sales'][0]}/report"]:
        anonymous = requests.get(f"{deployment.url}/services/reports/{path}", timeout=30)
        assert anonymous.status_code == 200  # the hub's login page, after the redirects
        assert anonymous.url.startswith(deployment.url + "/hub/login"), anonymous.url
        assert "figures" not in anonymous.text
    nos = deployment.login(NOSCOPE)
    refused = deployment.reports(nos)
    assert refused.status_code == 403 and "cannot view reports" in refused.text
