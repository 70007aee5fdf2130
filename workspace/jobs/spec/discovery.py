"""Discovery: every ``scheduled/<name>/pipeline.yaml`` under a folder, loaded and cross-checked.

:func:`scan` returns each pipeline's spec or its error (a bad file never hides the others);
:func:`discover` keeps the valid ones; :func:`after_errors` checks ``after:`` across pipelines
(unknown targets and cycles), naming the file, the field and the cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from workspace.jobs.spec.pipeline import SPEC_FILE, Pipeline, PipelineSpecError, load_pipeline


def _after_cycle(graph: Mapping[str, list[str]], start: str) -> list[str] | None:
    """A path ``start -> ... -> start`` through ``after:`` edges, or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in graph.get(name, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen and nxt in graph:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def after_errors(
    specs: Mapping[str, Pipeline | Exception], root: str | Path
) -> dict[str, PipelineSpecError]:
    """The ``after:`` problems that span pipelines: an unknown target, or a cycle.

    ``specs`` are every pipeline folder under ``root`` by name, each its valid spec or the
    error that makes it invalid (an invalid folder is still a known ``after`` target). A
    pipeline whose ``after`` names itself, or is part of a cycle of ``after`` entries, would
    trigger itself forever: each pipeline of the cycle gets an error naming the file, the
    field and the cycle.

    Examples
    --------
    >>> a = Pipeline(name="a", after=["b"], tasks=[{"name": "t", "notebook": "t.ipynb"}])
    >>> b = Pipeline(name="b", after=["a"], tasks=[{"name": "t", "notebook": "t.ipynb"}])
    >>> print(after_errors({"a": a, "b": b}, "scheduled")["a"])  # doctest: +NORMALIZE_WHITESPACE
    scheduled/a/pipeline.yaml: after: the after entries form a cycle, a -> b -> a, so each
    run would trigger the next forever; remove one of these entries
    """
    root = Path(root)
    graph = {n: list(s.after) for n, s in specs.items() if isinstance(s, Pipeline)}
    errors: dict[str, PipelineSpecError] = {}
    for name, after in graph.items():
        source = root / name / SPEC_FILE
        unknown = [(i, up) for i, up in enumerate(after) if up not in specs]
        if unknown:
            i, up = unknown[0]
            known = ", ".join(sorted(n for n in specs if n != name)) or "none"
            errors[name] = PipelineSpecError(
                f"{source}: after[{i}]: {up!r} is not a pipeline under {root} (pipelines: "
                f"{known}); fix the name or remove the entry"
            )
            continue
        if name in after:
            errors[name] = PipelineSpecError(
                f"{source}: after[{after.index(name)}]: names the pipeline itself ({name!r}), "
                "so each run would trigger the next forever; remove the entry"
            )
            continue
        cycle = _after_cycle(graph, name)
        if cycle is not None:
            errors[name] = PipelineSpecError(
                f"{source}: after: the after entries form a cycle, {' -> '.join(cycle)}, so "
                "each run would trigger the next forever; remove one of these entries"
            )
    return errors


def scan(root: str | Path) -> dict[str, Pipeline | PipelineSpecError]:
    """Every pipeline folder under ``root`` (``scheduled/``) by name: its valid spec, or the
    error that makes it invalid (its own file, or an ``after:`` problem across pipelines)."""
    root = Path(root)
    found: dict[str, Pipeline | PipelineSpecError] = {}
    for spec in sorted(root.glob(f"*/{SPEC_FILE}")):
        try:
            found[spec.parent.name] = load_pipeline(spec.parent)  # named by its folder
        except PipelineSpecError as exc:
            found[spec.parent.name] = exc
        except OSError as exc:
            found[spec.parent.name] = PipelineSpecError(f"{spec}: cannot be read: {exc}")
    found.update(after_errors(found, root))
    return found


def discover(root: str | Path) -> dict[str, Pipeline]:
    """Every pipeline under ``root`` (``scheduled/``), by name. Invalid specs raise."""
    found: dict[str, Pipeline] = {}
    for name, spec in scan(root).items():
        if isinstance(spec, PipelineSpecError):
            raise spec
        found[name] = spec
    return found
