"""Who sees which pipeline's reports: pipelines from the one discovery, viewer from hub OAuth."""

from __future__ import annotations

from pathlib import Path

import pytest

from workspace.api.auth import MANAGE_SCOPE, VIEW_SCOPE, Identity
from workspace.reports.access import Audience, PipelineAccess, can_view, scan_pipelines
from workspace.reports.pages import render

TASKS = "tasks:\n  - {name: a, notebook: a.ipynb}\n"


def _pipeline(root: Path, name: str, extra: str) -> Path:
    import nbformat

    folder = root / name
    folder.mkdir(parents=True)
    (folder / "pipeline.yaml").write_text(extra + TASKS)
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / "a.ipynb")
    return folder


def _viewer(name: str, *groups: str, scopes: tuple[str, ...] = (VIEW_SCOPE,)) -> Identity:
    return Identity.from_hub_model({"name": name, "groups": list(groups), "scopes": list(scopes)})


@pytest.fixture
def root(tmp_path: Path) -> Path:
    _pipeline(tmp_path, "open", "owner: ada\n")
    _pipeline(tmp_path, "sales", "owner: ada\naudience: {groups: [stakeholders], users: [bob]}\n")
    _pipeline(tmp_path, "hr", "owner: eve\naudience:\n  users: [grace]\n")
    _pipeline(tmp_path, "empty", "owner: ada\naudience: {}\n")
    _pipeline(tmp_path, "null", "audience:\n")
    _pipeline(tmp_path, "broken", "audience: everyone\nowner: ada\n")
    _pipeline(tmp_path, "typo", "audience: {group: [stakeholders]}\n")
    (tmp_path / "bad_yaml").mkdir()
    (tmp_path / "bad_yaml" / "pipeline.yaml").write_text("audience: [unclosed\n")
    return tmp_path


def visible(root: Path, viewer: Identity) -> list[str]:
    found = scan_pipelines(root, known=["gone"])
    return sorted(name for name, access in found.items() if can_view(viewer, access))


def test_audience_rules(root: Path) -> None:
    # private by default: "open" (no audience) is its owner's, engineers' and admins' only
    assert visible(root, _viewer("sam", "stakeholders")) == ["sales"]
    assert visible(root, _viewer("bob", "analysts")) == ["sales"]
    assert visible(root, _viewer("grace", "scientists")) == ["hr"]
    # the owner sees their pipelines, even private (empty audience) ones; an invalid spec's
    # owner: claim counts for nothing (only a recorded owner does, see the run store test)
    assert visible(root, _viewer("ada", "analysts")) == ["empty", "open", "sales"]
    assert visible(root, _viewer("eve", "analysts")) == ["hr"]


def test_engineers_and_admins_see_everything(root: Path) -> None:
    every = ["bad_yaml", "broken", "empty", "gone", "hr", "null", "open", "sales", "typo"]
    assert visible(root, _viewer("en", "engineers")) == every
    assert visible(root, _viewer("boss", scopes=(MANAGE_SCOPE,))) == every
    assert visible(root, Identity.from_hub_model({"name": "root", "admin": True})) == every


def test_without_the_reports_scope_nothing_is_visible(root: Path) -> None:
    assert visible(root, _viewer("sam", "stakeholders", scopes=())) == []
    assert visible(root, _viewer("ada", "analysts", scopes=("access:services",))) == []
    assert not can_view(_viewer("", "stakeholders"), PipelineAccess("x", restricted=False))


def test_invalid_specs_fail_closed_with_the_discovery_error(root: Path) -> None:
    found = scan_pipelines(root, known=["gone"])
    assert found["open"].owner == "ada" and not found["open"].public
    assert found["sales"].audience == Audience(groups=["stakeholders"], users=["bob"])
    assert not found["sales"].public and found["sales"].problem is None
    for name in ["empty", "null", "broken", "typo", "bad_yaml", "gone"]:
        assert not found[name].public, name
    for name in ["broken", "typo", "bad_yaml"]:  # the discovery's own error, no owner
        assert found[name].owner is None and found[name].audience is None, name
        assert str(root / name / "pipeline.yaml") in str(found[name].problem), name
    assert "audience" in str(found["typo"].problem)
    assert "not valid YAML" in str(found["bad_yaml"].problem)
    assert found["gone"].problem == "no pipeline.yaml"
    assert "Bad-Name" not in scan_pipelines(_pipeline(root, "Bad-Name", "").parent)


def test_code_is_for_owners_and_engineers_never_stakeholders() -> None:
    owner = PipelineAccess("sales", owner="ada", restricted=False).owner
    assert _viewer("ada", "analysts").may_see_code(owner)
    assert _viewer("en", "engineers").may_see_code(owner)
    assert not _viewer("bob", "analysts").may_see_code(owner)
    assert not _viewer("ada", "stakeholders").may_see_code(owner)  # even as "owner"


def test_pages_escape_everything_from_specs() -> None:
    evil = '"><script>alert(1)</script>'
    page = render("error", base="/r/", viewer=evil, heading=evil, message=evil, hint=evil)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&#34;&gt;" in page


def test_owner_and_audience_come_from_the_run_store(tmp_path: Path) -> None:
    from workspace.api.service import JobsService
    from workspace.lake.settings import Settings

    root = tmp_path / "scheduled"
    for name, extra in (("sales", "owner: ada\naudience: {groups: [stakeholders]}\n"),
                        ("mine", "owner: bob\n")):  # fmt: skip
        _pipeline(root, name, extra)
    jobs = JobsService(Settings.resolve(tmp_path / "home"), root)
    try:
        sam, bob = _viewer("sam", "stakeholders"), _viewer("bob", "analysts")
        found = scan_pipelines(root, jobs=jobs)  # first meeting: initial values adopted
        assert (found["sales"].owner, found["mine"].owner) == ("ada", "bob")
        assert can_view(sam, found["sales"]) and not can_view(sam, found["mine"])
        # the owner unshares, hands over; later edits of the file change nothing
        jobs.set_audience("sales", None, by="ada")
        jobs.transfer_owner("mine", "carol", by="bob")
        (root / "mine" / "pipeline.yaml").write_text(
            "owner: bob\naudience: {users: [sam]}\n" + TASKS
        )
        found = scan_pipelines(root, jobs=jobs)
        assert not can_view(sam, found["sales"]) and found["mine"].owner == "carol"
        assert not can_view(bob, found["mine"]) and not can_view(sam, found["mine"])
        jobs.set_audience("mine", Audience(groups=["stakeholders"]), by="carol")
        assert can_view(sam, scan_pipelines(root, jobs=jobs)["mine"])
        # a spec that breaks keeps its recorded owner and audience; a broken folder never
        # recorded fails closed, whatever its file claims
        (root / "mine" / "pipeline.yaml").write_text("owner: sam\naudience: everyone\n" + TASKS)
        _pipeline(root, "junk", "owner: sam\naudience: {groups: [stakeholders]}\nnope: 1\n")
        found = scan_pipelines(root, jobs=jobs)
        assert found["mine"].owner == "carol" and found["mine"].problem
        assert can_view(sam, found["mine"]) and not can_view(bob, found["mine"])
        assert found["junk"].owner is None and not can_view(sam, found["junk"])
        assert can_view(_viewer("en", "engineers"), found["junk"])
    finally:
        jobs.store.close()
