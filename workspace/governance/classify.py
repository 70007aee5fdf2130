"""``workspace classify``: setting a table's tier, and moving its data where the tier says.

Raising a table to a protected tier (:mod:`workspace.governance.tiers`) takes effect at once
and completely: the rows are copied into the table's own DuckLake under
``$WORKSPACE_HOME/protected/<layer>.<table>/`` (root-owned, 0700, read grants by POSIX ACL),
the shared lake's table is replaced by a view of the same name over it, and everything of it
the shared lake still held is removed: the data and delete files of every snapshot (what
time travel could reach), its column statistics, partition values and inlined rows in the
shared catalog, whose free pages are then vacuumed, and its cached profiles. With PII
columns a masked projection (:mod:`workspace.governance.masking`) is published into the
shared lake as ``<table>_masked`` (internal tier), and again after every write
(:class:`MaskingHook`). Lowering a tier needs ``approve=True``; every change is audited and a
lowered tier raises a security alert. Only root or the owner of the shared catalog (the
account the services run as) may classify: the OS makes the shared lake theirs.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import time
from typing import TYPE_CHECKING

import duckdb
from pydantic import BaseModel

from workspace.governance import acl, audit, masking, row_filters, tier_storage
from workspace.governance.tiers import Tiers, load_tiers
from workspace.lake import metadata, protected
from workspace.lake.engine import LAKE, LAYERS, transaction, write_lock
from workspace.lake.errors import WorkspaceError
from workspace.lake.hooks import WriteContext, WriteHook
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace
    from workspace.lake.writes import WriteMode, WriteResult

POLICY_FILE = "policy.json"
MASKED_SUFFIX = "_masked"


class ClassifyError(WorkspaceError):
    """A classification that was refused or could not be made."""


class ClassifyResult(BaseModel):
    """What ``workspace classify`` did."""

    table: str
    old_tier: str
    tier: str
    #: "in" (to its protected DuckLake), "out" (back to the shared lake), or "encrypted" /
    #: "decrypted" (rewritten into a new protected DuckLake, between protected tiers)
    moved: str | None = None
    masked: str | None = None
    purged_files: int = 0
    encrypted: bool = False


def may_classify(settings: Settings) -> bool:
    """Whether this account may classify: root, or the owner of the shared catalog (a
    single-user install) unless that is the runner account, where pipeline code runs."""
    if os.geteuid() == 0:
        return True
    path = settings.catalog.path
    runner = os.environ.get("WORKSPACE_RUNNER_USER") or "ws-runner"
    try:
        if pwd.getpwuid(os.geteuid()).pw_name == runner:
            return False
        return path is not None and path.stat().st_uid == os.geteuid()
    except (OSError, KeyError):
        return False


def _split(table: str) -> tuple[str, str]:
    layer, _, name = table.partition(".")
    if layer not in LAYERS or not name or "." in name:
        raise ClassifyError(
            f"{table!r} is not a shared-lake table: classify layer.table "
            f"(a layer of {', '.join(LAYERS)}), for example silver.customers."
        )
    return layer, name


def classify(
    settings: Settings,
    table: str,
    tier: str,
    *,
    pii: dict[str, str] | None = None,
    approve: bool = False,
    owner: str | None = None,
    description: str | None = None,
    tiers: Tiers | None = None,
    actor: str | None = None,
) -> ClassifyResult:
    """Set ``table``'s tier (and PII masks), moving its data as the tier requires.

    Examples
    --------
    >>> classify(settings, "silver.customers", "confidential",
    ...          pii={"name": "hash", "phone": "partial"})  # doctest: +SKIP
    ClassifyResult(table='silver.customers', old_tier='internal', tier='confidential', ...)
    """
    started = time.time() - 1  # files written from here on are given to the lake's owner
    tiers = tiers or load_tiers()
    tiers.check(tier)
    layer, name = _split(table)
    if not may_classify(settings):
        raise ClassifyError(
            f"Only root or the workspace's services may classify {table} (the legal group "
            f"asks an admin); to read it, request access with `workspace access request {table}`."
        )
    index = protected.read_index(settings)
    entry = index.get(table)
    old = entry.tier if entry else tiers.default
    if old not in tiers.names:
        old = tiers.names[-1]  # a renamed tier: treat as the highest, lowering needs approval
    lowering = tiers.rank(tier) < tiers.rank(old)
    actor = actor or audit.os_actor()  # a service passes the caller it authenticated
    if lowering and not approve:
        raise ClassifyError(
            f"Lowering {table} from {old} to {tier} needs approval: run it again with "
            "--approve (as root; it is audited and raises a security alert)."
        )
    was_protected = bool(entry and entry.protected)
    now_protected = tiers.protected(tier)
    from workspace.lake.workspace import Workspace

    result = ClassifyResult(table=table, old_tier=old, tier=tier)
    with Workspace(settings) as ws:
        present = ws.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ? UNION ALL SELECT 1 FROM duckdb_views() "
            "WHERE database_name = ? AND schema_name = ? AND view_name = ?",
            [LAKE, layer, name] * 2,
        ).fetchone()
        if present is None:
            raise ClassifyError(
                f"No table {table} in the shared lake to classify; `workspace tables` lists them."
            )
        note = metadata.load(ws.con, TableRef(LAKE, layer, name))
        if pii is None:  # keep the masks set before, else the catalog's PII flags
            pii = read_policy(settings, table) or {
                c: masking.DEFAULT_MASK for c, a in note.columns.items() if a.pii
            }
        new = protected.ProtectedEntry(
            table=table,
            tier=tier,
            owner=owner or (entry.owner if entry else None) or note.owner or "",
            description=description
            or (entry.description if entry else None)
            or note.description
            or "",
            masked=f"{table}{MASKED_SUFFIX}" if now_protected and pii else None,
            encrypted=bool(entry and entry.encrypted),
            protected=now_protected,
        )
        if now_protected and not was_protected:
            encrypt = tiers.encrypted(tier) and encryption_available()
            result.purged_files = _move_in(ws, new, encrypt=encrypt)
            result.moved = "in"
            new = protected.ProtectedEntry(**{**new.__dict__, "encrypted": encrypt})
        elif was_protected and not now_protected:
            _move_out(ws, new)
            result.moved = "out"
            new = protected.ProtectedEntry(**{**new.__dict__, "encrypted": False})
        elif now_protected:  # between protected tiers: encrypt or decrypt every file
            encrypt = tiers.encrypted(tier) and encryption_available()
            if encrypt != new.encrypted:
                result.purged_files = _rewrite(ws, new, encrypt=encrypt)
                result.moved = "encrypted" if encrypt else "decrypted"
                new = protected.ProtectedEntry(**{**new.__dict__, "encrypted": encrypt})
    result.encrypted = new.encrypted
    index[table] = new
    protected.write_index(settings, index)
    if now_protected:
        _write_policy(settings, table, pii)
        tier_storage.share_with_writer(settings, table)
    with Workspace(settings) as ws:
        _annotate(ws, table, new, pii)
        if result.moved in ("encrypted", "decrypted"):  # the row-filtered copies follow
            for user, spec in row_filters.filters(settings, table).items():
                row_filters.publish(ws, table, user, str(spec["where"]))
        if now_protected and new.masked:
            publish_masked(ws, table, pii)
            result.masked = new.masked
            _annotate(ws, new.masked, protected.ProtectedEntry(
                new.masked, tiers.default, new.owner, f"{table}, its PII masked", protected=False,
            ), {})  # fmt: skip
    tier_storage.give_to_lake_owner(settings, since=started)  # annotations, the projection
    audit.record(
        actor, "tier_change", f"table:{table}", settings=settings,
        old=old, new=tier, pii=sorted(pii), approved=approve, moved=result.moved,
    )  # fmt: skip
    if lowering:
        audit.security_alert(
            "tier_lowered", f"{table} lowered from {old} to {tier} by {actor}",
            target=f"table:{table}", settings=settings, by=actor, old=old, new=tier,
        )  # fmt: skip
    return result


def _annotate(
    ws: Workspace, table: str, entry: protected.ProtectedEntry, pii: dict[str, str]
) -> None:
    """Show the tier, owner, description and PII flags in the catalog (to everyone)."""
    if entry.tier not in metadata.CLASSIFICATIONS:
        return  # renamed tiers live in the index only
    layer, name = _split(table)
    ref = TableRef(LAKE, layer, name)
    note = metadata.merge(
        metadata.load(ws.con, ref),
        owner=entry.owner or None,
        description=entry.description or None,
        classification=entry.tier,
        columns={c: {"pii": True} for c in pii},
        table=table,
    )
    metadata.save(ws.con, ref, note, settings=ws.settings)


def encryption_available() -> bool:
    """Whether DuckLake can encrypt data files here (it needs DuckDB's httpfs for crypto)."""
    from workspace.lake.engine import new_duckdb

    con = new_duckdb()
    try:
        con.execute("LOAD httpfs")
        return True
    except duckdb.Error:
        return False
    finally:
        con.close()


# -- moving a table in and out of its protected DuckLake -------------------------------------
def _move_in(ws: Workspace, entry: protected.ProtectedEntry, *, encrypt: bool) -> int:
    settings, con = ws.settings, ws.con
    root = protected.protected_root(settings, entry.table)
    folder = protected.protected_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)
    if root.exists():  # left by an interrupted classify: the lake still holds the table
        shutil.rmtree(root)
    root.mkdir(mode=0o700)
    protected.data_dir(root).mkdir(mode=0o700)
    src = TableRef(LAKE, entry.layer, entry.name)
    dst = f'"{entry.alias}"."{entry.layer}"."{entry.name}"'
    kind = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
        "AND table_name = ?",
        [LAKE, entry.layer, entry.name],
    ).fetchone()
    if kind is None:
        raise ClassifyError(f"No table {entry.table} in the shared lake to classify.")
    statement = protected.attach_statement(settings, entry, writable=True)
    if encrypt:
        statement = statement[:-1] + ", ENCRYPTED)"
    with write_lock(settings, LAKE, what=f"classifying {entry.table}"):
        con.execute(statement)
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{entry.alias}"."{entry.layer}"')
        con.execute(f"CREATE TABLE {dst} AS SELECT * FROM {src.sql}")
        with transaction(con, what=f"replacing {entry.table} by its protected view"):
            con.execute(f"DROP TABLE {src.sql}")
            con.execute(f"CREATE VIEW {src.sql} AS SELECT * FROM {dst}")
        con.execute(f'DETACH "{entry.alias}"')
        con.execute("USE memory")
        con.execute(f"DETACH {LAKE}")  # the purge below vacuums the catalog file
        purged = tier_storage.purge_shared(settings, entry.layer, entry.name)
    tier_storage.lock_down(root)
    return purged


def _move_out(ws: Workspace, entry: protected.ProtectedEntry) -> None:
    settings, con = ws.settings, ws.con
    root = protected.protected_root(settings, entry.table)
    src = f'"{entry.alias}"."{entry.layer}"."{entry.name}"'
    dst = TableRef(LAKE, entry.layer, entry.name)
    masked = TableRef(LAKE, entry.layer, entry.name + MASKED_SUFFIX)
    with write_lock(settings, LAKE, what=f"declassifying {entry.table}"):
        attached = {
            r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        }
        if entry.alias not in attached:
            con.execute(protected.attach_statement(settings, entry, writable=False))
        with transaction(con, what=f"moving {entry.table} back to the shared lake"):
            con.execute(f"DROP VIEW IF EXISTS {dst.sql}")
            con.execute(f"CREATE TABLE {dst.sql} AS SELECT * FROM {src}")
            con.execute(f"DROP TABLE IF EXISTS {masked.sql}")
        con.execute(f'DETACH "{entry.alias}"')
    for user in row_filters.filters(settings, entry.table):  # everyone reads every row now
        row_filters.remove(settings, entry.table, user)
    shutil.rmtree(root)


def _rewrite(ws: Workspace, entry: protected.ProtectedEntry, *, encrypt: bool) -> int:
    """Copy a protected table into a new DuckLake, encrypted or not, and swap it in.

    Every file of the old tree goes, those of earlier snapshots included, so no unencrypted
    copy of a table raised to an encrypted tier stays reachable by time travel (its history
    restarts here). Grantees keep their grants. Returns the old tree's files removed.
    """
    settings, con = ws.settings, ws.con
    root = protected.protected_root(settings, entry.table)
    grantees = acl.readers(root)
    src = f'"{entry.alias}"."{entry.layer}"."{entry.name}"'
    with write_lock(settings, entry.alias, what=f"re-encrypting {entry.table}"):
        dbs = con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
        if entry.alias not in {r[0] for r in dbs}:
            con.execute(protected.attach_statement(settings, entry, writable=False))
        try:
            old_files = tier_storage.build_lake(
                con, root, entry.layer, entry.name, f"SELECT * FROM {src}", encrypt=encrypt,
                keep=(POLICY_FILE, row_filters.FILTERS_FILE),
            )  # fmt: skip
        finally:
            con.execute(f'DETACH "{entry.alias}"')
    for user in grantees:  # the runner's write access is added back by share_with_writer
        try:
            acl.grant_read(root, user)
        except acl.AclError:  # a uid left by a removed account: nothing to keep
            continue
    return old_files


# -- PII masks and the masked projection -----------------------------------------------------
def read_policy(settings: Settings, table: str) -> dict[str, str]:
    """The PII masks of a protected table (``{}`` when none, or not readable here)."""
    path = protected.protected_root(settings, table) / POLICY_FILE
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in raw.get("pii", {}).items()}


def _write_policy(settings: Settings, table: str, pii: dict[str, str]) -> None:
    path = protected.protected_root(settings, table) / POLICY_FILE
    tmp = path.with_name(f".{POLICY_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps({"pii": pii}, indent=2) + "\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def publish_masked(
    ws: Workspace, table: str, pii: dict[str, str], *, appended: int | None = None
) -> WriteResult | None:
    """Write ``<table>_masked`` into the shared lake from the protected table: all of it
    (overwrite), or with ``appended`` only the rows that snapshot inserted (append).

    ``ws`` must have the protected table attached (root, the runner, or a granted writer).
    """
    alias = protected.alias_of(table)
    layer, name = _split(table)
    columns = ws.con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = ? AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [alias, layer, name],
    ).fetchall()
    if not columns:
        raise ClassifyError(
            f"Cannot publish the masked projection of {table}: its protected catalog is not "
            "attached in this process (run as root or the runner account)."
        )
    source = f'"{alias}"."{layer}"."{name}"'
    mode: WriteMode = "overwrite"
    if appended is not None:
        span = f"{appended}, {appended}"
        source = f"ducklake_table_insertions('{alias}', '{layer}', '{name}', {span})"
        mode = "append"
    select = masking.masked_select(source, columns, pii)
    ws.con.execute(f"SET VARIABLE {masking.SALT_VARIABLE} = ?", [masking.salt(ws.settings)])
    try:
        return ws.write(f"{table}{MASKED_SUFFIX}", ws.sql(select), mode=mode, evolve=True)
    finally:
        ws.con.execute(f"RESET VARIABLE {masking.SALT_VARIABLE}")


class MaskingHook(WriteHook):
    """After each commit to a protected table, publish its masked projection again."""

    order = 40

    def after_commit(self, ctx: WriteContext, result: WriteResult) -> None:
        table = protected.table_of_alias(ctx.ref.catalog)
        if table is None:
            return
        pii = read_policy(ctx.ws.settings, table)
        if not pii:
            return
        layer, name = _split(table)
        masked = ctx.ws.con.execute(
            "SELECT 1 FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
            "AND table_name = ?",
            [LAKE, layer, name + MASKED_SUFFIX],
        ).fetchone()
        # an append adds its own rows, masked; anything else publishes the table again
        appended = result.snapshot_id if ctx.mode == "append" and masked else None
        publish_masked(ctx.ws, table, pii, appended=appended)
