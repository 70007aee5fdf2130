"""Row filters: a grant that lets an account read only some rows of a protected table.

``workspace access grant ana silver.orders --rows "region = 'EUROPE'"`` gives the account a
DuckLake of its own, ``protected/<layer>.<table>@<user>/``, holding only the rows the
condition keeps; the OS lets only that account (and root, the runner) open it, and its
``workspace.connect()`` attaches it under the table's alias, so ``silver.orders`` shows those
rows and the full tree stays closed. After each write, :class:`RowFilterHook` (in the
writer's process) updates every filtered copy; the scheduler service repairs any copy left
behind. Conditions use the table's columns, values, comparisons, IN, BETWEEN, LIKE, IS NULL,
AND, OR and NOT (checked with sqlglot). Design notes: docs/governance.md ("Row filters").
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import duckdb
import sqlglot
from sqlglot import exp

from workspace.governance import acl, tier_storage
from workspace.lake import protected
from workspace.lake.engine import write_lock
from workspace.lake.errors import WorkspaceError
from workspace.lake.hooks import WriteContext, WriteHook
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace
    from workspace.lake.writes import WriteResult

log = logging.getLogger(__name__)

#: In the table's protected tree: ``{"rows": {user: {"where": SQL, "snapshot": N}}}``.
FILTERS_FILE = "filters.json"
_ALLOWED = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren, exp.Neg,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like,
    exp.ILike, exp.Is, exp.And, exp.Or, exp.Not, exp.Tuple,
)  # fmt: skip
_CONDITIONS = (exp.Predicate, exp.Connector, exp.Not, exp.Paren, exp.Column, exp.Boolean)


class RowFilterError(WorkspaceError):
    """A row filter that cannot be used (bad condition, unknown column)."""


def check_condition(text: str, columns: Iterable[str]) -> str:
    """The condition ``text`` in canonical SQL, or a one-line :class:`RowFilterError`.

    Examples
    --------
    >>> check_condition("region='EUROPE' and age >= 18", ["region", "age"])
    "region = 'EUROPE' AND age >= 18"
    >>> check_condition("1=1; DROP TABLE x", ["region"])
    Traceback (most recent call last):
    ...
    workspace.governance.row_filters.RowFilterError: Row filter '1=1; DROP TABLE x': one condition only (no ';').
    """  # noqa: E501
    known = {c.lower() for c in columns}
    if ";" in text:
        raise RowFilterError(f"Row filter {text!r}: one condition only (no ';').")
    try:
        tree = sqlglot.parse_one(text, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        first = str(exc).splitlines()[0]
        raise RowFilterError(f"Cannot read the row filter {text!r}: {first}") from None
    for node in tree.walk():
        if not isinstance(node, _ALLOWED):
            raise RowFilterError(
                f"Row filter {text!r}: {node.sql(dialect='duckdb')!r} is not allowed; use the "
                "table's columns, values, comparisons, IN, BETWEEN, LIKE, IS NULL, AND, OR, NOT."
            )
        if isinstance(node, exp.Column) and (node.table or node.name.lower() not in known):
            raise RowFilterError(
                f"Row filter {text!r}: no column {node.sql()!r} in the table (it has "
                f"{', '.join(sorted(known))})."
            )
    if not isinstance(tree, _CONDITIONS):
        raise RowFilterError(f"Row filter {text!r} is not a condition (e.g. region = 'EUROPE').")
    return tree.sql(dialect="duckdb")


def condition_for(settings: Settings, kind: str, name: str, rows: str | None) -> str | None:
    """The row filter of a request or grant on ``kind`` (table or tier) ``name``, checked
    against the table's columns, in canonical SQL; None (every row) for an empty one."""
    if rows is None or not rows.strip():
        return None
    if kind != "table":
        raise RowFilterError(f"A row filter applies to one table, not to the tier {name}.")
    return check_condition(rows.strip(), table_columns(settings, name))


def table_columns(settings: Settings, table: str) -> list[str]:
    """The current columns of a protected table, read from its catalog (root, the runner)."""
    layer, _, name = table.partition(".")
    catalog = protected.catalog_file(protected.protected_root(settings, table))
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        rows = db.execute(
            "SELECT c.column_name FROM ducklake_column c "
            "JOIN ducklake_table t ON t.table_id = c.table_id AND t.end_snapshot IS NULL "
            "JOIN ducklake_schema s ON s.schema_id = t.schema_id AND s.end_snapshot IS NULL "
            "WHERE s.schema_name = ? AND t.table_name = ? AND c.end_snapshot IS NULL "
            "AND c.parent_column IS NULL ORDER BY c.column_order",
            [layer, name],
        ).fetchall()
    finally:
        db.close()
    return [r[0] for r in rows]


def filters(settings: Settings, table: str) -> dict[str, dict[str, Any]]:
    """The filtered copies of ``table`` by user (``{}`` when none, or not readable here)."""
    path = protected.protected_root(settings, table) / FILTERS_FILE
    try:
        rows = json.loads(path.read_text()).get("rows", {})
    except (OSError, ValueError):
        return {}
    return {str(u): dict(v) for u, v in rows.items() if isinstance(v, dict)}


def _save(settings: Settings, table: str, rows: dict[str, dict[str, Any]]) -> None:
    path = protected.protected_root(settings, table) / FILTERS_FILE
    tmp = path.with_name(f".{FILTERS_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"rows": rows}, indent=2, sort_keys=True) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def _current_snapshot(settings: Settings, table: str) -> int:
    catalog = protected.catalog_file(protected.protected_root(settings, table))
    db = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
    finally:
        db.close()
    return int(row[0] or 0)


def _source(entry: protected.ProtectedEntry) -> str:
    return f'"{entry.alias}"."{entry.layer}"."{entry.name}"'


def publish(ws: Workspace, table: str, user: str, where: str) -> None:
    """Build ``user``'s filtered copy of ``table`` (as root, with the table attached on
    ``ws``) and let only that account read it."""
    settings = ws.settings
    entry = protected.read_index(settings)[table]
    root = protected.filter_root(settings, table, user)
    select = f"SELECT * FROM {_source(entry)} WHERE {where}"
    with write_lock(settings, entry.alias, what=f"filtering {table} for {user}"):
        snapshot = _current_snapshot(settings, table)
        tier_storage.build_lake(
            ws.con, root, entry.layer, entry.name, select, encrypt=entry.encrypted
        )
        acl.grant_read(root, user)
        tier_storage.share_with_writer(settings, table, root)
        rows = filters(settings, table)
        rows[user] = {"where": where, "snapshot": snapshot}
        _save(settings, table, rows)


def remove(settings: Settings, table: str, user: str) -> bool:
    """Delete ``user``'s filtered copy of ``table``; whether there was one."""
    root = protected.filter_root(settings, table, user)
    rows = filters(settings, table)
    had = rows.pop(user, None) is not None or root.exists()
    if protected.protected_root(settings, table).exists():
        _save(settings, table, rows)
    shutil.rmtree(root, ignore_errors=True)
    return had


def refresh(ws: Workspace, table: str, *, appended: int | None = None) -> int:
    """Bring every filtered copy of ``table`` up to date after a write (the writer's
    process, which can write the table): only the rows snapshot ``appended`` inserted, or
    everything. Returns the copies updated."""
    settings, con = ws.settings, ws.con
    rows = filters(settings, table)
    if not rows:
        return 0
    entry = protected.read_index(settings)[table]
    done = 0
    with write_lock(settings, entry.alias, what=f"filtering {table}"):
        snapshot = _current_snapshot(settings, table)
        for user, spec in sorted(rows.items()):
            root = protected.filter_root(settings, table, user)
            alias = "ws_row_filter"
            dest = f'"{alias}"."{entry.layer}"."{entry.name}"'
            con.execute(
                f"ATTACH 'ducklake:sqlite:{protected.catalog_file(root)}' AS {alias} "
                f"(DATA_PATH '{protected.data_dir(root)}/')"
            )
            try:
                new = spec.get("snapshot", 0)
                if appended is not None and new == appended - 1:
                    span = (
                        f"'{entry.alias}', '{entry.layer}', '{entry.name}', {appended}, {appended}"
                    )
                    con.execute(
                        f"INSERT INTO {dest} SELECT * FROM ducklake_table_insertions({span}) "
                        f"WHERE {spec['where']}"
                    )
                else:
                    con.execute(
                        f"CREATE OR REPLACE TABLE {dest} AS SELECT * FROM {_source(entry)} "
                        f"WHERE {spec['where']}"
                    )
            finally:
                con.execute(f"DETACH {alias}")
            spec["snapshot"] = snapshot
            done += 1
        _save(settings, table, rows)
    return done


def sync_user(
    ws_factory: Callable[[], Workspace], settings: Settings, user: str, wanted: dict[str, str]
) -> list[str]:
    """Make ``user``'s filtered copies match ``wanted`` (table -> condition): build missing
    or changed ones, bring stale ones up to date, delete the rest. Returns the tables changed."""
    changes: list[str] = []
    ws: Workspace | None = None
    try:
        for table in protected.read_index(settings):
            spec = filters(settings, table).get(user)
            root = protected.filter_root(settings, table, user)
            where = wanted.get(table)
            if where is None:
                if spec is not None or root.exists():
                    remove(settings, table, user)
                    changes.append(table)
                continue
            if ws is None:
                ws = ws_factory()
            if spec is None or spec.get("where") != where or not root.exists():
                publish(ws, table, user, where)
                changes.append(table)
            elif spec.get("snapshot", 0) < _current_snapshot(settings, table):
                refresh(ws, table)
                changes.append(table)
    finally:
        if ws is not None:
            ws.close()
    return changes


class RowFilterHook(WriteHook):
    """After each commit to a protected table, update its filtered copies."""

    order = 45

    def after_commit(self, ctx: WriteContext, result: WriteResult) -> None:
        table = protected.table_of_alias(ctx.ref.catalog)
        if table is None or not filters(ctx.ws.settings, table):
            return
        appended = result.snapshot_id if ctx.mode == "append" else None
        try:
            refresh(ctx.ws, table, appended=appended)
        except duckdb.Error:  # e.g. the table's columns changed: copy everything again
            refresh(ctx.ws, table)


__all__ = [
    "FILTERS_FILE",
    "RowFilterError",
    "RowFilterHook",
    "check_condition",
    "condition_for",
    "filters",
    "publish",
    "refresh",
    "remove",
    "sync_user",
    "table_columns",
]
