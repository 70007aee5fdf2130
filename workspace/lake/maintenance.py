"""Lake housekeeping: remove files no snapshot references, compact small files, expire history.

Appends make one small Parquet file each, and a killed write leaves files that were never
committed. DuckLake's own maintenance functions handle both; this module runs them safely
(never touching files of writes that may still be in flight) and reports what they did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from workspace.lake.engine import (
    LAKE,
    SANDBOX,
    release_catalog_locks,
    retry_on_contention,
    write_lock,
)
from workspace.lake.errors import ReadOnlyError, WorkspaceError

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace

#: Files younger than this are never treated as orphans: they may belong to a write that
#: has not committed yet (a long Dask write stages its files before one commit).
MIN_ORPHAN_AGE = dt.timedelta(hours=1)


@dataclass
class MaintenanceReport:
    """What :meth:`Workspace.maintain` did (or, with ``dry_run``, would do)."""

    dry_run: bool
    orphaned_files: list[str] = field(default_factory=list)
    expired_snapshots: list[int] = field(default_factory=list)
    removed_old_files: list[str] = field(default_factory=list)
    compacted: bool = False


def maintain(
    ws: Workspace,
    *,
    dry_run: bool = False,
    compact: bool = False,
    expire_older_than: dt.timedelta | None = None,
    orphan_min_age: dt.timedelta = MIN_ORPHAN_AGE,
    catalogs: tuple[str, ...] = (LAKE, SANDBOX),
) -> MaintenanceReport:
    """Clean up the lake and the sandbox; see :meth:`Workspace.maintain`."""
    if ws.read_only and not dry_run:
        raise ReadOnlyError("Cannot maintain the lake on a read-only workspace.")
    if orphan_min_age < dt.timedelta(0):
        raise WorkspaceError("orphan_min_age must not be negative")
    if expire_older_than is not None and expire_older_than <= dt.timedelta(0):
        raise WorkspaceError("expire_older_than must be a positive duration, e.g. 30 days")
    report = MaintenanceReport(dry_run=dry_run)
    now = dt.datetime.now(dt.UTC)
    con = ws.con
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    for catalog in (c for c in catalogs if c in attached):

        def call(sql: str, params: list[object], catalog: str = catalog) -> list[Any]:
            with write_lock(ws.settings, catalog, what=f"maintaining {catalog}"):
                return retry_on_contention(
                    lambda: con.execute(sql, params).fetchall(),
                    timeout=ws.settings.write_timeout,
                    what=f"maintaining {catalog}",
                    on_retry=lambda: release_catalog_locks(con),
                )

        if compact and not dry_run:
            call("CALL ducklake_merge_adjacent_files(?)", [catalog])
            report.compacted = True
        if expire_older_than is not None:
            rows = call(
                "CALL ducklake_expire_snapshots(?, dry_run => ?, older_than => ?)",
                [catalog, dry_run, now - expire_older_than],
            )
            report.expired_snapshots += [int(r[0]) for r in rows]
        if compact or expire_older_than is not None:
            rows = call(
                "CALL ducklake_cleanup_old_files(?, dry_run => ?, older_than => ?)",
                [catalog, dry_run, now - orphan_min_age],
            )
            report.removed_old_files += [str(r[0]) for r in rows]
        rows = call(
            "CALL ducklake_delete_orphaned_files(?, dry_run => ?, older_than => ?)",
            [catalog, dry_run, now - orphan_min_age],
        )
        report.orphaned_files += [str(r[0]) for r in rows]
    return report
