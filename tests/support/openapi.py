"""Checks shared by the OpenAPI tests of the scheduler API and the Lab server extension."""

from __future__ import annotations

import re
from typing import Any


def assert_every_reference_resolves(spec: dict[str, Any]) -> None:
    """Every ``$ref: '#/...'`` in ``spec`` names a node that exists."""
    refs = re.findall(r"'\$ref': '#/([^']+)'", str(spec))
    assert refs
    for ref in refs:
        node: Any = spec
        for part in ref.split("/"):
            node = node[part]
