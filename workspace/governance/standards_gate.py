"""The naming standards in every write: a write hook that refuses names that break them.

:class:`StandardsGate` is a :class:`workspace.lake.hooks.WriteHook` (entry point
``workspace.write_hooks: standards``, before ``quality``). Before COMMIT, a shared-layer write
that *introduces* a name breaking a rule raises :class:`StandardsError` (rolled back); a
sandbox write only warns (:class:`StandardsWarning`). A compliant write costs one ``stat``
and a ``LIMIT 0`` bind. The rules it applies: docs/governance.md, "Module notes".
"""

from __future__ import annotations

import logging
import warnings

from workspace.governance.standards import current_standards
from workspace.governance.standards_check import table_violations
from workspace.governance.standards_rules import (
    Standards,
    StandardsError,
    StandardsWarning,
    Violation,
    metadata_violations,
)
from workspace.lake import metadata
from workspace.lake.hooks import WriteContext, WriteHook

__all__ = ["StandardsGate"]

log = logging.getLogger(__name__)


def _columns_before(ctx: WriteContext) -> list[str] | None:
    """The table's columns as committed before this write; ``None`` when it did not exist.

    A second cursor has its own transaction, so it sees the last committed snapshot.
    """
    ref = ctx.ref
    cur = ctx.con.cursor()
    try:
        rows = cur.execute(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
            "AND schema_name = ? AND table_name = ? ORDER BY column_index",
            [ref.catalog, ref.schema, ref.name],
        ).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows] or None


def _introduced(v: Violation, table: str, before: list[str] | None) -> bool:
    """Whether this write brings the name ``v`` is about (a new table or a new column)."""
    if before is None:
        return True
    column = v.object[len(table) + 1 :] if v.object.startswith(table + ".") else None
    return column is not None and column not in before


class StandardsGate(WriteHook):
    """Applies the naming standards to every write (see the module docstring)."""

    order = 10

    def before_commit(self, ctx: WriteContext) -> None:
        ref, sandbox = ctx.ref, ctx.ref.layer == "sandbox"
        try:
            standards = current_standards()
        except StandardsError as exc:
            if sandbox:
                warnings.warn(f"{exc} (sandbox writes are not checked)", StandardsWarning, 2)
                return
            raise StandardsError(f"{exc} Nothing was written to {ref.display}.") from None
        desc = ctx.con.execute(f"SELECT * FROM {ref.sql} LIMIT 0").description or []
        columns = [d[0] for d in desc]
        found = table_violations(standards, ref.layer, ref.name, columns)
        meta = not sandbox and standards.metadata_enforcement == "write"
        if not found and not meta:
            return
        before = _columns_before(ctx)
        new = [v for v in found if _introduced(v, ref.display, before)]
        if meta and before is not None:
            new += self._metadata(ctx, standards, [c for c in columns if c in before])
        if not new:
            log.debug("%s keeps names that break the standards: %s", ref.display, found)
            return
        if sandbox:
            for v in new:
                warnings.warn(f"{v.message} (sandboxes only warn)", StandardsWarning, 2)
            return
        raise StandardsError(
            f"Write to {ref.display} refused by the naming standards: "
            f"{'; '.join(v.message for v in new)}. Nothing was written."
        )

    @staticmethod
    def _metadata(ctx: WriteContext, standards: Standards, columns: list[str]) -> list[Violation]:
        annotation = metadata.load(ctx.con, ctx.ref)
        found = metadata_violations(standards, ctx.ref.layer, ctx.ref.name, columns, annotation)
        return [v for v in found if v.object not in set(standards.accepted)]
