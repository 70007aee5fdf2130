"""Protected tables: where each confidential or restricted table lives, and attaching them.

A table classified at or above ``confidential`` (``workspace classify``, in
:mod:`workspace.governance.tiers`) is moved out of the shared lake into a DuckLake of its own,
``$WORKSPACE_HOME/protected/<layer>.<table>/`` (``catalog.sqlite`` plus ``data/``), owned by
root and mode 0700: the OS refuses its catalog, statistics and files to every other account,
except the users named in its POSIX ACL (:mod:`workspace.governance.acl`). The shared lake
keeps a view of the same name over the protected catalog's alias, so ``silver.customers``
works for those who can read it; ``index.json`` (world-readable) lists the protected tables
with name, tier, owner and description only. This module is the lake's side: paths, the
index and the ATTACH statements :func:`workspace.lake.engine.open_connection` runs.
"""

from __future__ import annotations

import json
import os
import pwd
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from workspace.lake.errors import WorkspaceError
from workspace.lake.settings import Settings

#: Folder under the workspace home, and its world-readable index.
PROTECTED_DIR = "protected"
INDEX_FILE = "index.json"
#: DuckDB alias prefix of an attached protected catalog: ``protected_<layer>_<table>``.
ALIAS_PREFIX = "protected_"


class AccessDeniedError(WorkspaceError, PermissionError):
    """A protected table this account has no grant on."""

    def __init__(self, table: str, tier: str = "confidential") -> None:
        self.table = table
        super().__init__(
            f"{table} is {tier}: request access with `workspace access request {table}`"
        )


@dataclass(frozen=True)
class ProtectedEntry:
    """One protected table, as the world-readable index shows it (no data, no statistics).

    Examples
    --------
    >>> e = ProtectedEntry("silver.customers", "confidential", "legal", "Customers")
    >>> e.alias
    'protected_silver_customers'
    """

    table: str
    tier: str
    owner: str = ""
    description: str = ""
    masked: str | None = None
    encrypted: bool = False
    #: False for tables classified into a tier kept in the shared lake (public, internal).
    protected: bool = True

    @property
    def layer(self) -> str:
        """``bronze``, ``silver`` or ``gold``."""
        return self.table.split(".", 1)[0]

    @property
    def name(self) -> str:
        """The table's name within its layer."""
        return self.table.split(".", 1)[1]

    @property
    def alias(self) -> str:
        """The DuckDB alias its catalog is attached under."""
        return alias_of(self.table)


def protected_dir(settings: Settings) -> Path:
    """``$WORKSPACE_HOME/protected``."""
    return settings.home / PROTECTED_DIR


def protected_root(settings: Settings, table: str) -> Path:
    """The folder of one protected table's DuckLake (what a read grant covers).

    Examples
    --------
    >>> s = Settings.resolve(home="/tmp/ws-doc", user="ada")
    >>> protected_root(s, "silver.customers").as_posix()
    '/tmp/ws-doc/protected/silver.customers'
    """
    return protected_dir(settings) / table


def filter_root(settings: Settings, table: str, user: str) -> Path:
    """The DuckLake of ``user``'s row-filtered copy of ``table``
    (:mod:`workspace.governance.row_filters`).

    >>> s = Settings.resolve(home="/tmp/ws-doc", user="ada")
    >>> filter_root(s, "silver.orders", "ana").name
    'silver.orders@ana'
    """
    return protected_dir(settings) / f"{table}@{user}"


def source_root(settings: Settings, table: str) -> Path | None:
    """The tree this account reads ``table`` from: the table's own when the OS lets it open
    that catalog, else its row-filtered copy when it has one, else None."""
    root = protected_root(settings, table)
    if os.access(catalog_file(root), os.R_OK):
        return root
    try:
        me = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return None
    own = filter_root(settings, table, me)
    return own if os.access(catalog_file(own), os.R_OK) else None


def alias_of(table: str) -> str:
    """``silver.customers`` -> ``protected_silver_customers`` (layers have no ``_``).

    >>> alias_of("bronze.customer")
    'protected_bronze_customer'
    """
    return ALIAS_PREFIX + table.replace(".", "_", 1)


def table_of_alias(alias: str) -> str | None:
    """The table an alias stands for, or None for other catalogs.

    >>> table_of_alias("protected_silver_customers")
    'silver.customers'
    """
    if not alias.startswith(ALIAS_PREFIX):
        return None
    layer, _, name = alias[len(ALIAS_PREFIX) :].partition("_")
    return f"{layer}.{name}" if name else None


def catalog_file(root: Path) -> Path:
    """The protected DuckLake's SQLite catalog."""
    return root / "catalog.sqlite"


def data_dir(root: Path) -> Path:
    """The protected DuckLake's data path."""
    return root / "data"


def read_index(settings: Settings) -> dict[str, ProtectedEntry]:
    """The protected tables by name (``{}`` when none was ever classified)."""
    path = protected_dir(settings) / INDEX_FILE
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WorkspaceError(
            f"Could not read the protected tables' index {path}: {exc}. Ask an admin to run "
            "`workspace classify` again."
        ) from exc
    fields = set(ProtectedEntry.__dataclass_fields__)
    return {
        name: ProtectedEntry(**{k: v for k, v in entry.items() if k in fields})
        for name, entry in raw.get("tables", {}).items()
    }


def write_index(settings: Settings, entries: dict[str, ProtectedEntry]) -> None:
    """Replace the index atomically (0644: names, tiers, owners and descriptions only)."""
    folder = protected_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    tmp = folder / f".{INDEX_FILE}.{os.getpid()}"
    body = {"tables": {k: asdict(v) for k, v in sorted(entries.items())}}
    tmp.write_text(json.dumps(body, indent=2) + "\n")
    os.chmod(tmp, 0o644)
    tmp.replace(folder / INDEX_FILE)


def attach_statement(settings: Settings, entry: ProtectedEntry, *, writable: bool) -> str:
    """The ATTACH of one protected catalog (read-only unless this account may write it); a
    reader with a row-filtered grant attaches its own copy under the same alias."""
    root = protected_root(settings, entry.table)
    if not writable:
        root = source_root(settings, entry.table) or root
    opts = f"DATA_PATH '{data_dir(root)}/'"
    if not writable:
        opts += ", READ_ONLY"
    return f"ATTACH 'ducklake:sqlite:{catalog_file(root)}' AS {entry.alias} ({opts})"


def readable(settings: Settings) -> list[tuple[ProtectedEntry, bool]]:
    """The protected tables this account can open (the OS decides), with whether it can write.

    Each protected table has an embedded (SQLite) catalog of its own, whatever the shared
    lake's catalog is (SQLite or PostgreSQL).
    """
    out = []
    for entry in read_index(settings).values():
        if not entry.protected:
            continue
        root = source_root(settings, entry.table)  # None when the OS refuses this account
        if root is not None:
            cat = catalog_file(root)
            full = root == protected_root(settings, entry.table)
            out.append((entry, full and os.access(cat, os.W_OK) and os.access(root, os.W_OK)))
    return out


def write_lock_file(settings: Settings, alias: str) -> Path | None:
    """The write-lock file of a protected catalog alias, None for other catalogs."""
    table = table_of_alias(alias)
    if table is None:
        return None
    return catalog_file(protected_root(settings, table)).with_name("catalog.sqlite.write-lock")


def refusal(settings: Settings, table: str) -> AccessDeniedError | None:
    """The error for reading a protected ``table`` this account cannot open, else None."""
    entry = read_index(settings).get(table)
    if entry is None or not entry.protected:
        return None
    if source_root(settings, table) is not None:
        return None
    return AccessDeniedError(table, entry.tier)


def attached_alias(con: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> str | None:
    """The alias of ``table``'s protected catalog when it is attached on ``con``, else None."""
    entry = read_index(settings).get(table)
    if entry is None or not entry.protected:
        return None
    row = con.execute(
        "SELECT 1 FROM duckdb_databases() WHERE database_name = ?", [entry.alias]
    ).fetchone()
    return entry.alias if row else None


def write_alias(con: duckdb.DuckDBPyConnection, settings: Settings, table: str) -> str | None:
    """Where a write to the lake's ``table`` goes: its protected catalog's alias, or None for
    an ordinary table. Raises :class:`AccessDeniedError` when this account cannot write it."""
    entry = read_index(settings).get(table)
    if entry is None or not entry.protected:
        return None
    row = con.execute(
        "SELECT readonly FROM duckdb_databases() WHERE database_name = ?", [entry.alias]
    ).fetchone()
    if row is None or row[0]:
        raise AccessDeniedError(table, entry.tier)
    return entry.alias
