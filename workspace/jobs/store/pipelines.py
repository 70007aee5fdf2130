"""Pipelines in the run store: registration, pausing, and what the platform records about them.

A pipeline's name is its folder under ``scheduled/``; its **owner** (from the identity that
promoted it), its **review state** (a promotion that needs review stays ``pending``, and
paused, until an engineer or admin approves it) and its **audience** (who may read its
reports; none: private) are recorded here (schema 4), never taken from ``pipeline.yaml``,
except once for a folder installed by the operators (:meth:`PipelineRepository.adopt`).
Every change is a ``pipeline_events`` row (who, when, from what). The rules are in
``docs/pipelines.md`` ("Identity, review and sharing"). :class:`PipelineRepository` works
inside the caller's transaction (:mod:`workspace.jobs.store.database`).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workspace.jobs.models import (
    InvalidTransitionError,
    Pipeline,
    PipelineNotFoundError,
    PipelinePausedError,
    Trigger,
)
from workspace.jobs.spec.pipeline import Audience
from workspace.jobs.store.database import RunDatabase

Approval = Literal["pending", "approved"]
EventKind = Literal["promoted", "approved", "owner", "audience"]


class PipelinePendingError(PipelinePausedError, InvalidTransitionError):
    """A pipeline waits for review: no run of it may be created (409)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.what, self.current, self.target = f"pipeline {name!r}", "pending", "running"
        Exception.__init__(
            self,
            f"Pipeline {name!r} is pending review, so it cannot run yet. An engineer or admin "
            f"approves it with `workspace jobs approve {name}` (or the Pipelines panel).",
        )


class Governance(BaseModel):
    """The platform's record of a pipeline's owner, review state and audience."""

    model_config = ConfigDict(frozen=True)

    name: str
    owner: str | None = None
    approval: Approval = "approved"
    promoted_by: str | None = None
    promoted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    audience: Audience | None = Field(
        None, description="Who may read its reports besides the owner; null: private."
    )
    audience_by: str | None = None
    audience_at: datetime | None = None
    adopted_at: datetime | None = Field(
        None, description="When the folder's initial owner/audience were taken (once)."
    )

    @property
    def pending(self) -> bool:
        return self.approval == "pending"


class PipelineEvent(BaseModel):
    """One recorded change of a pipeline (promotion, approval, owner, audience)."""

    model_config = ConfigDict(frozen=True)

    event_id: int
    pipeline: str
    at: datetime
    kind: EventKind
    actor: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


class _Keep:
    """Default of :meth:`RunStore.upsert_pipeline`'s ``owner``: leave the stored one."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


def _governance(row: sqlite3.Row) -> Governance:
    data = dict(row)
    raw = data.get("audience")
    data["audience"] = None if raw is None else Audience.model_validate(json.loads(raw))
    return Governance.model_validate(data)


def _audience_json(audience: Audience | None) -> str | None:
    if audience is None:
        return None
    clean = Audience(
        groups=sorted(dict.fromkeys(audience.groups)), users=sorted(dict.fromkeys(audience.users))
    )
    if not clean.groups and not clean.users:
        return None
    return clean.model_dump_json()


class PipelineRepository:
    """The ``pipelines`` and ``pipeline_events`` tables; each method runs in ``con``, the
    caller's open transaction, and never opens one."""

    def __init__(self, db: RunDatabase) -> None:
        self._db = db

    # -- reading --------------------------------------------------------------------------

    @staticmethod
    def get(con: sqlite3.Connection, name: str) -> Pipeline:
        """One pipeline; :class:`PipelineNotFoundError` if it is not registered."""
        row = con.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PipelineNotFoundError(name)
        return Pipeline.model_validate(dict(row))

    @staticmethod
    def get_all(con: sqlite3.Connection) -> list[Pipeline]:
        """Every registered pipeline, by name."""
        rows = con.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
        return [Pipeline.model_validate(dict(r)) for r in rows]

    @staticmethod
    def governance(con: sqlite3.Connection, name: str) -> Governance:
        """Owner, review state and audience of a registered pipeline."""
        row = con.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PipelineNotFoundError(name)
        return _governance(row)

    @staticmethod
    def all_governance(con: sqlite3.Connection) -> dict[str, Governance]:
        """Every registered pipeline's record, by name."""
        rows = con.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
        return {r["name"]: _governance(r) for r in rows}

    def events(
        self, con: sqlite3.Connection, name: str, kind: EventKind | None
    ) -> list[PipelineEvent]:
        """The recorded changes of a pipeline, oldest first, optionally of one kind."""
        self.governance(con, name)
        rows = con.execute(
            "SELECT * FROM pipeline_events WHERE pipeline = ? AND (? IS NULL OR kind = ?) "
            "ORDER BY event_id",
            (name, kind, kind),
        ).fetchall()
        return [
            PipelineEvent.model_validate({**dict(r), "detail": json.loads(r["detail"])})
            for r in rows
        ]

    def runnable(self, con: sqlite3.Connection, name: str, trigger: Trigger) -> Pipeline:
        """The pipeline, if a run with ``trigger`` may be created for it now.

        Raises :class:`PipelineNotFoundError`, :class:`PipelinePendingError` (pending review:
        no run at all) or :class:`PipelinePausedError` (paused: only manual runs).
        """
        record = self.get(con, name)
        if self.governance(con, name).pending:
            raise PipelinePendingError(name)
        if record.paused and trigger != Trigger.MANUAL:
            raise PipelinePausedError(name)
        return record

    # -- registering and pausing ----------------------------------------------------------

    def upsert(
        self,
        con: sqlite3.Connection,
        name: str,
        spec_hash: str | None,
        owner: str | _Keep | None,
        enabled: bool | None,
    ) -> Pipeline:
        """Register ``name`` (``enabled_at`` = now) or update its spec hash.

        ``enabled`` is the ``enabled:`` of its ``pipeline.yaml`` (None: not known). The store
        remembers when a pipeline was seen disabled; seen enabled again, its ``enabled_at``
        becomes now, so catch-up never runs a tick from before the re-enabling. ``owner``
        only fills in a pipeline that has no recorded owner and whose folder's values were
        not adopted yet (recorded as an ``owner`` event); it never replaces one.
        """
        now = self._db.now()
        con.execute(
            "INSERT INTO pipelines (name, enabled_at, spec_hash, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
            "spec_hash = excluded.spec_hash, updated_at = excluded.updated_at "
            "WHERE pipelines.spec_hash IS NOT excluded.spec_hash",
            (name, now, spec_hash, now),
        )
        if enabled is False:
            con.execute(
                "UPDATE pipelines SET disabled_at = ?, updated_at = ? "
                "WHERE name = ? AND disabled_at IS NULL",
                (now, now, name),
            )
        elif enabled:
            con.execute(
                "UPDATE pipelines SET enabled_at = ?, disabled_at = NULL, updated_at = ? "
                "WHERE name = ? AND disabled_at IS NOT NULL",
                (now, now, name),
            )
        if not isinstance(owner, _Keep) and owner:
            changed = con.execute(
                "UPDATE pipelines SET owner = ?, updated_at = ? "
                "WHERE name = ? AND owner IS NULL AND adopted_at IS NULL",
                (owner, now, name),
            ).rowcount
            if changed:
                self._event(
                    con, name, "owner", None, owner=owner, previous=None, reason="registered"
                )
        return self.get(con, name)

    def set_paused(self, con: sqlite3.Connection, name: str, paused: bool) -> Pipeline:
        """Pause or resume ``name``; a pipeline pending review cannot be resumed."""
        now = self._db.now()
        self.get(con, name)
        if not paused and self.governance(con, name).pending:
            raise PipelinePendingError(name)
        con.execute(
            "UPDATE pipelines SET paused = ?, paused_at = ?, updated_at = ? WHERE name = ?",
            (int(paused), now if paused else None, now, name),
        )
        return self.get(con, name)

    # -- owner, review and audience -------------------------------------------------------

    def adopt(
        self, con: sqlite3.Connection, name: str, owner: str | None, audience: Audience | None
    ) -> Governance:
        """Register ``name`` if needed and take a folder's ``owner:``/``audience:`` once.

        Only values nothing was recorded for are taken, and only the first time (later calls
        change nothing, even after the owner unshared the pipeline).
        """
        now = self._db.now()
        self._ensure(con, name)
        gov = self.governance(con, name)
        if gov.adopted_at is not None:
            return gov
        con.execute("UPDATE pipelines SET adopted_at = ? WHERE name = ?", (now, name))
        if gov.owner is None and owner:
            con.execute("UPDATE pipelines SET owner = ? WHERE name = ?", (owner, name))
            self._event(
                con, name, "owner", None, owner=owner, previous=None,
                reason="initial owner from pipeline.yaml",
            )  # fmt: skip
        shared = _audience_json(audience)
        if gov.audience is None and shared is not None:
            con.execute(
                "UPDATE pipelines SET audience = ?, audience_at = ? WHERE name = ?",
                (shared, now, name),
            )
            self._event(
                con, name, "audience", None, audience=json.loads(shared),
                reason="initial audience from pipeline.yaml",
            )  # fmt: skip
        return self.governance(con, name)

    def register_promotion(
        self, con: sqlite3.Connection, name: str, owner: str, by: str, pending: bool
    ) -> Governance:
        """Record a promotion by ``by``; a new pipeline gets ``owner``."""
        now = self._db.now()
        self._ensure(con, name)
        gov = self.governance(con, name)
        con.execute(
            "UPDATE pipelines SET promoted_by = ?, promoted_at = ?, adopted_at = "
            "coalesce(adopted_at, ?), updated_at = ? WHERE name = ?",
            (by, now, now, now, name),
        )
        if gov.owner is None:
            con.execute("UPDATE pipelines SET owner = ? WHERE name = ?", (owner, name))
            self._event(con, name, "owner", by, owner=owner, previous=None, reason="promoted")
        if pending:
            con.execute(
                "UPDATE pipelines SET approval = 'pending', approved_by = NULL, "
                "approved_at = NULL, paused = 1, paused_at = ? WHERE name = ?",
                (now, name),
            )
        else:
            con.execute(
                "UPDATE pipelines SET approval = 'approved', approved_by = ?, "
                "approved_at = ? WHERE name = ?",
                (by, now, name),
            )
        self._event(con, name, "promoted", by, pending=pending)
        if not pending:
            self._event(con, name, "approved", by, automatic=True)
        return self.governance(con, name)

    def approve(self, con: sqlite3.Connection, name: str, by: str) -> Governance:
        """Approve a pending pipeline; its schedule is enabled from now on."""
        now = self._db.now()
        gov = self.governance(con, name)
        if not gov.pending:
            raise InvalidTransitionError(
                f"pipeline {name!r}",
                "approved",
                "approved",
                f"It is not pending review (approved by {gov.approved_by or 'the platform'});"
                " nothing to approve.",
            )
        con.execute(
            "UPDATE pipelines SET approval = 'approved', approved_by = ?, approved_at = ?, "
            "paused = 0, paused_at = NULL, enabled_at = ?, updated_at = ? WHERE name = ?",
            (by, now, now, now, name),
        )
        self._event(con, name, "approved", by)
        return self.governance(con, name)

    def set_owner(
        self, con: sqlite3.Connection, name: str, owner: str, by: str, reason: str
    ) -> Governance:
        """Make ``owner`` the pipeline's owner, recording who changed it from whom."""
        if not owner:
            raise ValueError("the new owner is empty; give a hub user name")
        gov = self.governance(con, name)
        if gov.owner == owner:
            return gov
        con.execute(
            "UPDATE pipelines SET owner = ?, updated_at = ? WHERE name = ?",
            (owner, self._db.now(), name),
        )
        self._event(con, name, "owner", by, owner=owner, previous=gov.owner, reason=reason)
        return self.governance(con, name)

    def set_audience(
        self, con: sqlite3.Connection, name: str, audience: Audience | None, by: str
    ) -> Governance:
        """Replace who may read the pipeline's reports (``None`` or empty: private)."""
        now = self._db.now()
        shared = _audience_json(audience)
        self.governance(con, name)
        con.execute(
            "UPDATE pipelines SET audience = ?, audience_by = ?, audience_at = ?, "
            "adopted_at = coalesce(adopted_at, ?), updated_at = ? WHERE name = ?",
            (shared, by, now, now, now, name),
        )
        self._event(
            con, name, "audience", by, audience=None if shared is None else json.loads(shared)
        )
        return self.governance(con, name)

    # -- helpers --------------------------------------------------------------------------

    def _ensure(self, con: sqlite3.Connection, name: str) -> None:
        now = self._db.now()
        con.execute(
            "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, now, now),
        )

    def _event(
        self,
        con: sqlite3.Connection,
        name: str,
        kind: EventKind,
        actor: str | None,
        **detail: Any,
    ) -> None:
        con.execute(
            "INSERT INTO pipeline_events (pipeline, at, kind, actor, detail) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, self._db.now(), kind, actor, json.dumps(detail, sort_keys=True, default=str)),
        )
