"""The run store's file and schema: where it lives and the migration steps (``schema*.sql``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from workspace.jobs.paths import JobPaths
from workspace.lake.settings import Settings


def _script(name: str) -> Callable[[], str]:
    return lambda: resources.files("workspace.jobs.store").joinpath(name).read_text("utf-8")


#: Migration steps; step ``i`` takes the schema from version ``i`` to ``i + 1``.
_MIGRATIONS: tuple[Callable[[], str], ...] = (
    _script("schema.sql"),
    _script("schema_2.sql"),
    _script("schema_3.sql"),
    _script("schema_4.sql"),
    _script("schema_5.sql"),
    _script("schema_6.sql"),
)
SCHEMA_VERSION = len(_MIGRATIONS)


def store_path(settings: Settings) -> Path:
    """Where the run store of a workspace lives: ``<home>/jobs/runs.sqlite``."""
    return JobPaths(settings.home).store_file


def _statements(script: str) -> Iterator[str]:
    buf = ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf.strip()
            buf = ""
