"""The scheduler service's care of access grants: expiry on time, approvers told of requests.

Every ``interval`` seconds (5 by default) :class:`AccessUpkeep`, on a thread of the
scheduler service (root), revokes the grants whose time is up, every ``sync_every`` passes
re-applies the ACLs (and row-filtered copies) of active grants, and sends each new
``access_request`` audit entry once to the sinks under ``access:`` in ``alerts.yaml``.
Design notes: docs/governance.md ("Module notes").

>>> upkeep = AccessUpkeep(settings, Path("alerts.yaml"))  # doctest: +SKIP
>>> upkeep.once()  # doctest: +SKIP
UpkeepPass(expired=1, synced=0, notified=2)
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from workspace.governance.access import AccessService, store_path
from workspace.governance.audit import writable_trail
from workspace.governance.audit_store import AuditEvent
from workspace.jobs.alerts.config import ACCESS_KEY, load_sinks
from workspace.jobs.alerts.event import AlertDeliveryError, AlertEvent
from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)
CURSOR = "access-alerts-sent"
REQUEST = "access_request"


@dataclass(frozen=True)
class UpkeepPass:
    """What one pass did: grants expired, ACL changes made, requests notified."""

    expired: int = 0
    synced: int = 0
    notified: int = 0


def access_sink_names(alerts_file: Path) -> list[str]:
    """The names under ``access:`` in ``alerts.yaml`` ([] without the file or the key)."""
    try:
        data = yaml.safe_load(alerts_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    names = data.get(ACCESS_KEY) if isinstance(data, dict) else None
    if isinstance(names, str):
        names = [names]
    return [str(n) for n in names] if isinstance(names, list) else []


def request_alert(entry: AuditEvent) -> AlertEvent:
    """The sinks' form of an ``access_request`` audit entry.

    Examples
    --------
    >>> e = AuditEvent(seq=7, time="2026-01-02T03:04:05.000000Z", actor="ana",
    ...     action="access_request", target="table:silver.customers",
    ...     details={"request_id": 3, "reason": "churn", "days": 14,
    ...              "approvers": "the legal group or an admin"}, prev_hash="", hash="")
    >>> print(request_alert(e).summary)  # doctest: +NORMALIZE_WHITESPACE
    ana asks for silver.customers for 14 days: churn. For the legal group or an admin:
    `workspace access approve 3` or `workspace access deny 3`.
    """
    d = entry.details
    target = entry.target.removeprefix("table:").replace("tier:", "tier ")
    rid = d.get("request_id")
    when = datetime.strptime(entry.time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return AlertEvent(
        kind="access",
        pipeline=target,
        run_id=f"audit-{entry.seq}",
        state=f"request {rid}",
        started_at=when,
        summary=(
            f"{entry.actor} asks for {target} for {d.get('days')} days: {d.get('reason')}. "
            f"For {d.get('approvers')}: `workspace access approve {rid}` or "
            f"`workspace access deny {rid}`."
        ),
    )


class AccessUpkeep:
    """Expires grants, keeps their ACLs, and tells the approvers of new requests."""

    def __init__(
        self,
        settings: Settings,
        alerts_file: Path,
        *,
        interval: float = 5.0,
        sync_every: int = 12,
    ) -> None:
        self.settings = settings
        self.alerts_file = Path(alerts_file)
        self.interval = interval
        self.sync_every = max(1, sync_every)
        self.passes = 0

    def once(self) -> UpkeepPass:
        """One pass (see the module docs)."""
        expired = synced = 0
        if store_path(self.settings).exists():
            service = AccessService(self.settings)
            expired = len(service.expire())
            if self.passes % self.sync_every == 0:
                synced = service.sync_all()
        self.passes += 1
        return UpkeepPass(expired, synced, self.notify())

    def notify(self) -> int:
        """Send the access requests recorded since the last call; returns how many."""
        store = writable_trail(self.settings)
        if store is None or not store.path.exists():
            return 0
        cursor = store.path.with_name(CURSOR)
        try:
            pending = store.after(int(cursor.read_text(encoding="utf-8")), REQUEST)
        except (FileNotFoundError, ValueError):  # first start: only what is still current
            pending = [e for e in store.after(0, REQUEST)][-20:]
        names = access_sink_names(self.alerts_file)
        sinks: dict[str, Any] = {}
        if pending and names:
            try:
                sinks = load_sinks(self.alerts_file)
            except WorkspaceError as exc:
                log.error("access request alerts not sent: %s", exc)
                return 0
        for entry in pending:
            for name in names:
                sink = sinks.get(name)
                if sink is None:
                    log.error("alerts.yaml: access: names %r, which is not a sink", name)
                    continue
                try:
                    sink.send(request_alert(entry))
                except AlertDeliveryError as exc:
                    log.error("access request %d not delivered: %s", entry.seq, exc)
                except Exception:
                    log.exception("access request %d: sink %r failed", entry.seq, name)
            cursor.write_text(f"{entry.seq}\n", encoding="utf-8")
        return len(pending)

    def run_forever(self, stop: threading.Event) -> None:
        """Call :meth:`once` every ``interval`` seconds until ``stop`` is set."""
        while not stop.wait(self.interval):
            try:
                self.once()
            except Exception:
                log.exception("access upkeep failed; retrying")

    def start(self, stop: threading.Event) -> threading.Thread:
        """Run :meth:`run_forever` on a daemon thread."""
        thread = threading.Thread(
            target=self.run_forever, args=(stop,), name="workspace-access-upkeep", daemon=True
        )
        thread.start()
        return thread
