"""Checking a lake, or the tables a promotion wrote, against the naming standards.

:func:`check_lake` lists every violation of the shared layers (``workspace standards
check``); a baseline (:func:`write_baseline`, :func:`load_baseline`) accepts today's
violations so that only new ones fail (:func:`new_violations`). :func:`check_tables` checks
some tables, and :func:`check_promotion` the tables a promotion's test run wrote, on the
throwaway lake it wrote them to.

Examples
--------
>>> from workspace.governance.standards import DEFAULT_STANDARDS
>>> ws.write("silver.OrderLines", pd.DataFrame({"Qty": [1]}))  # doctest: +SKIP
>>> [v.rule for v in check_lake(ws, DEFAULT_STANDARDS)]  # doctest: +SKIP
['silver.table.case', 'silver.column.case']
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from workspace.governance.standards_rules import (
    Standards,
    StandardsError,
    Violation,
    metadata_violations,
    name_violations,
)
from workspace.lake import metadata
from workspace.lake.engine import LAKE, LAYERS, META_SCHEMA
from workspace.lake.settings import CatalogURL, Settings

if TYPE_CHECKING:
    import duckdb

    from workspace.lake.workspace import Workspace

__all__ = [
    "PromotionCheck",
    "check_lake",
    "check_promotion",
    "check_tables",
    "load_baseline",
    "new_violations",
    "table_violations",
    "to_json",
    "write_baseline",
]


def table_violations(
    standards: Standards,
    layer: str,
    table: str,
    columns: list[str],
    annotation: metadata.TableAnnotation | None = None,
) -> list[Violation]:
    """Name violations of a table and its columns, then (with ``annotation``) metadata ones.

    >>> from workspace.governance.standards import DEFAULT_STANDARDS
    >>> [v.object for v in table_violations(DEFAULT_STANDARDS, "gold", "Sales", ["Net"])]
    ['gold.Sales', 'gold.Sales.Net']
    """
    found = name_violations(standards, layer, "table", table)
    for col in columns:
        found += name_violations(standards, layer, "column", col, table=table)
    if annotation is not None:
        found += metadata_violations(standards, layer, table, columns, annotation)
    accepted = set(standards.accepted)
    return [v for v in found if v.object not in accepted]


def _columns(
    con: duckdb.DuckDBPyConnection, catalog: str, layers: Iterable[str]
) -> dict[tuple[str, str], list[str]]:
    wanted = list(layers)
    rows = con.execute(
        "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name <> ? ORDER BY 1, 2, column_index",
        [catalog, META_SCHEMA],
    ).fetchall()
    out: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in rows:
        if schema in wanted:
            out.setdefault((schema, table), []).append(column)
    return out


def check_lake(
    ws: Workspace, standards: Standards, *, layers: Iterable[str] = LAYERS
) -> list[Violation]:
    """Every violation of the shared lake's tables (all of ``layers``), names then metadata."""
    notes = metadata.load_all(ws.con, LAKE)
    found: list[Violation] = []
    for (layer, table), columns in _columns(ws.con, LAKE, layers).items():
        annotation = notes.get(f"{layer}.{table}", metadata.TableAnnotation())
        found += table_violations(standards, layer, table, columns, annotation)
    return found


def check_tables(ws: Workspace, tables: Iterable[str], standards: Standards) -> list[Violation]:
    """Violations of some shared tables (``layer.table`` names; others are skipped)."""
    wanted = {tuple(t.split(".", 1)) for t in tables if t.split(".", 1)[0] in LAYERS}
    if not wanted:
        return []
    notes = metadata.load_all(ws.con, LAKE)
    found: list[Violation] = []
    for (layer, table), columns in _columns(ws.con, LAKE, {w[0] for w in wanted}).items():
        if (layer, table) in wanted:
            annotation = notes.get(f"{layer}.{table}", metadata.TableAnnotation())
            found += table_violations(standards, layer, table, columns, annotation)
    return found


# -- baselines ------------------------------------------------------------------------------
def to_json(violations: Iterable[Violation]) -> dict[str, list[dict[str, str | None]]]:
    """``{"violations": [{"rule", "object", "message", "suggestion"}, ...]}``.

    >>> from workspace.governance.standards import DEFAULT_STANDARDS
    >>> to_json(name_violations(DEFAULT_STANDARDS, "gold", "table", "X"))["violations"][0]["rule"]
    'gold.table.case'
    """
    return {"violations": [v.model_dump() for v in violations]}


def write_baseline(path: str | os.PathLike[str], violations: Iterable[Violation]) -> None:
    """Save ``violations`` as a baseline (the ``--json`` shape, one file)."""
    Path(path).write_text(json.dumps(to_json(violations), indent=2) + "\n", encoding="utf-8")


def load_baseline(path: str | os.PathLike[str]) -> set[tuple[str, str]]:
    """The ``(rule, object)`` pairs a baseline accepts.

    Raises :class:`StandardsError` when the file is missing or not a baseline.
    """
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
        return {(str(v["rule"]), str(v["object"])) for v in data["violations"]}
    except FileNotFoundError:
        raise StandardsError(
            f"Baseline {source} does not exist; create it with "
            f"`workspace standards check --write-baseline {source}`."
        ) from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StandardsError(
            f"Baseline {source} is not a standards baseline ({type(exc).__name__}: {exc}); "
            f"write it again with `workspace standards check --write-baseline {source}`."
        ) from None


def new_violations(
    violations: Iterable[Violation], baseline: set[tuple[str, str]]
) -> list[Violation]:
    """The violations a baseline does not accept."""
    return [v for v in violations if v.key not in baseline]


# -- promotion ------------------------------------------------------------------------------
@dataclass
class PromotionCheck:
    """What the standards say about the tables a promotion's test run wrote.

    ``refused`` blocks the promotion (name rules; metadata rules when
    ``metadata_enforcement`` is ``promote`` or ``write``); ``warnings`` are shown only.
    """

    refused: list[Violation] = field(default_factory=list)
    warnings: list[Violation] = field(default_factory=list)

    def message(self, notebook: str) -> str:
        """The one-line refusal."""
        return (
            f"Not promoted: {notebook} writes tables that break the naming standards: "
            f"{'; '.join(v.message for v in self.refused)}. Rename them in the notebook "
            "(or set the metadata it names) and promote again."
        )


def check_promotion(
    tables: Iterable[str], env: Mapping[str, str], standards: Standards
) -> PromotionCheck:
    """Check the tables a test run wrote, on the throwaway lake ``env`` describes.

    ``env`` holds the test run's ``WORKSPACE_CATALOG`` (an embedded catalog) and
    ``WORKSPACE_DATA_PATH``; the check opens that copy read-only, with a sandbox in its own
    folder (so it never opens the promoting user's).
    """
    from workspace.lake.workspace import Workspace

    written = sorted({t for t in tables if t.split(".", 1)[0] in LAYERS})
    if not written:
        return PromotionCheck()
    catalog = CatalogURL.parse(env["WORKSPACE_CATALOG"])
    home = catalog.path.parent if catalog.path is not None else Path(env["WORKSPACE_HOME"])
    settings = replace(
        Settings.resolve(home, catalog=catalog.raw, user="standards"),
        data_path=Path(env["WORKSPACE_DATA_PATH"]),
    )
    with Workspace(settings, read_only=True) as ws:
        found = check_tables(ws, written, standards)
    strict = standards.metadata_enforcement in ("promote", "write")
    check = PromotionCheck()
    for v in found:
        (check.refused if v.kind == "name" or strict else check.warnings).append(v)
    return check
