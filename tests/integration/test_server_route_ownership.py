"""Issue 9, item 4: routes of the Lab server that take an id answer only what the server's
user may see. A promotion test's report is its promoter's: someone else's test, an unknown
id and a malformed one all answer the same 404."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from server_client import USER, Fetch, call, jp_server_config  # noqa: F401 - override

pytest_plugins = ["pytest_jupyter.jupyter_server", "server_fixtures"]


def _test_run(home: Path, test_id: str, *, by: str | None, uid: int | None = None) -> Path:
    """A promotion test folder with a report, as the promotion leaves it."""
    folder = home / "jobs" / "promote" / test_id
    (folder / "attempt").mkdir(parents=True)
    (folder / "attempt" / "report.html").write_text(f"<p>report of {test_id}</p>")
    if by is not None:
        (folder / "test.json").write_text(json.dumps({"pipeline": "x", "requested_by": by}))
    if uid is not None:
        os.chown(folder, uid, -1)
    return folder


async def test_only_the_promoter_reads_a_promotion_report(
    jp_fetch: Fetch, server_home: Path
) -> None:
    mine, theirs = "mine-20260101T000000000000", "theirs-20260101T000000000000"
    _test_run(server_home, mine, by=USER)
    _test_run(server_home, theirs, by="someone_else")
    status, page = await call(jp_fetch, "GET", f"schedule/reports/{mine}")
    assert status == 200 and "report of mine" in page
    status, foreign = await call(jp_fetch, "GET", f"schedule/reports/{theirs}")
    assert status == 404, foreign
    _, unknown = await call(jp_fetch, "GET", "schedule/reports/nope-20260101T000000000000")
    # the same answer as for an unknown id: nothing tells that the test exists
    assert foreign["error"].replace(theirs, "ID") == unknown["error"].replace(
        "nope-20260101T000000000000", "ID"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="chowns a folder to another account")
async def test_a_test_run_without_record_is_its_folder_owners(
    jp_fetch: Fetch, server_home: Path
) -> None:
    """``workspace promote`` run in a terminal leaves no record: the OS account that owns
    the folder is the promoter."""
    own, other = "cli-20260101T000000000000", "cli-20260102T000000000000"
    _test_run(server_home, own, by=None)
    _test_run(server_home, other, by=None, uid=os.geteuid() + 4242)
    assert (await call(jp_fetch, "GET", f"schedule/reports/{own}"))[0] == 200
    assert (await call(jp_fetch, "GET", f"schedule/reports/{other}"))[0] == 404


async def test_report_ids_cannot_leave_the_promotion_folder(
    jp_fetch: Fetch, server_home: Path
) -> None:
    (server_home / "jobs").mkdir(parents=True)
    (server_home / "jobs" / "attempt").mkdir()
    (server_home / "jobs" / "attempt" / "report.html").write_text("outside")
    for test_id in ("..", "%2E%2E", "..%2Fpromote", "x-20260101T000000%2F..%2F.."):
        status, body = await call(jp_fetch, "GET", f"schedule/reports/{test_id}")
        assert status == 404, (test_id, body)
