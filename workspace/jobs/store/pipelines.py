"""What the platform records about a pipeline: owner, review and audience (store schema 4).

A pipeline's identity is given by the platform, not declared in its ``pipeline.yaml``:

* its **name** is its folder under ``scheduled/`` (see :mod:`workspace.jobs.spec.pipeline`);
* its **owner** is recorded here by the scheduler service, from the hub identity that
  promoted it; later changes go through :meth:`GovernanceMixin.set_owner` and are kept as
  ``owner`` events (who, when, the previous owner);
* its **review state**: a promotion that needs review leaves it ``pending`` (and paused; no
  run of it can be created) until an engineer or admin :meth:`~GovernanceMixin.approve`\\ s it;
* its **audience** (who may read its reports besides the owner, engineers and admins) is
  set here by the owner; without one the pipeline is private.

A folder installed in ``scheduled/`` by the deployment's operators (the repo's demo
pipelines) has no promoter; the first time the service meets it, its ``owner:`` and
``audience:`` are **adopted once** as initial values (:meth:`GovernanceMixin.adopt`), only
where nothing is recorded yet. After that the file's values are ignored.

Every public method is one transaction.

Examples
--------
>>> store = RunStore.open("/tmp/ws-doc-gov/runs.sqlite")  # doctest: +SKIP
>>> store.register_promotion("daily", owner="ada", by="ada", pending=True).approval
... # doctest: +SKIP
'pending'
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
)
from workspace.jobs.spec.pipeline import Audience
from workspace.jobs.store.rows import StoreRows

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


class GovernanceMixin(StoreRows):
    """Owner, review and audience of pipelines (the ``pipelines`` columns of schema 4)."""

    def _gov(self, con: sqlite3.Connection, name: str) -> Governance:
        row = con.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PipelineNotFoundError(name)
        return _governance(row)

    def _pipeline_event(
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
            (name, self._now(), kind, actor, json.dumps(detail, sort_keys=True, default=str)),
        )

    def _ensure(self, con: sqlite3.Connection, name: str) -> None:
        now = self._now()
        con.execute(
            "INSERT INTO pipelines (name, enabled_at, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO NOTHING",
            (name, now, now),
        )

    def governance(self, name: str) -> Governance:
        """Owner, review state and audience of a registered pipeline (404 otherwise)."""
        with self._tx(write=False) as con:
            return self._gov(con, name)

    def list_governance(self) -> dict[str, Governance]:
        """Every registered pipeline's record, by name."""
        with self._tx(write=False) as con:
            rows = con.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
        return {r["name"]: _governance(r) for r in rows}

    def pipeline_events(self, name: str, *, kind: EventKind | None = None) -> list[PipelineEvent]:
        """The recorded changes of a pipeline, oldest first (``kind='owner'``: owner history)."""
        with self._tx(write=False) as con:
            self._gov(con, name)
            rows = con.execute(
                "SELECT * FROM pipeline_events WHERE pipeline = ? AND (? IS NULL OR kind = ?) "
                "ORDER BY event_id",
                (name, kind, kind),
            ).fetchall()
        return [
            PipelineEvent.model_validate({**dict(r), "detail": json.loads(r["detail"])})
            for r in rows
        ]

    def adopt(self, name: str, *, owner: str | None, audience: Audience | None) -> Governance:
        """Register ``name`` if needed and take a folder's ``owner:``/``audience:`` once.

        Only values nothing was recorded for are taken, and only the first time (later calls
        change nothing, even after the owner unshared the pipeline).
        """
        now = self._now()
        with self._tx() as con:
            self._ensure(con, name)
            gov = self._gov(con, name)
            if gov.adopted_at is not None:
                return gov
            con.execute("UPDATE pipelines SET adopted_at = ? WHERE name = ?", (now, name))
            if gov.owner is None and owner:
                con.execute("UPDATE pipelines SET owner = ? WHERE name = ?", (owner, name))
                self._pipeline_event(
                    con, name, "owner", None, owner=owner, previous=None,
                    reason="initial owner from pipeline.yaml",
                )  # fmt: skip
            shared = _audience_json(audience)
            if gov.audience is None and shared is not None:
                con.execute(
                    "UPDATE pipelines SET audience = ?, audience_at = ? WHERE name = ?",
                    (shared, now, name),
                )
                self._pipeline_event(
                    con, name, "audience", None, audience=json.loads(shared),
                    reason="initial audience from pipeline.yaml",
                )  # fmt: skip
            return self._gov(con, name)

    def register_promotion(self, name: str, *, owner: str, by: str, pending: bool) -> Governance:
        """Record a promotion of ``name`` by ``by``: a new pipeline gets ``owner``; a
        re-promotion keeps its owner. ``pending`` leaves it paused until approved."""
        now = self._now()
        with self._tx() as con:
            self._ensure(con, name)
            gov = self._gov(con, name)
            con.execute(
                "UPDATE pipelines SET promoted_by = ?, promoted_at = ?, adopted_at = "
                "coalesce(adopted_at, ?), updated_at = ? WHERE name = ?",
                (by, now, now, now, name),
            )
            if gov.owner is None:
                con.execute("UPDATE pipelines SET owner = ? WHERE name = ?", (owner, name))
                self._pipeline_event(
                    con, name, "owner", by, owner=owner, previous=None, reason="promoted"
                )
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
            self._pipeline_event(con, name, "promoted", by, pending=pending)
            if not pending:
                self._pipeline_event(con, name, "approved", by, automatic=True)
            return self._gov(con, name)

    def approve(self, name: str, *, by: str) -> Governance:
        """Approve a pending pipeline: its schedule is enabled from now on (no catch-up of
        ticks before the approval). 409 if it is not pending."""
        now = self._now()
        with self._tx() as con:
            gov = self._gov(con, name)
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
            self._pipeline_event(con, name, "approved", by)
            return self._gov(con, name)

    def set_owner(self, name: str, owner: str, *, by: str, reason: str = "") -> Governance:
        """Make ``owner`` the pipeline's owner; the change is recorded (who, when, from)."""
        if not owner:
            raise ValueError("the new owner is empty; give a hub user name")
        with self._tx() as con:
            gov = self._gov(con, name)
            if gov.owner == owner:
                return gov
            con.execute(
                "UPDATE pipelines SET owner = ?, updated_at = ? WHERE name = ?",
                (owner, self._now(), name),
            )
            self._pipeline_event(
                con, name, "owner", by, owner=owner, previous=gov.owner, reason=reason
            )
            return self._gov(con, name)

    def set_audience(self, name: str, audience: Audience | None, *, by: str) -> Governance:
        """Replace who may read the pipeline's reports (``None`` or empty: private)."""
        now = self._now()
        shared = _audience_json(audience)
        with self._tx() as con:
            self._gov(con, name)
            con.execute(
                "UPDATE pipelines SET audience = ?, audience_by = ?, audience_at = ?, "
                "adopted_at = coalesce(adopted_at, ?), updated_at = ? WHERE name = ?",
                (shared, by, now, now, now, name),
            )
            self._pipeline_event(
                con, name, "audience", by, audience=None if shared is None else json.loads(shared)
            )
            return self._gov(con, name)


class _Keep:
    """Default of :meth:`RunStore.upsert_pipeline`'s ``owner``: leave the stored one."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = _Keep()


class PipelinesMixin(GovernanceMixin):
    """Registering, reading, pausing and resuming pipelines (a mixin of ``RunStore``)."""

    def upsert_pipeline(
        self,
        name: str,
        *,
        spec_hash: str | None = None,
        owner: str | _Keep | None = KEEP,
        enabled: bool | None = None,
    ) -> Pipeline:
        """Register a pipeline (``enabled_at`` = now) or update its spec hash.

        ``enabled`` is the ``enabled:`` of its ``pipeline.yaml`` (None: not known). The store
        remembers when a pipeline was seen disabled; seen enabled again, its ``enabled_at``
        becomes now, so catch-up never runs a tick from before the re-enabling.

        ``owner`` only fills in a pipeline that has no recorded owner and whose folder's
        values were not adopted yet (recorded as an ``owner`` event); it never replaces one:
        ownership changes go through :meth:`set_owner`. The recorded owner is copied into the
        runs created later without an explicit owner.

        Examples
        --------
        >>> store.upsert_pipeline("daily_sales", spec_hash="abc").paused
        False
        """
        now = self._now()
        with self._tx() as con:
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
                    self._pipeline_event(
                        con, name, "owner", None, owner=owner, previous=None, reason="registered"
                    )
            return self._pipeline(con, name)

    @staticmethod
    def _pipeline(con: sqlite3.Connection, name: str) -> Pipeline:
        row = con.execute("SELECT * FROM pipelines WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise PipelineNotFoundError(name)
        return Pipeline.model_validate(dict(row))

    def get_pipeline(self, name: str) -> Pipeline:
        """One pipeline; :class:`PipelineNotFoundError` if it is not registered."""
        with self._tx(write=False) as con:
            return self._pipeline(con, name)

    def list_pipelines(self) -> list[Pipeline]:
        """All registered pipelines, by name."""
        with self._tx(write=False) as con:
            rows = con.execute("SELECT * FROM pipelines ORDER BY name").fetchall()
        return [Pipeline.model_validate(dict(r)) for r in rows]

    def pause(self, name: str) -> Pipeline:
        """Pause a pipeline: no scheduled run is created until :meth:`resume`."""
        return self._set_paused(name, True)

    def resume(self, name: str) -> Pipeline:
        """Resume a paused pipeline (the scheduler decides whether to catch up)."""
        return self._set_paused(name, False)

    def _set_paused(self, name: str, paused: bool) -> Pipeline:
        now = self._now()
        with self._tx() as con:
            self._pipeline(con, name)
            if not paused and self._gov(con, name).pending:
                raise PipelinePendingError(name)
            con.execute(
                "UPDATE pipelines SET paused = ?, paused_at = ?, updated_at = ? WHERE name = ?",
                (int(paused), now if paused else None, now, name),
            )
            return self._pipeline(con, name)
