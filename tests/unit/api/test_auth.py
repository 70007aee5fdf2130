"""One identity for the scheduler API and the reports service; scopes, groups and names once."""

from __future__ import annotations

import pytest

from workspace.api import auth
from workspace.api.auth import (
    ENGINEERS,
    MANAGE_SCOPE,
    RUN_SCOPE,
    STAKEHOLDERS,
    VIEW_SCOPE,
    Identity,
    InvalidUserNameError,
    validate_user_name,
)


def _hub(name: str, *groups: str, scopes: tuple[str, ...] = (), admin: bool = False) -> Identity:
    model = {"name": name, "groups": list(groups), "scopes": list(scopes), "admin": admin}
    return Identity.from_hub_model(model)


def test_one_identity_answers_the_scheduler_and_the_reports_service() -> None:
    analyst = _hub("ada", "analysts", scopes=(RUN_SCOPE, VIEW_SCOPE))
    assert analyst.can_read and not analyst.manager and analyst.may_view_reports
    assert analyst.can_change("ada") and not analyst.can_see("bob")
    assert analyst.may_see_code("ada") and not analyst.may_see_code(None)
    assert not analyst.sees_everything

    engineer = _hub("erin", ENGINEERS, scopes=(VIEW_SCOPE,))  # the group alone: reports only
    assert engineer.sees_everything and engineer.may_see_code("bob") and not engineer.can_read
    manager = _hub("mo", scopes=(MANAGE_SCOPE,))
    assert manager.manager and manager.can_change(None) and manager.sees_everything

    stakeholder = _hub("sam", STAKEHOLDERS, scopes=(VIEW_SCOPE,))
    assert stakeholder.stakeholder and not stakeholder.may_see_code("sam")
    assert not stakeholder.can_read and not stakeholder.can_change("sam")
    assert not _hub("nobody", scopes=("access:services",)).may_view_reports


@pytest.mark.parametrize(
    "model", [{"name": "root", "admin": True}, {"name": "cli", "scopes": ["admin:users"]}]
)
def test_admins_hold_every_scope(model: dict[str, object]) -> None:
    admin = Identity.from_hub_model(model)
    assert admin.admin and admin.has(RUN_SCOPE) and admin.manager and admin.sees_everything
    assert not Identity.from_hub_model({"name": "x", "admin": "yes"}).admin  # only a real True


def test_names_and_scopes_are_defined_once() -> None:
    from workspace.jobs.spec import pipeline

    assert auth.PIPELINE_NAME is pipeline.PIPELINE_NAME
    assert auth.PIPELINE_NAME.match("daily_sales") and not auth.PIPELINE_NAME.match("Daily")
    assert set(auth.CUSTOM_SCOPES) == {RUN_SCOPE, MANAGE_SCOPE, VIEW_SCOPE}
    assert set(auth.SERVER_GROUPS) < set(auth.GROUPS) and STAKEHOLDERS not in auth.SERVER_GROUPS
    assert validate_user_name("ada_l") == "ada_l"
    for bad in ("Ada", "1ada", "pipeline_x", "root", "a" * 33):
        with pytest.raises(InvalidUserNameError):
            validate_user_name(bad)
