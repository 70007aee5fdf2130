"""The "Schedule this notebook" routes: cron preview, notebook parameters and promotion
(a real test run on a kernel, against a throwaway copy of a real lake)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from server_client import Fetch, call, jp_server_config  # noqa: F401 - override
from support.notebooks import make_notebook

from workspace.jobs.spec.pipeline import load_pipeline

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


@pytest.fixture(autouse=True)
def scheduled(jp_root_dir: Path) -> Path:
    """``<server root>/scheduled``: where promotions go (never the repository's folder)."""
    folder = jp_root_dir / "scheduled"
    folder.mkdir()
    return folder


async def test_cron_preview_in_a_timezone(jp_fetch: Fetch) -> None:
    status, body = await call(
        jp_fetch, "GET", "schedule/cron", cron="0 6 * * mon-fri", timezone="Europe/Amsterdam"
    )
    assert status == 200 and body["description"] == "At 06:00 AM, Monday through Friday"
    times = [dt.datetime.fromisoformat(t) for t in body["next"]]
    assert len(times) == 3 and times == sorted(times)
    assert times[0] > dt.datetime.now(dt.UTC)
    for t in times:
        local = t.astimezone(ZoneInfo("Europe/Amsterdam"))
        assert (local.hour, local.minute) == (6, 0) and local.weekday() < 5
        assert t.utcoffset() == local.utcoffset()  # given in the zone's own offset
    _, utc = await call(jp_fetch, "GET", "schedule/cron", cron="30 2 1 * *")
    assert utc["timezone"] == "UTC" and all(t.endswith("+00:00") for t in utc["next"])


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"cron": "61 * * * *"}, "not a valid cron expression"),
        ({"cron": "0 6 * *"}, "5 fields"),
        ({"cron": "0 6 * * *", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({}, "cron"),
    ],
)
async def test_bad_cron_is_a_clear_400(jp_fetch: Fetch, params: dict[str, str], words: str) -> None:
    status, body = await call(jp_fetch, "GET", "schedule/cron", **params)
    assert status == 400 and body["status"] == 400 and words in body["error"]


async def test_notebook_parameters(jp_fetch: Fetch, jp_root_dir: Path) -> None:
    (jp_root_dir / "reports").mkdir()
    make_notebook(
        jp_root_dir / "reports" / "Daily Sales-2024.ipynb",
        "scale = 10  # rows per day\nregion = 'all'",
    )
    status, info = await call(
        jp_fetch, "GET", "schedule/notebook", path="reports/Daily Sales-2024.ipynb"
    )
    assert status == 200 and info["suggested_name"] == "daily_sales_2024"
    assert info["has_parameters_cell"] is True and info["existing"] is False
    params = {p["name"]: p for p in info["parameters"]}
    assert params["scale"]["type"] == "int" and params["scale"]["default"] == "10"
    assert params["scale"]["help"] == "rows per day"
    assert params["region"]["type"] == "str" and params["region"]["default"] == "'all'"
    assert info["declared"] == []

    # widget declarations: the form gets them as they are declared (read with ast)
    make_notebook(
        jp_root_dir / "widgets.ipynb",
        'area = params.dropdown("area", ["ASIA", "EUROPE"], default="EUROPE")\n'
        'start = params.date("start", "2024-01-01")\n'
        "top = params.integer('top', 5, min=1, max=10, run_on_change=True)",
    )
    _, widgets = await call(jp_fetch, "GET", "schedule/notebook", path="widgets.ipynb")
    assert [(d["name"], d["kind"], d["default"]) for d in widgets["declared"]] == [
        ("area", "dropdown", "EUROPE"), ("start", "date", "2024-01-01"), ("top", "integer", 5),
    ]  # fmt: skip
    assert widgets["declared"][0]["choices"] == ["ASIA", "EUROPE"]
    assert (widgets["declared"][2]["min"], widgets["declared"][2]["max"]) == (1, 10)

    make_notebook(jp_root_dir / "plain.ipynb", "x = 1", tagged=False)
    _, plain = await call(jp_fetch, "GET", "schedule/notebook", path="plain.ipynb")
    assert plain["has_parameters_cell"] is False and plain["parameters"] == []


@pytest.mark.parametrize(
    ("path", "status"),
    [("../outside.ipynb", 403), ("/../../etc/passwd", 403), ("missing.ipynb", 404),
     ("notes.txt", 400)],
)  # fmt: skip
async def test_notebook_paths_stay_under_the_root(
    jp_fetch: Fetch, jp_root_dir: Path, path: str, status: int
) -> None:
    (jp_root_dir / "notes.txt").write_text("hi")
    make_notebook(jp_root_dir.parent / "outside.ipynb", "x = 1")
    got, body = await call(jp_fetch, "GET", "schedule/notebook", path=path)
    assert got == status and body["status"] == status, body


async def test_promote_then_conflict_then_force(
    jp_fetch: Fetch, jp_root_dir: Path, fresh_lake: dict[str, int]
) -> None:
    make_notebook(jp_root_dir / "daily.ipynb", "scale = 1", "print(scale * 2)")
    request = {"path": "daily.ipynb", "name": "daily", "cron": "0 6 * * *",
               "timezone": "Europe/Amsterdam", "parameters": {"scale": 3}}  # fmt: skip
    status, body = await call(jp_fetch, "POST", "schedule/promote", body=request)
    assert status == 201, body
    folder = jp_root_dir / "scheduled" / "daily"
    assert body["ok"] is True and body["pipeline"] == "daily" and body["folder"] == str(folder)
    assert body["pipeline_url"] == "/a%40b/workspace/api/jobs/pipelines/daily"
    spec = load_pipeline(folder)
    assert spec.schedule is not None and spec.schedule.timezone == "Europe/Amsterdam"
    assert spec.tasks[0].parameters == {"scale": 3}
    report = await jp_fetch(*body["report_url"].split("/")[2:], method="GET")
    assert b"6" in report.body and "sandbox" in report.headers["Content-Security-Policy"]
    _, listed = await call(jp_fetch, "GET", "jobs/pipelines")
    assert [p["name"] for p in listed["pipelines"]] == ["daily"]
    _, info = await call(jp_fetch, "GET", "schedule/notebook", path="daily.ipynb")
    assert info["existing"] is True

    status, body = await call(jp_fetch, "POST", "schedule/promote", body=request)
    assert status == 409 and "already exists" in body["error"]
    forced = {**request, "cron": None, "force": True}
    status, body = await call(jp_fetch, "POST", "schedule/promote", body=forced)
    assert status == 201 and load_pipeline(folder).schedule is None


async def test_promote_failure_links_the_test_report(
    jp_fetch: Fetch, jp_root_dir: Path, fresh_lake: dict[str, int]
) -> None:
    make_notebook(jp_root_dir / "bad.ipynb", "n = 1", "raise RuntimeError('no data for ' + str(n))")
    status, body = await call(
        jp_fetch, "POST", "schedule/promote", body={"path": "bad.ipynb", "name": "bad"}
    )
    assert status == 400 and "Not promoted" in body["error"]
    assert "RuntimeError: no data for 1" in body["error"]
    assert body["report_url"].startswith("/a%40b/workspace/api/schedule/reports/bad-")
    report = await jp_fetch(*body["report_url"].split("/")[2:], method="GET")
    assert b"no data for 1" in report.body
    assert not (jp_root_dir / "scheduled" / "bad").exists()


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [({"parameters": {"nope": 1}}, 400, "no parameter 'nope'"),
     ({"name": "Bad-Name"}, 400, "not valid"),
     ({"cron": "99 * * * *"}, 400, "not a valid cron expression"),
     ({"path": "../x.ipynb"}, 403, "outside"),
     ({"force": "maybe"}, 400, "force")],
)  # fmt: skip
async def test_promote_checks_before_running(
    jp_fetch: Fetch, jp_root_dir: Path, change: dict[str, object], status: int, words: str
) -> None:
    make_notebook(jp_root_dir / "nb.ipynb", "n = 1", "print(n)")
    request = {"path": "nb.ipynb", "name": "nb", **change}
    got, body = await call(jp_fetch, "POST", "schedule/promote", body=request)
    assert got == status and words in body["error"], body
    assert list((jp_root_dir / "scheduled").iterdir()) == []


async def test_unknown_test_report_is_404(jp_fetch: Fetch, server_lake: dict[str, int]) -> None:
    for test_id in ("nope-20240101T000000000000", "..", "daily"):
        status, body = await call(jp_fetch, "GET", f"schedule/reports/{test_id}")
        assert status == 404, body
