"""Alert sinks: where alerts go (a Slack-compatible webhook, email over SMTP, or your own).

:class:`AlertSink` fixes the lifecycle (:meth:`AlertSink.send`: validate, ``_format``, then
``_deliver`` with retries, else :class:`AlertDeliveryError`); :class:`WebhookSink` and the
email sink implement it. A custom sink subclasses :class:`AlertSink`.
Writing your own sink: docs/alerts.md, "Module notes".

Examples
--------
>>> sink = WebhookSink("https://hooks.example.org/T000/B000/secret", name="team_slack")
>>> sink.target
'webhook https://hooks.example.org/…'
"""

from __future__ import annotations

import html
import importlib
import json
import re
import smtplib
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from abc import ABC, abstractmethod
from email.message import EmailMessage
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from workspace.jobs.alerts.event import (
    ENTRY_POINT_GROUP,
    AlertConfigError,
    AlertDeliveryError,
    AlertEvent,
)

_DOTTED = re.compile(r"^[A-Za-z_][\w.]*[:.][A-Za-z_]\w*$")


class AlertSink(ABC):
    """Base class of alert sinks (template method).

    Subclasses implement :meth:`_format` (event -> payload) and :meth:`_deliver` (send the
    payload once; raise on failure), and may override :meth:`_describe` (exception -> short
    reason) and :meth:`_retryable`. They should not override :meth:`send`.

    Parameters
    ----------
    name
        The sink's name in ``alerts.yaml``, used in messages; defaults to ``kind``.
    tries
        Delivery attempts before :class:`AlertDeliveryError` is raised.
    backoff
        Seconds to wait after the first failed try; doubled after each further one.
    """

    #: The ``type:`` of this sink in ``alerts.yaml``.
    kind: ClassVar[str] = "custom"
    #: A pydantic model validating this sink's options in ``alerts.yaml`` (optional).
    options_model: ClassVar[type[BaseModel] | None] = None

    def __init__(self, *, name: str | None = None, tries: int = 3, backoff: float = 0.5) -> None:
        if tries < 1:
            raise AlertConfigError(f"alert sink {name or self.kind!r}: tries must be >= 1")
        self.name = name or self.kind
        self.tries = tries
        self.backoff = backoff

    @property
    def target(self) -> str:
        """Where the sink delivers, without secrets (shown in errors and logs)."""
        return self.kind

    def send(self, event: AlertEvent | dict[str, Any]) -> None:
        """Validate, format and deliver ``event``, trying ``tries`` times.

        Raises
        ------
        AlertDeliveryError
            After the last failed try, naming the sink and the last reason.
        """
        checked = AlertEvent.model_validate(event)
        payload = self._format(checked)
        reason = "not tried"
        for attempt in range(1, self.tries + 1):
            try:
                self._deliver(payload)
                return
            except Exception as exc:
                reason = self._describe(exc)
                if not self._retryable(exc):
                    raise AlertDeliveryError(self.name, self.target, reason, attempt) from exc
                if attempt == self.tries:
                    raise AlertDeliveryError(self.name, self.target, reason, attempt) from exc
            time.sleep(self.backoff * 2 ** (attempt - 1))

    @abstractmethod
    def _format(self, event: AlertEvent) -> Any:
        """Turn the event into what :meth:`_deliver` sends."""

    @abstractmethod
    def _deliver(self, payload: Any) -> None:
        """Send ``payload`` once; raise on any failure."""

    def _retryable(self, exc: Exception) -> bool:
        """Whether another try may help (default: always)."""
        return True

    def _describe(self, exc: Exception) -> str:
        """A short reason for a failed try."""
        return _os_reason(exc) or f"{type(exc).__name__}: {exc}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, target={self.target!r})"


def _os_reason(exc: BaseException) -> str | None:
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[0].lower() + exc.strerror[1:]
    return None


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tries: int = Field(3, ge=1, le=10)
    backoff: float = Field(0.5, ge=0, le=60)


class WebhookOptions(_Options):
    """``type: webhook`` options in ``alerts.yaml``."""

    url: str
    timeout: float = Field(10, gt=0, le=300)
    headers: dict[str, str] | None = None


def _mrkdwn(text: str) -> str:
    """Escape text for Slack mrkdwn (only ``&``, ``<`` and ``>`` are special)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _is_web(link: str) -> bool:
    return link.startswith(("http://", "https://"))


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class WebhookSink(AlertSink):
    """POST a Slack-compatible JSON message (``{"text": ..., "blocks": [...]}``) to a URL.

    Works with Slack incoming webhooks and the many receivers that accept the same shape
    (Mattermost, Rocket.Chat, generic HTTP endpoints). HTTP 4xx answers other than 408 and 429
    are not retried: the request itself is wrong.

    Examples
    --------
    >>> sink = WebhookSink("http://127.0.0.1:9/hook", timeout=2)
    >>> sink._format(AlertEvent(kind="success", pipeline="p", run_id="r", state="succeeded",
    ...                         duration=61))["text"]
    'p succeeded in 1m 1s (run r)'
    """

    kind = "webhook"
    options_model = WebhookOptions

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10,
        headers: dict[str, str] | None = None,
        name: str | None = None,
        tries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(name=name, tries=tries, backoff=backoff)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AlertConfigError(
                f"alert sink {self.name!r}: url must be an http:// or https:// URL "
                f"(got scheme {parts.scheme or 'none'!r})"
            )
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})

    @property
    def target(self) -> str:
        # webhook URLs carry their secret in the path: show only scheme and host
        parts = urllib.parse.urlsplit(self.url)
        return f"webhook {parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"

    def _format(self, event: AlertEvent) -> dict[str, Any]:
        icon = {"failure": ":red_circle:", "success": ":large_green_circle:"}.get(
            event.kind, ":warning:"
        )
        fields = [
            {"type": "mrkdwn", "text": f"*{label}*\n{_mrkdwn(_clip(value, 500))}"}
            for label, value in event.facts()
            if label != "Report"
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": _clip(event.title, 150)}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"{icon} {_mrkdwn(event.summary)}"},
            },
            {"type": "section", "fields": fields[:10]},
        ]
        for task in event.failed_tasks[:10]:
            cell = f" (cell {task.failing_cell})" if task.failing_cell is not None else ""
            error = _mrkdwn(_clip(task.error or "no error message", 2500))
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": f"*{_mrkdwn(task.task_key)}* {task.state}{cell}\n```{error}```",
                    },
                }
            )
        if event.report:
            link = event.report
            shown = f"<{link}|Open the report>" if _is_web(link) else _mrkdwn(link)
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": shown}]})
        return {"text": event.summary, "blocks": blocks}

    def _deliver(self, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(
            self.url,
            data=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", **self.headers},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()

    def _retryable(self, exc: Exception) -> bool:
        if isinstance(exc, urllib.error.HTTPError):
            return exc.code >= 500 or exc.code in (408, 429)
        return True

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, urllib.error.HTTPError):
            exc.close()
            return f"HTTP {exc.code} {exc.reason}"
        return super()._describe(exc)


class EmailOptions(_Options):
    """``type: email`` options in ``alerts.yaml``."""

    host: str = Field(min_length=1)
    port: int = Field(25, ge=1, le=65535)
    sender: str = Field(min_length=3, pattern=r"@")
    recipients: list[str] = Field(min_length=1)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False
    timeout: float = Field(10, gt=0, le=300)

    @model_validator(mode="after")
    def _one_tls(self) -> EmailOptions:
        if self.starttls and self.ssl:
            raise ValueError("use either starttls (port 587) or ssl (port 465), not both")
        return self


class EmailSink(AlertSink):
    """Send a plain-text email with an HTML alternative over SMTP (stdlib ``smtplib``).

    The subject reads like ``[workspace] demo_refresh failed: quality_gate``; the HTML part has
    the summary, the run's facts and a table of failed tasks with their errors.

    Examples
    --------
    >>> sink = EmailSink("localhost", 25, sender="ws@example.org", recipients=["a@example.org"])
    >>> msg = sink._format(AlertEvent(kind="failure", pipeline="p", run_id="r", state="failed"))
    >>> msg["Subject"]
    '[workspace] p failed'
    """

    kind = "email"
    options_model = EmailOptions

    def __init__(
        self,
        host: str,
        port: int = 25,
        *,
        sender: str,
        recipients: list[str],
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        ssl: bool = False,
        timeout: float = 10,
        name: str | None = None,
        tries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        super().__init__(name=name, tries=tries, backoff=backoff)
        if starttls and ssl:
            raise AlertConfigError(f"alert sink {self.name!r}: use either starttls or ssl")
        if not recipients:
            raise AlertConfigError(f"alert sink {self.name!r}: give at least one recipient")
        self.host, self.port = host, port
        self.sender, self.recipients = sender, list(recipients)
        self.username, self.password = username, password
        self.starttls, self.ssl, self.timeout = starttls, ssl, timeout

    @property
    def target(self) -> str:
        return f"smtp {self.host}:{self.port}"

    def _format(self, event: AlertEvent) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[workspace] {event.title}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg.set_content(_plain_body(event))
        msg.add_alternative(_html_body(event), subtype="html")
        return msg

    def _deliver(self, payload: EmailMessage) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.starttls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(payload)

    def _retryable(self, exc: Exception) -> bool:
        # a refused login or recipient will be refused again
        return not isinstance(exc, smtplib.SMTPAuthenticationError | smtplib.SMTPRecipientsRefused)

    def _describe(self, exc: Exception) -> str:
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = ", ".join(f"{rcpt}: {code}" for rcpt, (code, _) in exc.recipients.items())
            return f"SMTP recipients refused ({codes})"
        if isinstance(exc, smtplib.SMTPResponseException):
            raw = exc.smtp_error
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return f"SMTP {exc.smtp_code} {text}".strip()
        if isinstance(exc, smtplib.SMTPException) and not isinstance(exc, OSError):
            return f"SMTP error: {exc}"
        return super()._describe(exc)


def _plain_body(event: AlertEvent) -> str:
    lines = [event.summary, ""]
    lines += [f"{label}: {value}" for label, value in event.facts()]
    for task in event.failed_tasks:
        cell = f", cell {task.failing_cell}" if task.failing_cell is not None else ""
        lines += ["", f"Task {task.task_key} ({task.state}{cell}):", task.error or "-"]
    return "\n".join(lines) + "\n"


def _html_body(event: AlertEvent) -> str:
    esc = html.escape
    facts = "".join(
        f"<tr><th align='left'>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in event.facts()
    )
    parts = [f"<p><strong>{esc(event.summary)}</strong></p>", f"<table>{facts}</table>"]
    if event.failed_tasks:
        rows = "".join(
            f"<tr><td>{esc(t.task_key)}</td><td>{esc(t.state)}</td>"
            f"<td>{'' if t.failing_cell is None else t.failing_cell}</td>"
            f"<td><pre>{esc(_clip(t.error or '-', 4000))}</pre></td></tr>"
            for t in event.failed_tasks
        )
        parts.append(
            "<h3>Failed tasks</h3><table border='1' cellpadding='4'>"
            "<tr><th>Task</th><th>State</th><th>Cell</th><th>Error</th></tr>"
            f"{rows}</table>"
        )
    if event.report:
        link = esc(event.report, quote=True)
        parts.append(
            f"<p><a href='{link}'>Open the report</a></p>"
            if _is_web(event.report)
            else f"<p>Report: {link}</p>"
        )
    return "<html><body>" + "".join(parts) + "</body></html>"


_BUILTIN: dict[str, type[AlertSink]] = {"webhook": WebhookSink, "email": EmailSink}


def sink_types() -> list[str]:
    """Sink type names: the built-ins and those registered as ``workspace.alert_sinks``
    entry points.

    >>> {"email", "webhook"} <= set(sink_types())
    True
    """
    return sorted(set(_BUILTIN) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def resolve_sink_class(type_name: str) -> type[AlertSink]:
    """The sink class for ``type:`` in ``alerts.yaml``.

    A built-in name (``webhook``, ``email``), an entry point name of the group
    ``workspace.alert_sinks`` (looked up only when needed), or a dotted path
    (``package.module:Class`` or ``package.module.Class``).

    >>> resolve_sink_class("email").__name__
    'EmailSink'
    """
    found: Any = _BUILTIN.get(type_name)
    how = "a dotted path to an AlertSink subclass (package.module:Class)"
    if found is None and _DOTTED.match(type_name) is None:
        matches = entry_points(group=ENTRY_POINT_GROUP, name=type_name)
        for ep in matches:
            try:
                found = ep.load()
            except Exception as exc:
                raise AlertConfigError(
                    f"alert sink type {type_name!r} (entry point {ep.value}) failed to load: "
                    f"{exc}; reinstall the package that provides it"
                ) from None
            break
    if found is None and ("." in type_name or ":" in type_name):
        module_name, _, attr = type_name.replace(":", ".").rpartition(".")
        try:
            found = getattr(importlib.import_module(module_name), attr)
        except ImportError as exc:
            raise AlertConfigError(
                f"alert sink type {type_name!r}: cannot import {module_name!r} ({exc})"
            ) from None
        except AttributeError:
            raise AlertConfigError(
                f"alert sink type {type_name!r}: {module_name!r} has no {attr!r}"
            ) from None
    if found is None:
        raise AlertConfigError(
            f"unknown alert sink type {type_name!r}; use one of {', '.join(sink_types())} or {how}"
        )
    if not (isinstance(found, type) and issubclass(found, AlertSink)):
        raise AlertConfigError(f"alert sink type {type_name!r} is not {how}")
    return found
