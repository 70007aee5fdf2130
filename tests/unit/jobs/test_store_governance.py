"""Identity given by the platform: names are folders, owners/review/audience live in the store."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path

import pytest

from workspace.api.errors import error_body
from workspace.jobs.models import InvalidTransitionError
from workspace.jobs.spec.pipeline import Audience, PipelineSpecError, parse_pipeline
from workspace.jobs.store.pipelines import PipelinePendingError
from workspace.jobs.store.pipelines import PipelinePendingError as Pending
from workspace.jobs.store.run_store import RunStore
from workspace.jobs.store.schema import SCHEMA_VERSION

SPEC = "tasks:\n  - {name: a, notebook: a.ipynb}\n"


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    s = RunStore.open(tmp_path / "runs.sqlite")
    yield s
    s.close()


def test_a_name_that_differs_from_the_folder_is_rejected() -> None:
    src = "scheduled/p_mallory/pipeline.yaml"
    with pytest.raises(PipelineSpecError, match=r"p_mallory/pipeline.yaml: name: 'p_alice'"):
        parse_pipeline("name: p_alice\n" + SPEC, source=src, name="p_mallory")
    assert parse_pipeline("name: p_alice\n" + SPEC, source=src, name="p_alice").name == "p_alice"
    assert parse_pipeline(SPEC, source=src, name="p_mallory").name == "p_mallory"


def test_a_version_3_store_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    con = sqlite3.connect(path)
    for script in ("schema.sql", "schema_2.sql", "schema_3.sql"):
        con.executescript(resources.files("workspace.jobs.store").joinpath(script).read_text())
    con.execute("PRAGMA user_version = 3")
    now = "2025-01-01T00:00:00.000000+00:00"
    con.execute(
        "INSERT INTO pipelines (name, enabled_at, updated_at, owner) VALUES ('p', ?, ?, 'ada')",
        (now, now),
    )
    con.commit()
    con.close()
    with RunStore.open(path) as store:
        gov = store.governance("p")
        assert (gov.owner, gov.approval, gov.audience) == ("ada", "approved", None)
        store.create_manual_run("p", requested_by="ada")  # it was in production: it runs
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    con.close()


def test_the_files_owner_and_audience_are_adopted_once(store: RunStore) -> None:
    gov = store.adopt("p", owner="ada", audience=Audience(groups=["stakeholders"]))
    assert gov.owner == "ada" and gov.audience == Audience(groups=["stakeholders"])
    store.set_audience("p", None, by="ada")  # the owner unshares it
    again = store.adopt("p", owner="mallory", audience=Audience(users=["mallory"]))
    assert (again.owner, again.audience) == ("ada", None)
    store.upsert_pipeline("p", owner="mallory")  # the scheduler's registration cannot either
    assert store.governance("p").owner == "ada"


def test_a_promotion_records_the_owner_and_waits_for_review(store: RunStore) -> None:
    gov = store.register_promotion("p", owner="ada", by="ada", pending=True)
    assert (gov.owner, gov.approval, gov.promoted_by) == ("ada", "pending", "ada")
    assert store.get_pipeline("p").paused
    with pytest.raises(PipelinePendingError) as refused:
        store.create_manual_run("p", requested_by="ada")
    assert error_body(refused.value).status == 409
    assert "workspace jobs approve p" in str(refused.value)
    with pytest.raises(Pending):
        store.resume("p")
    approved = store.approve("p", by="eve")
    assert (approved.approval, approved.approved_by) == ("approved", "eve")
    assert approved.approved_at is not None and not store.get_pipeline("p").paused
    assert store.create_manual_run("p", requested_by="ada").owner == "ada"
    with pytest.raises(InvalidTransitionError, match="not pending review"):
        store.approve("p", by="eve")
    # bob re-promotes (with force, as allowed by the API): the owner stays, review again
    again = store.register_promotion("p", owner="bob", by="bob", pending=True)
    assert (again.owner, again.approval) == ("ada", "pending")
    kinds = [(e.kind, e.actor) for e in store.pipeline_events("p")]
    assert kinds == [
        ("owner", "ada"), ("promoted", "ada"), ("approved", "eve"), ("promoted", "bob"),
    ]  # fmt: skip


def test_an_engineers_promotion_is_approved_at_once(store: RunStore) -> None:
    gov = store.register_promotion("p", owner="eve", by="eve", pending=False)
    assert (gov.approval, gov.approved_by) == ("approved", "eve")
    assert not store.get_pipeline("p").paused


def test_owner_changes_are_recorded(store: RunStore) -> None:
    store.register_promotion("p", owner="ada", by="ada", pending=False)
    store.set_owner("p", "bob", by="admin", reason="ada left")
    assert store.governance("p").owner == "bob"
    history = store.pipeline_events("p", kind="owner")
    assert [(e.actor, e.detail["owner"], e.detail["previous"]) for e in history] == [
        ("ada", "ada", None),
        ("admin", "bob", "ada"),
    ]
    assert history[-1].detail["reason"] == "ada left"


def test_audience_is_stored_sorted_and_empty_means_private(store: RunStore) -> None:
    store.register_promotion("p", owner="ada", by="ada", pending=False)
    gov = store.set_audience("p", Audience(groups=["b", "a", "a"], users=["carol"]), by="ada")
    assert gov.audience == Audience(groups=["a", "b"], users=["carol"])
    assert (gov.audience_by, gov.audience_at is not None) == ("ada", True)
    assert store.set_audience("p", Audience(), by="ada").audience is None
