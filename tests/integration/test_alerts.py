"""Alerts against real receivers: an SMTP server (aiosmtpd) and HTTP servers on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from workspace.jobs.alerts.config import load_sinks, notify
from workspace.jobs.alerts.event import (
    AlertConfigError,
    AlertDeliveryError,
    AlertEvent,
    event_from_run,
)
from workspace.jobs.alerts.sinks import (
    AlertSink,
    EmailSink,
    WebhookSink,
    resolve_sink_class,
    sink_types,
)
from workspace.jobs.models import (
    Attempt,
    AttemptState,
    Run,
    RunDetail,
    RunState,
    Task,
    TaskState,
    Trigger,
)
from workspace.jobs.spec.pipeline import Alerts

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
ERROR = "AssertionError: 3 rows with NULL o_totalprice <gate>"


# -- receivers -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HttpReceiver:
    url: str
    status: int
    bodies: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def _start_http(status: int) -> tuple[ThreadingHTTPServer, HttpReceiver]:
    receiver = HttpReceiver(url="", status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.bodies.append(json.loads(body))
            receiver.headers.append(dict(self.headers))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/s3cret"
    return server, receiver


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    """A Slack-like receiver answering 200."""
    server, receiver = _start_http(200)
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def broken_hook() -> Iterator[HttpReceiver]:
    """A receiver answering 500 to every POST."""
    server, receiver = _start_http(500)
    yield receiver
    server.shutdown()
    server.server_close()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 OK"


@dataclass
class SmtpServer:
    port: int
    handler: _Collect


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"alerts", b"pw-42")
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 that accepts AUTH LOGIN/PLAIN (alerts / pw-42)."""
    handler = _Collect()
    port = _free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield SmtpServer(port, handler)
    controller.stop()


# -- runs ------------------------------------------------------------------------------------


def _detail(
    state: RunState = RunState.FAILED,
    *,
    started: timedelta = timedelta(minutes=1),
    took: timedelta | None = timedelta(minutes=4),
) -> RunDetail:
    started_at = T0 + started
    finished_at = started_at + took if took is not None else None
    run = Run(
        run_id="r-20250301",
        pipeline="demo_refresh",
        scheduled_for=T0,
        trigger=Trigger.SCHEDULE,
        state=state,
        report_path="reports/demo_refresh/r-20250301/index.html",
        created_at=T0,
        started_at=started_at,
        finished_at=finished_at,
    )
    failed = state is RunState.FAILED
    tasks = [
        Task(run_id=run.run_id, task_key="bronze", name="bronze", state=TaskState.SUCCEEDED,
             attempts=1, updated_at=T0),
        Task(run_id=run.run_id, task_key="quality_gate", name="quality_gate",
             state=TaskState.FAILED if failed else TaskState.SUCCEEDED, attempts=2,
             updated_at=T0),
        Task(run_id=run.run_id, task_key="gold", name="gold",
             state=TaskState.UPSTREAM_FAILED if failed else TaskState.SUCCEEDED, updated_at=T0),
    ]  # fmt: skip
    attempts = [
        Attempt(attempt_id=1, run_id=run.run_id, task_key="quality_gate", number=1,
                repair_generation=0, state=AttemptState.FAILED, started_at=started_at,
                heartbeat_at=started_at, error="first try: connection reset", failing_cell=1),
        Attempt(attempt_id=2, run_id=run.run_id, task_key="quality_gate", number=2,
                repair_generation=0, state=AttemptState.FAILED if failed else
                AttemptState.SUCCEEDED, started_at=started_at, heartbeat_at=started_at,
                error=ERROR if failed else None, failing_cell=3 if failed else None),
    ]  # fmt: skip
    # newest first: the event must pick the latest attempt, not the last one listed
    return RunDetail(run=run, tasks=tasks, attempts=attempts[::-1], events=[])


def _webhook(receiver: HttpReceiver, name: str = "team_slack", **kw: Any) -> WebhookSink:
    return WebhookSink(receiver.url, name=name, backoff=0.01, **kw)


def _email(smtp: SmtpServer, **kw: Any) -> EmailSink:
    return EmailSink(
        "127.0.0.1",
        smtp.port,
        sender="workspace@example.org",
        recipients=["data-platform@example.org", "oncall@example.org"],
        name="ops_email",
        backoff=0.01,
        **kw,
    )


# -- events and formatting -------------------------------------------------------------------


def test_failure_event_names_failed_task_error_and_cell() -> None:
    event = event_from_run(_detail(), "failure")
    assert [t.task_key for t in event.failed_tasks] == ["quality_gate"]  # not upstream_failed
    task = event.failed_tasks[0]
    assert (task.error, task.failing_cell) == (ERROR, 3)  # the latest attempt, not the first
    assert event.duration == 240
    assert event.report == "reports/demo_refresh/r-20250301/index.html"
    assert event.summary == "demo_refresh failed: quality_gate (run r-20250301)"


def test_failure_posts_slack_compatible_json(hook: HttpReceiver) -> None:
    event = event_from_run(_detail(), "failure", report_url="https://ws.example.org/r/1")
    failed = notify(event, pipeline_alerts=Alerts(sinks=["team_slack"]), sinks={
        "team_slack": _webhook(hook, headers={"X-Token": "t1"})
    })  # fmt: skip
    assert failed == []
    [body] = hook.bodies
    assert body["text"] == event.summary
    assert hook.headers[0]["X-Token"] == "t1"
    assert hook.headers[0]["Content-Type"].startswith("application/json")
    blocks = body["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "demo_refresh failed: quality_gate"},
    }
    assert all(b["type"] in {"header", "section", "context"} for b in blocks)
    texts = json.dumps(blocks)
    # Slack mrkdwn escaping of the error, the failing cell, the report link
    assert "&lt;gate&gt;" in texts and "<gate>" not in texts
    assert "(cell 3)" in texts
    assert "<https://ws.example.org/r/1|Open the report>" in texts


def test_email_subject_plain_body_and_html_table(smtp: SmtpServer) -> None:
    event = event_from_run(_detail(), "failure")
    _email(smtp).send(event)
    [(rcpts, msg)] = smtp.handler.messages
    assert rcpts == ["data-platform@example.org", "oncall@example.org"]
    assert msg["Subject"] == "[workspace] demo_refresh failed: quality_gate"
    assert msg["From"] == "workspace@example.org"
    plain = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    assert plain is not None and html is not None
    text = plain.get_content()
    assert text.startswith(event.summary)
    assert "Task quality_gate (failed, cell 3):" in text and ERROR in text
    markup = html.get_content()
    assert "<h3>Failed tasks</h3>" in markup
    assert "<td>quality_gate</td><td>failed</td><td>3</td>" in markup
    assert "&lt;gate&gt;" in markup and "<gate>" not in markup


def test_email_login_uses_password_from_env_in_alerts_yaml(
    smtp: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "alerts.yaml").write_text(
        "ops_email:\n"
        "  type: email\n"
        "  host: 127.0.0.1\n"
        f"  port: {smtp.port}\n"
        "  sender: workspace@example.org\n"
        "  recipients: [oncall@example.org]\n"
        "  username: alerts\n"
        "  password: ${SMTP_PASSWORD}\n"
        "  backoff: 0\n"
    )
    monkeypatch.setenv("WORKSPACE_HOME", str(home))
    monkeypatch.setenv("SMTP_PASSWORD", "pw-42")
    sinks = load_sinks()  # $WORKSPACE_HOME/alerts.yaml
    assert isinstance(sinks["ops_email"], EmailSink)
    sinks["ops_email"].send(event_from_run(_detail(), "failure"))
    assert len(smtp.handler.messages) == 1

    monkeypatch.setenv("SMTP_PASSWORD", "wrong")
    with pytest.raises(AlertDeliveryError, match=r"'ops_email'.*after 1 try: SMTP 535"):
        load_sinks()["ops_email"].send(event_from_run(_detail(), "failure"))


def test_success_is_off_by_default(hook: HttpReceiver) -> None:
    event = event_from_run(_detail(RunState.SUCCEEDED), "success")
    assert event.failed_tasks == []
    sinks: dict[str, AlertSink] = {"team_slack": _webhook(hook)}
    assert notify(event, pipeline_alerts=Alerts(sinks=["team_slack"]), sinks=sinks) == []
    assert hook.bodies == []
    # ... but failures are on by default
    notify(event_from_run(_detail(), "failure"), pipeline_alerts=Alerts(sinks=["team_slack"]),
           sinks=sinks)  # fmt: skip
    assert len(hook.bodies) == 1
    alerts = Alerts(on_success=True, sinks=["team_slack"])
    assert notify(event, pipeline_alerts=alerts, sinks=sinks) == []
    assert hook.bodies[-1]["text"] == "demo_refresh succeeded in 4m (run r-20250301)"


def test_sla_events_are_formatted_and_follow_on_sla_miss(hook: HttpReceiver) -> None:
    late = _detail(RunState.RUNNING, started=timedelta(minutes=20), took=None)
    start = event_from_run(late, "sla_start", sla_limit=900)
    assert start.sla_observed == 1200
    assert start.summary == (
        "demo_refresh missed its start SLA: started 20m after its 2025-03-01 06:00:00 UTC tick "
        "(limit 15m, run r-20250301)"
    )
    now = T0 + timedelta(minutes=20, hours=1, seconds=330)
    long = event_from_run(late, "sla_duration", sla_limit=3600, now=now)
    assert long.duration == 3930 and long.finished_at is None
    assert long.summary == (
        "demo_refresh missed its duration SLA: ran 1h 5m 30s (limit 1h, run r-20250301)"
    )
    sinks: dict[str, AlertSink] = {"team_slack": _webhook(hook)}
    assert notify(start, pipeline_alerts=Alerts(on_sla_miss=False, sinks=["team_slack"]),
                  sinks=sinks) == []  # fmt: skip
    assert hook.bodies == []
    for event in (start, long):
        assert notify(event, pipeline_alerts=Alerts(sinks=["team_slack"]), sinks=sinks) == []
    assert [b["text"] for b in hook.bodies] == [start.summary, long.summary]
    assert hook.bodies[0]["blocks"][0]["text"]["text"] == "demo_refresh missed its start SLA"


def test_sla_email_subject(smtp: SmtpServer) -> None:
    late = _detail(RunState.SUCCEEDED, took=timedelta(hours=2))
    _email(smtp).send(event_from_run(late, "sla_duration", sla_limit=3600))
    [(_, msg)] = smtp.handler.messages
    assert msg["Subject"] == "[workspace] demo_refresh missed its duration SLA"
    assert "SLA limit: 1h" in msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


# -- delivery failures -----------------------------------------------------------------------


def test_http_500_is_retried_then_reported_without_secrets(broken_hook: HttpReceiver) -> None:
    sink = _webhook(broken_hook)
    with pytest.raises(AlertDeliveryError) as info:
        sink.send(event_from_run(_detail(), "failure"))
    assert len(broken_hook.bodies) == 3
    err = info.value
    assert (err.sink, err.tries, err.reason) == ("team_slack", 3, "HTTP 500 Internal Server Error")
    assert "'team_slack'" in str(err) and "after 3 tries: HTTP 500" in str(err)
    assert "s3cret" not in str(err)  # the webhook URL's token stays out of logs


def test_http_404_is_not_retried(hook: HttpReceiver) -> None:
    hook.status = 404
    with pytest.raises(AlertDeliveryError, match="after 1 try: HTTP 404 Not Found"):
        _webhook(hook).send(event_from_run(_detail(), "failure"))
    assert len(hook.bodies) == 1


@pytest.mark.parametrize("kind", ["webhook", "email"])
def test_connection_refused_is_named(kind: str) -> None:
    port = _free_port()  # nothing listens there
    sink: AlertSink = (
        WebhookSink(f"http://127.0.0.1:{port}/hook", name="dead", tries=2, backoff=0.01)
        if kind == "webhook"
        else EmailSink("127.0.0.1", port, sender="a@b.c", recipients=["d@e.f"], name="dead",
                       tries=2, backoff=0.01)
    )  # fmt: skip
    with pytest.raises(AlertDeliveryError, match=r"'dead' .* after 2 tries: connection refused"):
        sink.send(event_from_run(_detail(), "failure"))


def test_notify_reports_failed_sinks_and_keeps_going(
    broken_hook: HttpReceiver, hook: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    sinks: dict[str, AlertSink] = {
        "dead_hook": _webhook(broken_hook, name="dead_hook"),
        "team_slack": _webhook(hook),
    }
    alerts = Alerts(sinks=["dead_hook", "nope", "team_slack"])
    with caplog.at_level(logging.ERROR, logger="workspace.jobs.alerts.config"):
        failed = notify(event_from_run(_detail(), "failure"), pipeline_alerts=alerts, sinks=sinks)
    assert failed == ["dead_hook", "nope"]
    assert len(broken_hook.bodies) == 3 and len(hook.bodies) == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("'dead_hook'" in m and "HTTP 500" in m for m in messages)
    assert any(
        "alert sink 'nope'" in m and "configured: dead_hook, team_slack" in m for m in messages
    )


def test_notify_survives_a_sink_that_raises_anything(caplog: pytest.LogCaptureFixture) -> None:
    class Exploding(AlertSink):
        def _format(self, event: AlertEvent) -> Any:
            raise RuntimeError("bug in a plug-in")

        def _deliver(self, payload: Any) -> None:
            raise AssertionError("not reached")

    with caplog.at_level(logging.ERROR, logger="workspace.jobs.alerts.config"):
        failed = notify(
            event_from_run(_detail(), "failure"),
            pipeline_alerts=Alerts(sinks=["x"]),
            sinks={"x": Exploding(name="x")},
        )
    assert failed == ["x"]
    assert "failed unexpectedly" in caplog.text


# -- alerts.yaml -----------------------------------------------------------------------------


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "alerts.yaml"
    path.write_text(text)
    return path


def test_alerts_yaml_env_substitution_and_types(hook: HttpReceiver, tmp_path: Path) -> None:
    path = _yaml(
        tmp_path,
        "team_slack:\n  type: webhook\n  url: ${HOOK_URL}\n  timeout: 3\n"
        "custom:\n  type: workspace.jobs.alerts.sinks:WebhookSink\n  url: ${HOOK_URL}\n"
        "  headers: {Authorization: 'Bearer ${TOKEN}'}\n",
    )
    sinks = load_sinks(path, env={"HOOK_URL": hook.url, "TOKEN": "tok"})
    assert sorted(sinks) == ["custom", "team_slack"]
    assert all(type(s) is WebhookSink for s in sinks.values())
    assert sinks["team_slack"].name == "team_slack"
    sinks["custom"].send(event_from_run(_detail(), "failure"))
    assert hook.headers[0]["Authorization"] == "Bearer tok"


def test_registry_names_and_dotted_paths() -> None:
    assert {"email", "webhook"} <= set(sink_types())
    assert resolve_sink_class("webhook") is WebhookSink
    assert resolve_sink_class("workspace.jobs.alerts.sinks.EmailSink") is EmailSink
    with pytest.raises(AlertConfigError, match="not a dotted path to an AlertSink subclass"):
        resolve_sink_class("workspace.jobs.alerts.config:notify")


def test_missing_default_file_means_no_sinks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WORKSPACE_HOME", str(tmp_path))
    assert load_sinks() == {}
    with pytest.raises(AlertConfigError, match=r"alerts\.yaml: not found"):
        load_sinks(tmp_path / "alerts.yaml")


WEBHOOK = "a:\n  type: webhook\n  url: https://hooks.example.org/x\n"
EMAIL = "m:\n  type: email\n  host: smtp.example.org\n  sender: ws@example.org\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (EMAIL + "  recipients: [x@example.org]\n  port: ${SMTP_PORT}\n",
         r"alerts.yaml: m.port: Input should be a valid integer.*\(got '\$\{SMTP_PORT\}'\)"),
        (EMAIL + "  recipients: []\n", r"alerts.yaml: m.recipients: List should have at least 1"),
        (EMAIL + "  recipients: [x@example.org]\n  starttls: true\n  ssl: true\n",
         r"alerts.yaml: m: use either starttls \(port 587\) or ssl"),
        (WEBHOOK + "  colour: red\n", r"alerts.yaml: a.colour: Extra inputs are not permitted"),
        ("a:\n  type: webhook\n  url: ftp://example.org/x\n",
         r"alerts.yaml: a: alert sink 'a': url must be an http:// or https:// URL"),
        ("a:\n  type: pager\n", r"a.type: unknown alert sink type 'pager'; use one of"),
        ("a:\n  url: https://x.org\n", r"alerts.yaml: a.type: missing; use webhook, email"),
        ("a:\n  type: nosuchpkg.mod:Sink\n", r"a.type: .*cannot import 'nosuchpkg.mod'"),
        ("a:\n  type: webhook\n  url: ${UNSET_HOOK}\n",
         r"alerts.yaml: a: environment variable UNSET_HOOK is not set"),
        ("- a\n- b\n", r"alerts.yaml: expected a mapping of sink names"),
        ("a: [type, webhook\n", r"alerts.yaml: line \d+, column \d+: not valid YAML"),
        ("a: webhook\n", r"alerts.yaml: a: expected a mapping with 'type'"),
    ],
)  # fmt: skip
def test_invalid_alerts_yaml_names_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    path = _yaml(tmp_path, text)
    with pytest.raises(AlertConfigError, match=expected) as info:
        load_sinks(path, env={"SMTP_PORT": "not-a-port"})
    assert str(path) in str(info.value)
    assert "not-a-port" not in str(info.value)  # substituted values are never echoed
