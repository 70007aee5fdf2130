"""Opening DuckDB with the lake attached, and retrying commits when the catalog is busy.

Only this module knows which DuckDB extensions are loaded and how the lake and the user's
sandbox are attached.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import stat
import sysconfig
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from filelock import FileLock
from filelock import Timeout as FileLockTimeout

from workspace.lake import protected
from workspace.lake.errors import ConfigurationError, WorkspaceError, WriteConflictError
from workspace.lake.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

LAKE = "lake"
SANDBOX = "sandbox"
LAYERS = ("bronze", "silver", "gold")
#: Schema of each catalog that holds workspace metadata (annotations); hidden from listings.
META_SCHEMA = "_workspace"
#: Search order of unqualified names: (catalog, schema).
SEARCH_PATH: tuple[tuple[str, str], ...] = (
    (SANDBOX, "main"),
    (LAKE, "gold"),
    (LAKE, "silver"),
    (LAKE, "bronze"),
)
EXTENSIONS = ("ducklake", "sqlite", "postgres", "tpch")

_CONTENTION_MARKERS = (
    "database is locked",
    "database table is locked",
    "failed to flush changes",
    "transaction conflict",
    "conflict",
    "could not serialize",
    "deadlock detected",
    "lock timeout",
    "duplicate key value",
    "unique constraint",
)


#: Extension names and the file names DuckDB looks for (``LOAD sqlite`` loads ``sqlite_scanner``).
_EXTENSION_FILES = {
    "ducklake": "ducklake",
    "sqlite": "sqlite_scanner",
    "postgres": "postgres_scanner",
    "tpch": "tpch",
}


@functools.cache
def extension_directory() -> Path:
    """Folder laid out as DuckDB's ``extension_directory`` with the packaged extensions.

    Two package families ship DuckDB's extensions on PyPI:

    - ``duckdb-ext-*`` (up to DuckDB 1.4): ``site-packages/duckdb_ext/extensions`` already has
      DuckDB's layout (``v1.4.4/linux_amd64/ducklake.duckdb_extension``) and is used as it is;
    - ``duckdb-extension-*`` (DuckDB 1.5 on): each package holds
      ``duckdb_extension_<name>/extensions/v<version>/<name>.duckdb_extension``, without the
      platform folder and, for sqlite and postgres, under another name than the one DuckDB
      loads. A folder of symbolic links in DuckDB's layout is made for them (see
      :func:`_linked_extension_directory`).
    """
    purelib = Path(sysconfig.get_paths()["purelib"])
    legacy = purelib / "duckdb_ext" / "extensions"
    version = "v" + duckdb.__version__
    if (legacy / version).is_dir():
        return legacy
    files = {
        loaded: purelib
        / f"duckdb_extension_{name}"
        / "extensions"
        / version
        / f"{name}.duckdb_extension"
        for name, loaded in _EXTENSION_FILES.items()
    }
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise ConfigurationError(
            f"DuckDB {duckdb.__version__} extensions not found ({', '.join(missing)}). "
            "Install the workspace with its dependencies (pip install analytics-workspace), "
            "which bring the DuckDB extension packages matching the duckdb version."
        )
    return _linked_extension_directory(files, version)


def _linked_extension_directory(files: dict[str, Path], version: str) -> Path:
    """A private folder ``<dir>/<version>/<platform>/`` of links to the extension files.

    It is made next to the packages when site-packages is writable (one folder for every
    user of the environment), else in the user's cache folder. A folder that another account
    could have written is never used: DuckDB runs the code it loads from there.
    """
    platform = duckdb.connect().execute("PRAGMA platform").fetchone()[0]  # type: ignore[index]
    candidates = [Path(sysconfig.get_paths()["purelib"]) / "duckdb_extension_layout"]
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates.append(Path(cache) / "analytics-workspace" / "duckdb-extensions")
    for root in candidates:
        with contextlib.suppress(OSError):
            target = root / version / platform
            target.mkdir(parents=True, exist_ok=True, mode=0o755)
            if not all(_private(d) for d in (root, root / version, target)):
                continue
            for loaded, source in files.items():
                link = target / f"{loaded}.duckdb_extension"
                if not (link.is_symlink() and link.resolve() == source.resolve()):
                    tmp = target / f".{loaded}.{os.getpid()}.tmp"
                    tmp.unlink(missing_ok=True)
                    tmp.symlink_to(source)
                    tmp.replace(link)  # atomic: concurrent first connects agree
            return root
    raise ConfigurationError(
        f"Could not lay out the DuckDB extensions in any of {', '.join(map(str, candidates))}: "
        "none is writable by this account and writable by it alone. Set XDG_CACHE_HOME to "
        "a private folder."
    )


def _private(path: Path) -> bool:
    """Whether only this account (or root) can change what is in ``path``."""
    st = path.lstat()
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid in (os.getuid(), 0)
        and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def new_duckdb(*, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the workspace's extensions loaded and no network installs."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "extension_directory": str(extension_directory()),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": True,
    }
    if threads:
        config["threads"] = threads
    con = duckdb.connect(config=config)
    for ext in ("ducklake", "sqlite"):
        con.execute(f"LOAD {ext}")
    return con


def _sql_str(value: str) -> str:
    """Quote a string literal for DDL that cannot take parameters (ATTACH options)."""
    return "'" + value.replace("'", "''") + "'"


def attach_string(settings: Settings, *, sandbox: bool = False) -> tuple[str, dict[str, str]]:
    """The ``ducklake:`` target and ATTACH options for the lake or the user's sandbox."""
    catalog = settings.catalog.ducklake_target()
    if settings.catalog.kind == "postgres":
        # Bound every lock wait in PostgreSQL, so a writer blocked by a lock held elsewhere
        # fails (and is retried until WORKSPACE_WRITE_TIMEOUT) instead of hanging forever.
        lock_ms = max(int(settings.write_timeout * 1000), 1)
        catalog += f" options='-c lock_timeout={lock_ms}'"
    if not sandbox:
        return "ducklake:" + catalog, {"DATA_PATH": str(settings.lake_data_path) + "/"}
    sb = settings.sandbox_path
    if settings.catalog.kind == "sqlite":
        return f"ducklake:sqlite:{sb / 'catalog.sqlite'}", {"DATA_PATH": str(sb / "data") + "/"}
    # A shared PostgreSQL catalog keeps each sandbox in its own metadata schema.
    return "ducklake:" + catalog, {
        "DATA_PATH": str(settings.data_path.parent / "sandboxes" / settings.user / "data") + "/",
        "METADATA_SCHEMA": f"sandbox_{settings.user}",
    }


#: Per open connection: its SQLite-backed catalogs' ATTACH statements, and its search path.
_REATTACH: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, tuple[dict[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def release_catalog_locks(con: duckdb.DuckDBPyConnection) -> None:
    """Attach the connection's embedded (SQLite) catalogs again, dropping any lock they hold.

    When a DuckLake COMMIT finds its SQLite catalog busy (another process is reading it),
    DuckDB's SQLite connection keeps the catalog's PENDING lock after the ROLLBACK. From
    then on no process can start a read of the lake, this one included (even ``SELECT 1``
    fails, binding it looks through the search path), until the catalog is detached: one
    failed commit would stall every reader and writer of the lake
    (tests/integration/test_catalog_busy.py). Call this after a statement failed on a busy
    catalog, outside any transaction. PostgreSQL catalogs are left alone. The connection's
    search path is set back to the one :func:`open_connection` chose.
    """
    entry = _REATTACH.get(con)
    if entry is None:
        return
    statements, search_path = entry
    try:
        current = con.execute("SELECT current_database()").fetchone()
    except duckdb.Error:  # the stuck lock itself: the default database is ours
        current = None
    con.execute("USE memory")
    for alias, statement in statements.items():
        try:
            con.execute(f"DETACH DATABASE IF EXISTS {alias}")
        except duckdb.Error as exc:  # e.g. inside a user's open transaction: leave it be
            log.debug("could not detach %s to release its catalog lock: %s", alias, exc)
            continue
        try:
            retry_on_contention(
                functools.partial(con.execute, statement), what=f"attaching the {alias} again"
            )
        except WorkspaceError as exc:
            raise WorkspaceError(
                f"The {alias} catalog was busy and could not be attached again: {exc} "
                "Reconnect with workspace.connect() (or restart the kernel)."
            ) from exc
    if current and current[0] != "memory":
        con.execute(f'USE "{current[0]}"')
    if search_path:
        con.execute(f"SET search_path = {_sql_str(search_path)}")


def metadata_variable(alias: str) -> str:
    """Name of the DuckDB variable holding the metadata schema of an attached DuckLake."""
    return f"workspace_metadata_schema_{alias}"


def open_connection(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open DuckDB with the shared lake attached as ``lake`` and the sandbox as ``sandbox``.

    A home that does not exist yet is initialised: folders, the layer schemas and the
    metadata schema are created (idempotently, safe against concurrent first connects).
    """
    if settings.catalog.kind == "sqlite":
        assert settings.catalog.path is not None
        if read_only and not settings.catalog.path.exists():
            raise ConfigurationError(
                f"No lake at {settings.catalog.path}; it cannot be opened read-only before it "
                "exists. Run `workspace demo` or connect once without read_only."
            )
        settings.catalog.path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only:
        settings.lake_data_path.mkdir(parents=True, exist_ok=True)
        settings.sandbox_path.mkdir(parents=True, exist_ok=True)
        settings.cache_path.mkdir(parents=True, exist_ok=True)
    con = new_duckdb()
    if settings.catalog.kind == "postgres":
        con.execute("LOAD postgres")
    # DuckLake's own commit retry replays a conflicting transaction's changes onto the new
    # snapshot without re-checking them: two processes creating the same table both
    # "succeed" (two live tables of one name, rows lost). Conflicts must reach
    # retry_on_contention instead, which reruns the whole write from the start.
    con.execute("SET ducklake_max_retry_count = 0")
    # DuckLake never rewrites a data file in place (every write makes new files), so the
    # Parquet footers read by one query can serve the next ones (checked against the file's
    # modification time by DuckDB): a few percent on TPC-H (tests/benchmarks/bench_tpch.py).
    con.execute("SET parquet_metadata_cache = true")
    reattach: dict[str, str] = {}
    for alias, is_sandbox in ((LAKE, False), (SANDBOX, True)):
        target, options = attach_string(settings, sandbox=is_sandbox)
        no_sandbox_yet = not (settings.sandbox_path / "catalog.sqlite").exists()
        if is_sandbox and read_only and settings.catalog.kind == "sqlite" and no_sandbox_yet:
            continue  # a read-only reader without a sandbox simply has none
        opts = ", ".join(f"{k} {_sql_str(v)}" for k, v in options.items())
        if read_only:
            opts += ", READ_ONLY"
        try:
            statement = f"ATTACH {_sql_str(target)} AS {alias} ({opts})"
            retry_on_contention(
                functools.partial(con.execute, statement),
                timeout=settings.write_timeout,
                what=f"attaching the {alias}",
            )
        except duckdb.Error as exc:
            con.close()
            raise ConfigurationError(
                f"Could not open the {alias} catalog at {settings.catalog.redacted()}: {exc}"
            ) from exc
        if settings.catalog.kind == "sqlite":  # see release_catalog_locks
            reattach[alias] = statement
        if settings.catalog.kind == "postgres":
            # Several DuckLakes share the PostgreSQL database, one metadata schema each;
            # remember which one is ours (read by snapshots.metadata_tables).
            schema = options.get("METADATA_SCHEMA", "public")
            con.execute(f"SET VARIABLE {metadata_variable(alias)} = {_sql_str(schema)}")
    _REATTACH[con] = (dict(reattach), "")  # a busy CREATE SCHEMA releases its lock too
    if not read_only:
        for schema in (*LAYERS, META_SCHEMA):
            _ensure_schema(con, LAKE, schema, settings.write_timeout)
        _ensure_schema(con, SANDBOX, META_SCHEMA, settings.write_timeout)
    # Confidential tables this account may open (the OS decides): the lake's views of the
    # same names read them through these aliases (workspace.lake.protected).
    for entry, writable in protected.readable(settings):
        statement = protected.attach_statement(settings, entry, writable=writable and not read_only)
        try:
            retry_on_contention(
                functools.partial(con.execute, statement),
                timeout=settings.write_timeout,
                what=f"attaching {entry.table}",
            )
        except duckdb.Error as exc:  # e.g. a grant revoked between the check and the open
            log.warning("could not attach the protected table %s: %s", entry.table, exc)
            continue
        reattach[entry.alias] = statement
    attached = {
        r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    path = ",".join(f"{c}.{s}" for c, s in SEARCH_PATH if c in attached)
    con.execute(f"SET search_path = {_sql_str(path)}")
    _REATTACH[con] = (reattach, path)
    return con


def _ensure_schema(
    con: duckdb.DuckDBPyConnection, catalog: str, schema: str, timeout: float
) -> None:
    exists = con.execute(
        "SELECT 1 FROM duckdb_schemas() WHERE database_name = ? AND schema_name = ?",
        [catalog, schema],
    ).fetchone()
    if exists:
        return
    retry_on_contention(
        lambda: con.execute(f'CREATE SCHEMA IF NOT EXISTS {catalog}."{schema}"'),
        timeout=timeout,
        what=f"creating schema {catalog}.{schema}",
        on_retry=lambda: release_catalog_locks(con),
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, *, what: str) -> Iterator[None]:
    """Run the body in one DuckDB transaction: COMMIT at the end, ROLLBACK on any error.

    DuckLake publishes a snapshot only on COMMIT, so an error (or a killed process) inside
    the body leaves the lake exactly as it was.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> with transaction(con, what="creating t"):
    ...     _ = con.execute("CREATE TABLE t AS SELECT 1 AS x")
    """
    try:
        con.execute("BEGIN TRANSACTION")
    except duckdb.TransactionException as exc:
        raise WorkspaceError(
            f"Cannot start {what}: a transaction is already open on this connection "
            "(a BEGIN without COMMIT). Run COMMIT or ROLLBACK first."
        ) from exc
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):  # a failed COMMIT already ended it
            con.execute("ROLLBACK")
        raise


def write_lock_path(settings: Settings, catalog: str) -> Path | None:
    """The lock file that serialises commits to an embedded (SQLite) catalog, else ``None``.

    SQLite catalogs are always on a local disk, so writers of one machine can queue on an OS
    file lock instead of colliding inside SQLite, whose busy handler backs off in whole
    seconds. A PostgreSQL catalog handles concurrent commits itself.
    """
    if catalog.startswith(protected.ALIAS_PREFIX):  # always SQLite (workspace.lake.protected)
        return protected.write_lock_file(settings, catalog)
    if settings.catalog.kind != "sqlite":
        return None
    if catalog == LAKE:
        assert settings.catalog.path is not None
        db = settings.catalog.path
    else:
        db = settings.sandbox_path / "catalog.sqlite"
    return db.with_name(db.name + ".write-lock")


@contextmanager
def write_lock(settings: Settings, catalog: str, *, what: str) -> Iterator[None]:
    """Hold the catalog's write lock (see :func:`write_lock_path`) for the body.

    Raises :class:`WriteConflictError` when the lock is not free within
    ``settings.write_timeout`` seconds.
    """
    path = write_lock_path(settings, catalog)
    if path is None:
        yield
        return
    lock = FileLock(path, timeout=settings.write_timeout)
    try:
        lock.acquire()
    except FileLockTimeout as exc:
        raise WriteConflictError(
            f"Gave up {what} after {settings.write_timeout:.0f}s: another process kept the "
            f"lake catalog busy (write lock {path}). Nothing was written; run it again, or "
            "raise WORKSPACE_WRITE_TIMEOUT."
        ) from exc
    try:
        yield
    finally:
        lock.release()


def first_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """The first row of a one-row result, read to the end.

    ``fetchone()`` leaves a result streaming, and DuckDB keeps the query's transaction, and
    with it the lake catalog's SQLite read lock, open until the connection's next statement:
    an idle kernel whose result grid had answered a ``stats`` request blocked every writer
    of the lake (tests/integration/test_catalog_busy.py).

    Examples
    --------
    >>> first_row(duckdb.connect().execute("SELECT 42"))
    (42,)
    """
    rows = cursor.fetchall()
    return rows[0] if rows else None


def is_contention(exc: BaseException) -> bool:
    """Whether an error means "another writer got there first; try again"."""
    if isinstance(exc, duckdb.TransactionException):
        return True
    text = str(exc).lower()
    if not isinstance(exc, duckdb.Error):
        return False
    if "failed to initialize ducklake" in text and "already exists" in text:
        return True  # another process created the catalog's metadata tables first
    return any(m in text for m in _CONTENTION_MARKERS)


def retry_on_contention(
    attempt: Callable[[], T],
    *,
    timeout: float = 120.0,
    what: str = "the write",
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Call ``attempt`` until it stops failing with catalog contention.

    Waits with capped exponential backoff and full jitter between tries. Any other error is
    raised at once. After ``timeout`` seconds, raises :class:`WriteConflictError`.

    Examples
    --------
    >>> retry_on_contention(lambda: 42)
    42
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    tries = 0
    while True:
        tries += 1
        try:
            return attempt()
        except duckdb.Error as exc:
            if not is_contention(exc):
                raise
            if on_retry is not None:
                on_retry()
            if time.monotonic() + delay > deadline:
                raise WriteConflictError(
                    f"Gave up {what} after {tries} tries in {timeout:.0f}s: other writers kept "
                    f"the lake catalog busy ({exc}). Nothing was written; run it again, or "
                    "raise WORKSPACE_WRITE_TIMEOUT."
                ) from exc
            log.debug("catalog busy while %s (try %d): %s", what, tries, exc)
            time.sleep(random.uniform(0, delay))
            delay = min(delay * 2, 1.0)
