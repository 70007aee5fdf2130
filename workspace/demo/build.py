"""Build the demo lakehouse: TPC-H lands raw in bronze, is cleaned into silver, marts in gold."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from workspace.demo.tables import BRONZE_NOTES, BRONZE_TABLES, GOLD, SILVER, DemoTable
from workspace.lake import Workspace
from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef
from workspace.lake.writes import write_sql_source

Progress = Callable[[str], None]
_GEN = "tpch_gen"


@dataclass
class DemoReport:
    """What :func:`build_demo` did."""

    scale: float
    built: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _scale_tag(scale: float) -> str:
    return f"tpch-sf{scale:g}"


def _existing_scale(ws: Workspace) -> str | None:
    if "bronze.lineitem" not in ws.tables():
        return None
    tags = ws.catalog.describe("bronze.lineitem").tags
    return next((t for t in tags if t.startswith("tpch-sf")), "unknown")


def build_demo(
    ws: Workspace,
    *,
    scale: float = 0.1,
    force: bool = False,
    progress: Progress | None = None,
    notebooks: bool = True,
) -> DemoReport:
    """Create the demo lake in ``ws``; tables that already exist are kept (idempotent).

    Parameters
    ----------
    scale:
        TPC-H scale factor (0.1 is about 600k order lines and takes a few seconds).
    force:
        Rebuild every demo table, also when it exists (for a different ``scale``).
    progress:
        Called with one line per step.
    notebooks:
        Copy the tour notebooks to ``$WORKSPACE_HOME/notebooks/tour`` (existing files are kept).

    Examples
    --------
    >>> from workspace.demo import build_demo
    >>> build_demo(workspace.connect(), scale=0.01).built[:2]  # doctest: +SKIP
    ['bronze.region', 'bronze.nation']
    """
    if not 0 < scale <= 100:
        raise WorkspaceError(f"--scale must be between 0 and 100 (TPC-H scale factor), not {scale}")
    say = progress or (lambda _msg: None)
    report = DemoReport(scale=scale)
    start = time.perf_counter()
    existing = _existing_scale(ws)
    if existing and existing != _scale_tag(scale) and not force:
        raise WorkspaceError(
            f"The demo lake already holds TPC-H at {existing.removeprefix('tpch-')}; "
            f"run `workspace demo --scale {scale:g} --force` to rebuild it at sf{scale:g}."
        )
    rebuild = force or existing is None
    present = set(ws.tables())
    if rebuild:
        _build_bronze(ws, scale, say, report)
    else:
        report.skipped += [f"bronze.{t}" for t in BRONZE_TABLES]
    for table in (*SILVER, *GOLD):
        if not rebuild and table.name in present:
            report.skipped.append(table.name)
            continue
        _build_derived(ws, table, say)
        report.built.append(table.name)
    if notebooks:
        report.notebooks = copy_notebooks(ws.settings.home / "notebooks" / "tour")
    report.seconds = time.perf_counter() - start
    say(
        f"Demo lake ready in {report.seconds:.1f}s: {len(report.built)} tables built, "
        f"{len(report.skipped)} kept."
    )
    return report


def _build_bronze(ws: Workspace, scale: float, say: Progress, report: DemoReport) -> None:
    say(f"Generating TPC-H at scale factor {scale:g} ...")
    con = ws.con
    con.execute("LOAD tpch")
    con.execute(f"ATTACH ':memory:' AS {_GEN}")
    try:
        con.execute(f"CALL dbgen(sf={float(scale)}, catalog='{_GEN}')")
        for name in BRONZE_TABLES:
            ref = TableRef("lake", "bronze", name)
            result = write_sql_source(
                ws,
                ref,
                f"{_GEN}.main.{name}",
                mode="overwrite",
                evolve=True,
                message=f"demo: load TPC-H sf{scale:g} {name}",
            )
            notes = BRONZE_NOTES[name]
            ws.catalog.annotate(
                ref.display,
                owner="data-platform",
                description=notes["description"],
                tags=["tpch", "raw", _scale_tag(scale)],
                classification=notes.get("classification", "internal"),
                columns=notes.get("columns"),
            )
            say(f"  bronze.{name:<10} {result.rows:>10,} rows")
            report.built.append(ref.display)
    finally:
        con.execute(f"DETACH {_GEN}")


def _build_derived(ws: Workspace, table: DemoTable, say: Progress) -> None:
    layer, name = table.name.split(".")
    ref = TableRef("lake", layer, name)
    if table.replay_by_year:
        rows = _replay_by_year(ws, ref, table.sql, table.replay_by_year)
    else:
        rows = write_sql_source(
            ws, ref, f"({table.sql})", mode="overwrite", evolve=True,
            message=f"demo: build {table.name}",
        ).rows  # fmt: skip
    ws.catalog.annotate(
        table.name,
        owner=table.owner,
        description=table.description,
        tags=table.tags,
        classification=table.classification,
        columns=table.columns or None,
    )
    say(f"  {table.name:<32} {rows:>10,} rows")


def _replay_by_year(ws: Workspace, ref: TableRef, sql: str, column: str) -> int:
    """Load ``sql`` into ``ref`` one year of ``column`` per commit (the first overwrites),
    as a pipeline loading a year at a time would have; returns the rows loaded."""
    years = [
        int(r[0])
        for r in ws.con.execute(
            f'SELECT DISTINCT year("{column}") AS y FROM ({sql}) ORDER BY y'
        ).fetchall()
        if r[0] is not None
    ]
    total = 0
    for i, year in enumerate(years):
        total += write_sql_source(
            ws, ref, f'(SELECT * FROM ({sql}) WHERE year("{column}") = {year})',
            mode="overwrite" if i == 0 else "append", evolve=True,
            message=f"demo: load {ref.display} of {year}",
        ).rows  # fmt: skip
    return total


def copy_notebooks(target: Path) -> list[str]:
    """Copy the packaged tour notebooks into ``target``, keeping files that already exist."""
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    source = resources.files("workspace.demo") / "notebooks"
    for item in sorted(source.iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".ipynb"):
            continue
        dest = target / item.name
        if not dest.exists():
            with resources.as_file(item) as path:
                shutil.copyfile(path, dest)
            copied.append(str(dest))
    return copied
