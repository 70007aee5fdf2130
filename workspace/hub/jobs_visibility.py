"""What the scheduler API shows to whom: payloads shaped for the caller.

Every JSON answer of the scheduler API goes through two rules: **pipelines are private to
whoever may see them** (others get only the public headline, :func:`public_summary`), and
**no filesystem path of the service for non-admins** (:class:`PathScrubber`).

The rules in detail: docs/hub.md, "Module notes".
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from workspace.api.auth import Identity
from workspace.api.models import PipelineList, PipelineSummary

#: Fields of a pipeline every scheduler user sees (the rest only who may see the pipeline).
PUBLIC_SUMMARY_FIELDS = frozenset(
    {
        "name",
        "description",
        "owner",
        "enabled",
        "paused",
        "registered",
        "approval",
        "schedule",
        "after",
        "next_runs",
        "can_manage",
        "can_approve",
    }
)
#: Keys whose values are the pipeline owner's own data, shown as they are.
USER_DATA_KEYS = frozenset(
    {"parameters", "outputs", "item_value", "effective_parameters", "task_parameters"}
)
#: Labels of the service's folders in scrubbed payloads ("" makes paths relative to it).
HOME_LABEL, DATA_LABEL, SCHEDULED_LABEL = "", "lake-data", "scheduled"


def public_summary(pipeline: PipelineSummary) -> PipelineSummary:
    """``pipeline`` (a summary or a detail) with only :data:`PUBLIC_SUMMARY_FIELDS` set.

    A whitelist: a field added later stays private until it is listed here.

    Examples
    --------
    >>> p = PipelineSummary(name="p", owner="ada", last_run_id="r1", promoted_by="ada")
    >>> public_summary(p).model_dump(include={"owner", "last_run_id", "promoted_by"})
    {'owner': 'ada', 'promoted_by': None, 'last_run_id': None}
    """
    keep = set(PUBLIC_SUMMARY_FIELDS & set(type(pipeline).model_fields))
    return type(pipeline).model_validate(pipeline.model_dump(include=keep))


def shaped(identity: Identity, payload: BaseModel) -> BaseModel:
    """``payload`` with the pipelines ``identity`` may not see reduced to their headline."""
    if isinstance(payload, PipelineList):
        return PipelineList(
            pipelines=[
                p if identity.can_see(p.owner) else public_summary(p) for p in payload.pipelines
            ]
        )
    if isinstance(payload, PipelineSummary) and not identity.can_see(payload.owner):
        return public_summary(payload)  # e.g. after handing one's pipeline over
    return payload


def _relative(label: str, slash: str | None) -> str:
    """What replaces a folder: ``label/`` before a path in it, else the label itself."""
    if slash:
        return f"{label}/" if label else ""
    return label or "."


def _sub(label: str, match: re.Match[str]) -> str:
    return _relative(label, match.group(1))


class PathScrubber:
    """Replaces the service's folders in the strings of a JSON-like value.

    Parameters
    ----------
    roots
        ``(absolute folder, label)`` pairs; ``folder/x`` becomes ``label/x`` (``x`` when the
        label is empty) and the bare folder becomes the label (or ``.``).

    Examples
    --------
    >>> scrub = PathScrubber([("/srv/ws/home", ""), ("/srv/ws/scheduled", "scheduled")])
    >>> scrub({"report_path": "/srv/ws/home/jobs/runs/r1/run.html", "n": 1})
    {'report_path': 'jobs/runs/r1/run.html', 'n': 1}
    >>> scrub("Pipeline 'p' already exists at /srv/ws/scheduled/p; pass --force")
    "Pipeline 'p' already exists at scheduled/p; pass --force"
    """

    def __init__(self, roots: Iterable[tuple[str, str]]) -> None:
        pairs: dict[str, str] = {}
        for folder, label in roots:
            folder = folder.rstrip(os.sep)
            if folder and os.path.isabs(folder):
                pairs.setdefault(folder, label)
        # longest first: a scheduled/ folder inside the home keeps its own label
        self.roots = [
            (folder, re.compile(re.escape(folder) + r"(?:(/)|(?![\w.-]))"), label)
            for folder, label in sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)
        ]

    @classmethod
    def for_service(cls, home: Path, data_path: Path, scheduled: Path) -> PathScrubber:
        """The scrubber of a scheduler's folders, as given and as resolved (symlinks); the
        lake's data folder only when it is not inside the home (paths in it stay relative)."""
        folders = [(home, HOME_LABEL), (scheduled, SCHEDULED_LABEL)]
        if not Path(data_path).resolve().is_relative_to(Path(home).resolve()):
            folders.append((data_path, DATA_LABEL))
        roots: list[tuple[str, str]] = []
        for path, label in folders:
            roots += [(str(Path(path).absolute()), label), (str(Path(path).resolve()), label)]
        return cls(roots)

    def text(self, value: str) -> str:
        """``value`` without the service's folders."""
        for folder, pattern, label in self.roots:
            if folder in value:
                value = pattern.sub(functools.partial(_sub, label), value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: v if k in USER_DATA_KEYS else self(v) for k, v in value.items()}
        return value


__all__ = [
    "PUBLIC_SUMMARY_FIELDS",
    "PathScrubber",
    "public_summary",
    "shaped",
]
