"""The hub user's server command (``workspace.hub.server_start``) and the hub's spawner.

Each check runs in a fresh interpreter: the deferral changes ``sys.modules`` for the life of
the process, as it does in a user's server.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from workspace.hub.spawner import WorkspaceSpawner

pytest.importorskip("rfc3987_syntax")


def _run(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def test_jsonschema_imports_without_building_the_iri_parsers_and_still_checks_iris() -> None:
    result = _run(
        """
import json, sys
from workspace.hub.server_start import defer_import
assert defer_import()
import jsonschema
from jsonschema import FormatChecker
deferred = "rfc3987_syntax.syntax_helpers" not in sys.modules
checker = FormatChecker()
print(json.dumps({"deferred": deferred,
                  "good": checker.conforms("http://example.com/\u00fc", "iri"),
                  "bad": checker.conforms("http://exa mple.com/", "iri"),
                  "loaded": "rfc3987_syntax.syntax_helpers" in sys.modules}))
"""
    )
    assert result == {"deferred": True, "good": True, "bad": False, "loaded": True}


def test_the_lab_app_imports_without_running_node_and_path_comes_back() -> None:
    result = _run(
        """
import json, os, subprocess
ran = []
real = subprocess.check_output
def spy(cmd, *a, **k):
    ran.append(str(cmd[0]))
    return real(cmd, *a, **k)
subprocess.check_output = spy
before = os.environ["PATH"]
from workspace.hub.server_start import import_without_node
import_without_node()
print(json.dumps({"node": any("node" in c for c in ran), "path": os.environ["PATH"] == before}))
"""
    )
    assert result == {"node": False, "path": True}


def test_start_slots_are_shared_by_every_spawner_of_the_hub() -> None:
    async def slots() -> tuple[object, object, bool, bool]:
        one, two = WorkspaceSpawner(), WorkspaceSpawner()
        one.start_concurrency = two.start_concurrency = 3
        first, second = one._start_slots(), two._start_slots()
        async with first, first:
            two_taken = second.locked()
            async with first:
                three_taken = second.locked()
        return first, second, two_taken, three_taken

    first, second, two_taken, three_taken = asyncio.run(slots())
    assert first is second
    assert (two_taken, three_taken) == (False, True)
