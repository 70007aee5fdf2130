"""``POST governance/classify`` through the one route table: the legal group and the table's
owner classify through the service; anyone else is refused before anything moves, an owner
cannot approve lowering, and the audit trail names the caller, not the service."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from workspace.api.auth import RUN_SCOPE, Identity
from workspace.api.classify_routes import ClassifyBody
from workspace.api.errors import error_body
from workspace.api.mount import invoke
from workspace.api.routes import ROUTES_BY_NAME
from workspace.api.service import JobsService
from workspace.governance.audit import AuditQuery, trail
from workspace.governance.classify import ClassifyResult
from workspace.hub.jobs_authz import HubScopes
from workspace.hub.jobs_visibility import PathScrubber
from workspace.lake import Workspace
from workspace.lake.protected import read_index
from workspace.lake.settings import Settings

OWNER = Identity("olga", frozenset({"analysts"}), frozenset({RUN_SCOPE}))
LEGAL = Identity("lee", frozenset({"legal"}), frozenset({RUN_SCOPE}))
OTHER = Identity("ana", frozenset({"analysts"}), frozenset({RUN_SCOPE}))


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobsService]:
    settings = Settings.resolve(tmp_path / "home", user="root")
    with Workspace(settings) as ws:
        for table in ("silver.patients", "silver.visits"):
            ws.write(table, pd.DataFrame({"id": [1, 2], "name": ["Zora", "Ivo"]}))
            ws.catalog.annotate(table, owner="olga", description="people")
    (tmp_path / "scheduled").mkdir()
    service = JobsService(settings, tmp_path / "scheduled")
    with contextlib.closing(service.store):
        yield service


def _classify(jobs: JobsService, who: Identity, **body: object) -> object:
    auth = HubScopes(who, PathScrubber([]))
    try:
        return invoke(ROUTES_BY_NAME["classify"], jobs, auth, {}, body=ClassifyBody(**body))
    except Exception as exc:  # the one error mapping, as the HTTP front ends answer
        return error_body(exc)


def test_owner_and_legal_classify_others_are_refused(jobs: JobsService) -> None:
    settings = jobs.settings
    refused = _classify(jobs, OTHER, table="silver.patients", tier="confidential")
    assert getattr(refused, "status", None) == 403 and "olga" in refused.error  # type: ignore[attr-defined]
    assert "silver.patients" not in read_index(settings)  # nothing moved

    done = _classify(jobs, OWNER, table="silver.patients", tier="confidential",
                     pii={"name": "hash"})  # fmt: skip
    assert isinstance(done, ClassifyResult) and done.moved == "in"
    assert read_index(settings)["silver.patients"].tier == "confidential"

    lowering = _classify(jobs, OWNER, table="silver.patients", tier="internal", approve=True)
    assert getattr(lowering, "status", None) == 403  # the legal group approves lowering

    back = _classify(jobs, LEGAL, table="silver.patients", tier="internal", approve=True)
    assert isinstance(back, ClassifyResult) and back.moved == "out"
    legal = _classify(jobs, LEGAL, table="silver.visits", tier="restricted")
    assert isinstance(legal, ClassifyResult) and legal.tier == "restricted"

    changes = trail(settings).query(AuditQuery(action="tier_change"))
    assert sorted((e.actor, e.target) for e in changes) == [  # the callers, not root
        ("lee", "table:silver.patients"),
        ("lee", "table:silver.visits"),
        ("olga", "table:silver.patients"),
    ]


def test_the_dialog_reads_the_tiers_the_masks_and_what_the_caller_may_do(
    jobs: JobsService,
) -> None:
    from workspace.api.classify_routes import ClassifyQuery, ClassifyView

    def view(who: Identity) -> ClassifyView:
        auth = HubScopes(who, PathScrubber([]))
        route = ROUTES_BY_NAME["classify_view"]
        answer = invoke(route, jobs, auth, {}, query=ClassifyQuery(table="silver.patients"))
        assert isinstance(answer, ClassifyView)
        return answer

    owner = view(OWNER)
    assert [t.name for t in owner.tiers] == ["public", "internal", "confidential", "restricted"]
    assert [t.name for t in owner.tiers if t.protected] == ["confidential", "restricted"]
    assert [t.name for t in owner.tiers if t.encrypted] == ["restricted"]
    assert (owner.tier, owner.may_classify, owner.may_lower) == ("internal", True, False)
    assert owner.masks == ["hash", "redact", "partial", "generalise"] and owner.pii == {}
    other = view(OTHER)
    assert not other.may_classify and "olga" in str(other.why_not)
    _classify(jobs, LEGAL, table="silver.patients", tier="confidential", pii={"name": "partial"})
    legal = view(LEGAL)
    assert (legal.tier, legal.pii, legal.may_lower) == ("confidential", {"name": "partial"}, True)
