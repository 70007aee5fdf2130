"""The catalog's quality data (workspace.server.quality_ops): one batched health for the
badges, a table's Quality tab, and PII reviews that only the table's owner may make."""

from __future__ import annotations

import pandas as pd
import pytest

from workspace.lake import Workspace
from workspace.lake.settings import Settings
from workspace.server.quality_models import PiiReview
from workspace.server.quality_ops import health_all, review_pii, table_quality


@pytest.fixture
def people(ws: Workspace) -> str:
    frame = pd.DataFrame({"id": range(40), "email": [f"user{i}@example.org" for i in range(40)]})
    ws.write("silver.people", frame)
    ws.write("silver.people", frame.assign(id=frame.id + 40))
    ws.quality.contract("silver.people", checks=[{"type": "unique", "columns": "id"}])
    ws.quality.check("silver.people")
    return "silver.people"


def test_health_and_quality_tab(ws: Workspace, people: str) -> None:
    assert {r.table: r.level for r in health_all(ws).tables}[people] == "unknown"
    q = table_quality(ws, people)  # samples the new text columns for PII
    assert [(c.name, c.status) for c in q.checks] == [("unique(id)", "pass")]
    assert [p.rows_total for p in q.history] == [40, 80]
    assert [(p.column, p.kind, p.status) for p in q.pii] == [("email", "email", "suggested")]
    assert any(f.kind == "pii" and f.column == "email" for f in q.findings)
    assert "user1@" not in q.model_dump_json()  # only masked examples
    assert q.can_review and q.health.level == "warn"
    rows = {r.table: r for r in health_all(ws).tables}
    assert rows[people].level == "warn" and "email" in rows[people].message


def test_owner_confirms_and_others_may_not(
    ws: Workspace, ws_settings: Settings, people: str
) -> None:
    ws.catalog.annotate(people, owner="someone-else")
    with pytest.raises(PermissionError, match="someone-else"):
        review_pii(ws_settings, people, PiiReview(column="email", action="confirm"))
    assert not table_quality(ws, people).can_review
    ws.catalog.annotate(people, owner=ws_settings.user)
    done = review_pii(ws_settings, people, PiiReview(column="email", action="confirm"))
    assert done.action == "confirm"
    q = table_quality(ws, people)
    assert [p.status for p in q.pii] == ["confirmed"]
    assert not any(f.kind == "pii" for f in q.findings)


def test_dismiss_and_sandbox_tables(ws: Workspace, ws_settings: Settings, people: str) -> None:
    assert [p.status for p in table_quality(ws, people).pii] == ["suggested"]
    review_pii(ws_settings, people, PiiReview(column="email", action="dismiss"))
    assert [p.status for p in table_quality(ws, people).pii] == ["dismissed"]
    ws.write("mine", pd.DataFrame({"x": [1]}))
    assert table_quality(ws, "mine").health.health == "unwatched"
