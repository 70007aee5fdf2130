"""Where a protected table's bytes go, and what is removed from the shared lake when it leaves.

Used by :mod:`workspace.governance.classify`, as root (or the shared catalog's owner):
:func:`purge_shared` deletes every file and statistics row of a table that moved into its
own DuckLake (all snapshots), vacuums the catalog and drops the table's rows from the quality
monitors' stores; :func:`lock_down` gives the protected tree owner-only modes;
:func:`share_with_writer` adds the runner account's ``rwx`` POSIX ACL entries (pipelines
write protected tables and read the masking salt); :func:`give_to_lake_owner` hands files
root wrote into the shared lake to the catalog's owner.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from workspace.governance import acl, masking
from workspace.lake import protected
from workspace.lake.settings import Settings

#: Rows of the shared catalog that hold a table's values or statistics, by ``table_id``.
_VALUE_TABLES = (
    "ducklake_file_column_stats",
    "ducklake_table_column_stats",
    "ducklake_table_stats",
    "ducklake_file_partition_value",
    "ducklake_data_file",
    "ducklake_delete_file",
)


def purge_shared(settings: Settings, layer: str, name: str) -> int:
    """Remove every trace of ``layer.name``'s values from the shared lake (as its owner).

    Deletes the data and delete files of all its snapshots, its rows in the catalog's
    statistics, partition-value, file and inlined-data tables, vacuums the catalog so no
    freed page keeps a value (SQLite; PostgreSQL's deleted rows are out of every account's
    reach), and drops its cached profiles. Returns the files deleted. Call it with the
    lake's write lock held and no connection attached to the lake.
    """
    db, mark = _open_catalog(settings)

    def q(sql: str) -> str:
        return sql.replace("?", mark)

    try:
        row = db.execute(
            q("SELECT value FROM ducklake_metadata WHERE key = ?"), ["data_path"]
        ).fetchone()
        data_path = Path(row[0]) if row else settings.lake_data_path
        tables = db.execute(
            q("SELECT t.table_id, t.path, t.path_is_relative, s.path, s.path_is_relative "
              "FROM ducklake_table t JOIN ducklake_schema s USING (schema_id) "
              "WHERE s.schema_name = ? AND t.table_name = ?"),
            [layer, name],
        ).fetchall()  # fmt: skip
        ids = [t[0] for t in tables]
        marks = ",".join(mark for _ in ids) or "NULL"
        folders = {
            tid: _under(_under(data_path, spath, srel), tpath, trel)
            for tid, tpath, trel, spath, srel in tables
        }
        files: list[Path] = []
        for kind in ("ducklake_data_file", "ducklake_delete_file"):
            for tid, path, rel in db.execute(
                f"SELECT table_id, path, path_is_relative FROM {kind} WHERE table_id IN ({marks})",
                ids,
            ).fetchall():
                files.append(_under(folders[tid], path, rel))
        inlined = db.execute(
            f"SELECT table_name FROM ducklake_inlined_data_tables WHERE table_id IN ({marks})",
            ids,
        ).fetchall()
        with _transaction(db):
            for kind in _VALUE_TABLES:
                db.execute(f"DELETE FROM {kind} WHERE table_id IN ({marks})", ids)
            for (inlined_table,) in inlined:
                db.execute(f'DROP TABLE IF EXISTS "{inlined_table}"')
            db.execute(f"DELETE FROM ducklake_inlined_data_tables WHERE table_id IN ({marks})", ids)
        if settings.catalog.kind == "sqlite":
            db.execute("VACUUM")
    finally:
        db.close()
    removed = 0
    for file in files:
        try:
            file.unlink()
            removed += 1
        except FileNotFoundError:
            pass
    for folder in {*folders.values(), data_path / layer / name}:
        if folder.is_dir() and folder.resolve() != data_path.resolve():
            shutil.rmtree(folder, ignore_errors=True)
    for cached in (settings.cache_path / "profiles").glob(f"{layer}.{name}@*"):
        cached.unlink(missing_ok=True)
    _purge_quality_history(settings, f"{layer}.{name}")
    return removed


def build_lake(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    layer: str,
    name: str,
    select: str,
    *,
    encrypt: bool,
    keep: tuple[str, ...] = (),
) -> int:
    """Write ``select`` as ``layer.name`` into a new DuckLake and put it at ``root``.

    The lake is built beside ``root`` (``.<name>.new``), its catalog's ``data_path`` is
    pointed at ``root``, and the trees are swapped by ``rename``; the old tree, with the files
    of all its snapshots, is deleted, except the files named in ``keep`` (copied over). A
    stop between the two renames is repaired on the next call. Returns the old tree's data
    files removed. The caller holds the write lock of what ``root`` stores.
    """
    staging = root.with_name(f".{root.name}.new")
    retired = root.with_name(f".{root.name}.old")
    if retired.exists() and not root.exists():  # stopped between the two renames below
        os.rename(retired, root)  # the old tree is whole
    for leftover in (staging, retired):
        if leftover.exists():
            shutil.rmtree(leftover)
    staging.mkdir(mode=0o700)
    protected.data_dir(staging).mkdir(mode=0o700)
    old = protected.data_dir(root)
    old_files = sum(1 for p in old.rglob("*") if p.is_file()) if old.exists() else 0
    options = f"DATA_PATH '{protected.data_dir(staging)}/'" + (", ENCRYPTED" if encrypt else "")
    con.execute(f"ATTACH 'ducklake:sqlite:{protected.catalog_file(staging)}' AS {_BUILD} "
                f"({options})")  # fmt: skip
    try:
        con.execute(f'CREATE SCHEMA "{_BUILD}"."{layer}"')
        con.execute(f'CREATE TABLE "{_BUILD}"."{layer}"."{name}" AS {select}')
    finally:
        con.execute(f"DETACH {_BUILD}")
    db = sqlite3.connect(protected.catalog_file(staging))
    try:
        with db:
            db.execute(
                "UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path'",
                [f"{protected.data_dir(root)}/"],
            )
    finally:
        db.close()
    for kept in keep:
        if (root / kept).exists():
            shutil.copy2(root / kept, staging / kept)
    if root.exists():
        os.rename(root, retired)
    os.rename(staging, root)
    shutil.rmtree(retired, ignore_errors=True)
    lock_down(root)
    return old_files


#: DuckDB alias of a DuckLake while :func:`build_lake` writes it.
_BUILD = "ws_build"


def _purge_quality_history(settings: Settings, table: str) -> None:
    """Drop the table's rows from the quality monitors' stores next to the catalog (their
    commit metrics and PII scans hold values and statistics)."""
    beside = settings.catalog.path.parent if settings.catalog.path else settings.home / "lake"
    override = os.environ.get("WORKSPACE_QUALITY_DIR")  # as workspace.quality.store reads it
    for store in (Path(override) if override else beside / "quality").glob("*.sqlite"):
        db = sqlite3.connect(store, timeout=settings.write_timeout)
        try:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            with db:
                for t in names:
                    columns = {r[1] for r in db.execute(f'PRAGMA table_info("{t}")')}
                    if "table_name" in columns:
                        db.execute(f'DELETE FROM "{t}" WHERE table_name = ?', [table])
            db.execute("VACUUM")
        finally:
            db.close()


def _open_catalog(settings: Settings) -> tuple[Any, str]:
    """A DB-API connection to the shared lake's catalog, and its parameter mark."""
    if settings.catalog.kind == "sqlite":
        assert settings.catalog.path is not None
        return sqlite3.connect(settings.catalog.path, timeout=settings.write_timeout), "?"
    import psycopg  # the `postgres` extra, installed with a PostgreSQL catalog

    con = psycopg.connect(settings.catalog.raw, autocommit=True)
    con.execute("SET search_path TO public")  # the shared lake's metadata schema
    return con, "%s"


@contextlib.contextmanager
def _transaction(db: Any) -> Iterator[None]:
    if isinstance(db, sqlite3.Connection):
        with db:
            yield
    else:
        with db.transaction():
            yield


def _under(base: Path, path: str | None, relative: int | None) -> Path:
    if not path:
        return base
    return base / path if relative else Path(path)


def give_to_lake_owner(settings: Settings, since: float | None = None) -> int:
    """Files this process (root) wrote into the shared lake go to the account that owns it
    (the runner in the team deployment, which appends to them later), readable by every
    account as the shared layers are: dirs 0755, files 0644, whatever the umask (the
    services run with 077). ``since``: only files changed from then on. Returns the paths
    changed."""
    me = os.geteuid()
    owner = (settings.catalog.path or settings.lake_data_path).stat()  # PostgreSQL: the data
    changed = 0
    for dirpath, dirnames, filenames in os.walk(settings.lake_data_path):
        for name in [*dirnames, *filenames, ""]:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            if st.st_uid != me or (since is not None and st.st_mtime < since):
                continue
            if owner.st_uid != me:
                os.lchown(path, owner.st_uid, owner.st_gid)
            os.chmod(path, 0o755 if os.path.isdir(path) else 0o644)
            changed += 1
    return changed


def lock_down(root: Path) -> None:
    """Owner-only modes on the protected tree (grants are added as ACLs on top)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        os.chmod(dirpath, 0o700)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o600)
    os.chmod(root, 0o700)


def share_with_writer(settings: Settings, table: str, root: Path | None = None) -> None:
    """Let the runner account (pipelines, ``WORKSPACE_RUNNER_USER``, default ``ws-runner``)
    write the protected table (or another tree of it, ``root``) and read the masking salt,
    with POSIX ACL entries."""
    runner = os.environ.get("WORKSPACE_RUNNER_USER") or "ws-runner"
    try:
        pwd.getpwnam(runner)
    except KeyError:
        return
    root = root or protected.protected_root(settings, table)
    for path in [root, *root.rglob("*")]:
        _add_entry(path, runner, "rwx" if path.is_dir() else "rw-", default=False)
        if path.is_dir():
            _add_entry(path, runner, "rwx", default=True)
    salt = masking.salt_path(settings)
    if salt.exists():
        _add_entry(salt, runner, "r--", default=False)


def _add_entry(path: Path, user: str, perms: str, *, default: bool) -> None:
    current = acl.get_acl(path, default=default)
    if default and not current:  # no default ACL yet: start from the directory's own bits
        current = [e for e in acl.get_acl(path) if e.split(":")[1] == "" and "mask" not in e]
    kept = [e for e in current if not e.startswith((f"user:{user}:", "mask:"))]
    acl.set_acl(path, [*kept, f"user:{user}:{perms}"], default=default)
