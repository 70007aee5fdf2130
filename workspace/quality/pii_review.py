"""PII suggestions for the shared tables: sample text columns, detect, and let the owner
confirm or dismiss.

A scan samples new and retyped text columns (``workspace quality pii``: all of them) and keeps
only the kind, share and masked example (:func:`pii_columns`). A detected column the catalog
does not flag as PII is a ``pii`` finding until its owner confirms it (:func:`confirm_pii`,
sets the catalog's PII flag) or dismisses it (:func:`dismiss_pii`, never suggested again).
Design notes: docs/quality-monitors.md, "Module notes".

Examples
--------
>>> [c.model_dump() for c in pii_columns(ws, "silver.customers")]  # doctest: +SKIP
[{'column': 'email', 'kind': 'email', 'share': 1.0, 'example': 'a**@e******.org', ...}]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import duckdb
from pydantic import BaseModel

from workspace.lake import metadata as ann
from workspace.lake.errors import WorkspaceError
from workspace.quality.findings import Finding
from workspace.quality.history import monitoring, shared_table
from workspace.quality.pii import KIND_WORDS, PiiKind, classify
from workspace.quality.store import Store

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

#: Non-empty values sampled per column.
SAMPLE_VALUES = 500
#: The sample is drawn from at most this many non-empty values of the column.
SAMPLE_FROM = 200_000


class PiiColumn(BaseModel):
    """A column detected as holding personal data (``workspace quality pii --json``)."""

    column: str
    kind: PiiKind
    share: float
    example: str | None
    sampled: int
    status: Literal["confirmed", "suggested", "dismissed"]


def _text_columns(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, str]:
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {sql}").fetchall() if r[1] == "VARCHAR"}


def _sample(con: duckdb.DuckDBPyConnection, sql: str, column: str) -> list[Any]:
    q = '"' + column.replace('"', '""') + '"'
    rows = con.execute(
        f"SELECT v FROM (SELECT {q} AS v FROM {sql} WHERE {q} IS NOT NULL AND {q} <> '' "
        f"LIMIT {SAMPLE_FROM}) USING SAMPLE reservoir({SAMPLE_VALUES} ROWS) REPEATABLE (7)"
    ).fetchall()
    return [r[0] for r in rows]


def scan_columns(ws: Workspace, store: Store, table: str, *, only_new: bool) -> None:
    """Sample and classify ``table``'s text columns (only new and retyped ones with
    ``only_new``) and record the results in ``store``."""
    ref = ws.resolve(table)
    columns = _text_columns(ws.con, ref.sql)
    known = store.pii_columns(table) if only_new else {}
    todo = [c for c in columns if not (c in known and known[c]["type"] == columns[c])]
    if not todo:
        return
    (snap,) = ws.con.execute(f'SELECT id FROM "{ref.catalog}".current_snapshot()').fetchall()
    rows: dict[str, dict[str, Any]] = {}
    for col in todo:
        found = classify(_sample(ws.con, ref.sql, col), column=col)
        rows[col] = {
            "type": columns[col],
            "snapshot_id": int(snap[0]),
            "kind": found.kind,
            "share": round(found.share, 4),
            "sampled": found.sampled,
            "example": found.example,
        }
    store.save_pii_columns(table, rows)


def _detected(store: Store, table: str) -> dict[str, dict[str, Any]]:
    return {c: r for c, r in store.pii_columns(table).items() if r["kind"]}


def _annotated(ws: Workspace, table: str) -> set[str]:
    note = ann.load(ws.con, ws.resolve(table))
    return {c for c, a in note.columns.items() if a.pii}


def reviewed(ws: Workspace, store: Store, table: str) -> list[PiiColumn]:
    """The detected columns of ``table`` with what their owner decided."""
    flagged = _annotated(ws, table)
    dismissed = store.dismissals(table)
    out = []
    for col, r in sorted(_detected(store, table).items()):
        status: Literal["confirmed", "suggested", "dismissed"] = (
            "confirmed" if col in flagged else
            "dismissed" if (col, r["kind"]) in dismissed else "suggested"
        )  # fmt: skip
        out.append(
            PiiColumn(column=col, kind=r["kind"], share=r["share"], example=r["example"],
                      sampled=r["sampled"], status=status)
        )  # fmt: skip
    return out


def pii_findings(ws: Workspace, store: Store, table: str) -> list[Finding]:
    """A ``pii`` finding per detected column that is neither confirmed nor dismissed."""
    return [
        Finding(
            table=table,
            kind="pii",
            column=c.column,
            severity="warn",
            message=f"{table}.{c.column}: {c.share:.0%} of {c.sampled} sampled values look "
            f"like {KIND_WORDS[c.kind]} (e.g. {c.example}), but the column is not "
            f"flagged as PII. Confirm: workspace quality pii {table} --confirm {c.column}; "
            f"or dismiss: --dismiss {c.column}",
            details={"pii_kind": c.kind, "share": c.share, "example": c.example},
        )
        for c in reviewed(ws, store, table)
        if c.status == "suggested"
    ]


def pii_columns(ws: Workspace, table: str) -> list[PiiColumn]:
    """Sample every text column of a shared table now; the columns that hold personal data.

    Examples
    --------
    >>> [(c.column, c.kind) for c in pii_columns(ws, "silver.customers")]  # doctest: +SKIP
    [('email', 'email'), ('phone', 'phone')]
    """
    name = shared_table(ws, table)
    with monitoring(ws) as store:
        scan_columns(ws, store, name, only_new=False)
        return reviewed(ws, store, name)


def confirm_pii(ws: Workspace, table: str, column: str) -> None:
    """Flag ``column`` as PII in the catalog (the owner confirms a suggestion).

    Examples
    --------
    >>> confirm_pii(ws, "silver.customers", "email")  # doctest: +SKIP
    """
    name = shared_table(ws, table)
    ws.catalog.annotate(name, columns={column: {"pii": True}})


def dismiss_pii(ws: Workspace, table: str, column: str, kind: str | None = None) -> None:
    """Record that ``column`` holds no personal data of ``kind`` (default: the detected
    kind), so it is not suggested again.

    Examples
    --------
    >>> dismiss_pii(ws, "silver.orders", "order_ref")  # doctest: +SKIP
    """
    name = shared_table(ws, table)
    with monitoring(ws) as store:
        found = store.pii_columns(name).get(column)
        what = kind or (found or {}).get("kind")
        if what is None:
            raise WorkspaceError(
                f"Nothing to dismiss: {name}.{column} was not detected as PII. See "
                f"workspace quality pii {name}."
            )
        if not store.dismiss(name, column, what, ws.settings.user):
            raise WorkspaceError(
                f"Cannot record the dismissal of {name}.{column}: the quality store "
                f"{store.shared_path} is not writable by {ws.settings.user}. Ask whoever "
                "runs the pipelines (or an admin) to dismiss it."
            )
