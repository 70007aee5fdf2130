"""Security alerts: the audit trail's ``security_alert`` entries, sent through the sinks.

The hub and root's commands record ``security_alert`` entries in the audit trail; the
scheduler service runs :class:`SecurityAlertForwarder`, which sends each new entry once to
the sinks listed under ``security:`` in ``alerts.yaml``, remembering how far it got across
restarts. Design notes: docs/alerts.md.

Examples
--------
>>> forwarder = SecurityAlertForwarder(settings, Path("alerts.yaml"))  # doctest: +SKIP
>>> forwarder.forward_once()  # doctest: +SKIP
1
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from workspace.governance.audit import SECURITY_ALERT, writable_trail
from workspace.governance.audit_store import AuditEvent
from workspace.jobs.alerts.config import SECURITY_KEY, load_sinks
from workspace.jobs.alerts.event import AlertDeliveryError, AlertEvent
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)
CURSOR = "alerts-sent"
FIRST_START_WINDOW = timedelta(days=1)


def security_sink_names(alerts_file: Path) -> list[str]:
    """The names under ``security:`` in ``alerts.yaml`` ([] without the file or the key)."""
    try:
        data = yaml.safe_load(alerts_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    names = data.get(SECURITY_KEY) if isinstance(data, dict) else None
    if isinstance(names, str):
        names = [names]
    return [str(n) for n in names] if isinstance(names, list) else []


def alert_event(entry: AuditEvent) -> AlertEvent:
    """The sinks' form of a ``security_alert`` audit entry."""
    when = datetime.strptime(entry.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    summary = str(entry.details.get("summary") or entry.details.get("kind") or "security alert")
    return AlertEvent(
        kind="security",
        pipeline="workspace",
        run_id=f"audit-{entry.seq}",
        state=str(entry.details.get("kind") or "security"),
        started_at=when,
        summary=f"Security: {summary} ({entry.target}, audit entry {entry.seq})",
    )


class SecurityAlertForwarder:
    """Sends new ``security_alert`` audit entries to the ``security:`` sinks."""

    def __init__(self, settings: Settings, alerts_file: Path, *, interval: float = 5.0) -> None:
        self.settings = settings
        self.alerts_file = Path(alerts_file)
        self.interval = interval
        self.sent = 0

    def forward_once(self) -> int:
        """Send the alerts recorded since the last call; returns how many were sent."""
        store = writable_trail(self.settings)
        if store is None or not store.path.exists():
            return 0
        cursor = store.path.with_name(CURSOR)
        try:
            pending = store.after(int(cursor.read_text(encoding="utf-8")), SECURITY_ALERT)
        except (FileNotFoundError, ValueError):  # first start: older alerts are history
            since = (datetime.now(UTC) - FIRST_START_WINDOW).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            pending = [e for e in store.after(0, SECURITY_ALERT) if e.time >= since]
        names = security_sink_names(self.alerts_file)
        sinks: dict[str, Any] = {}
        if pending and names:
            try:
                sinks = load_sinks(self.alerts_file)
            except WorkspaceError as exc:
                log.error("security alerts not sent: %s", exc)
                return 0
        sent = 0
        for entry in pending:
            for name in names:
                sink = sinks.get(name)
                if sink is None:
                    log.error("alerts.yaml: security: names %r, which is not a sink", name)
                    continue
                try:
                    sink.send(alert_event(entry))
                except AlertDeliveryError as exc:
                    log.error("security alert %d not delivered: %s", entry.seq, exc)
                except Exception:
                    log.exception("security alert %d: sink %r failed", entry.seq, name)
            sent += 1
            cursor.write_text(f"{entry.seq}\n", encoding="utf-8")
        self.sent += sent
        return sent

    def run_forever(self, stop: threading.Event) -> None:
        """Call :meth:`forward_once` every ``interval`` seconds until ``stop`` is set."""
        while not stop.wait(self.interval):
            try:
                self.forward_once()
            except Exception:
                log.exception("security alerts: forwarding failed; retrying")

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run :meth:`run_forever` on a daemon thread."""
        thread = threading.Thread(
            target=self.run_forever, args=(stop,), name="workspace-security-alerts", daemon=True
        )
        thread.start()
        return thread
