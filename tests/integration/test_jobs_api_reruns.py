"""``POST pipelines/{name}/reruns`` over HTTP on the scheduler service: status, ``Location``,
the cached answer and the error bodies (the route's rules are in tests/unit/api/test_reruns.py).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from support.notebooks import make_notebook
from tornado.httpclient import AsyncHTTPClient

from workspace.hub.jobs_api import serve
from workspace.lake.settings import Settings

TOKEN = "rerun-token"
DECLARED = 'region = params.dropdown("region", ["ASIA", "EUROPE"])'


def test_reruns_over_http(tmp_path: Path) -> None:
    scheduled = tmp_path / "scheduled"
    for name, extra in (("sales", "audience_reruns: true\n"), ("fixed", "")):
        (scheduled / name).mkdir(parents=True)
        make_notebook(scheduled / name / "nb.ipynb", params=DECLARED)
        (scheduled / name / "pipeline.yaml").write_text(
            extra + "tasks: [{name: main, notebook: nb.ipynb}]\n"
        )
    settings = Settings.resolve(tmp_path / "home", user="api")

    async def main() -> list[tuple[int, Any, str | None]]:
        served = serve(settings, scheduled, token=TOKEN, port=0)
        client = AsyncHTTPClient()
        answers = []
        try:
            for name, region in (("sales", "EUROPE"), ("sales", "EUROPE"), ("sales", "MARS"),
                                 ("fixed", "ASIA")):  # fmt: skip
                resp = await client.fetch(
                    f"{served.url}pipelines/{name}/reruns",
                    method="POST",
                    body=json.dumps({"parameters": {"region": region}}),
                    headers={"Authorization": f"token {TOKEN}"},
                    raise_error=False,
                )
                answers.append((resp.code, json.loads(resp.body), resp.headers.get("Location")))
        finally:
            served.server.stop()
            served.app.settings["jobs_service"].store.close()
        return answers

    (new, new_body, where), (cached, cached_body, _), bad, refused = asyncio.run(main())
    run_id = new_body["run"]["run_id"]
    assert (new, new_body["cached"], new_body["run"]["parameters"]) == (
        201, False, {"region": "EUROPE"},
    )  # fmt: skip
    assert where is not None and where.endswith(f"/api/jobs/runs/{run_id}")
    assert (cached, cached_body["cached"], cached_body["run"]["run_id"]) == (200, True, run_id)
    assert (
        bad[0] == 400 and "parameter region: 'MARS' is not one of ASIA, EUROPE" in bad[1]["error"]
    )
    assert refused[0] == 403 and "audience_reruns: true" in refused[1]["error"]
