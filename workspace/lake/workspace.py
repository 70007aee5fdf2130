"""The :class:`Workspace`: one DuckDB connection with the shared lake and the user's sandbox."""

from __future__ import annotations

import datetime as dt
import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

import duckdb

from workspace.lake import names, protected, snapshots
from workspace.lake.engine import (
    open_connection,
    release_catalog_locks,
    retry_on_contention,
    write_lock,
)
from workspace.lake.errors import QueryError, ReadOnlyError, WorkspaceError
from workspace.lake.settings import Settings
from workspace.lake.sqlerrors import clean_message, write_refusal
from workspace.lake.writes import WriteMode, WriteResult, registered_source, write_sql_source

if TYPE_CHECKING:
    import dask.dataframe as dd
    import ibis
    import ibis.backends.duckdb
    import ibis.expr.types as ir

    from workspace.lake.catalog import Catalog
    from workspace.lake.maintenance import MaintenanceReport
    from workspace.quality.api import Quality


class Workspace:
    """The team's lakehouse, seen by one user.

    Open it with :func:`workspace.connect`. Tables are read as ibis tables (lazy: nothing runs
    until you call ``.execute()``, ``.to_pandas()`` or display it) and written with
    :meth:`write`, one atomic commit per call.

    Examples
    --------
    >>> import pandas as pd, workspace
    >>> ws = workspace.connect("/tmp/ws-doctest")
    >>> ws.write("scratch", pd.DataFrame({"x": [1, 2, 3]}), mode="overwrite").rows
    3
    >>> int(ws.table("scratch").x.sum().execute())
    6
    >>> ws.close()
    """

    def __init__(self, settings: Settings, *, read_only: bool = False) -> None:
        self.settings = settings
        self.read_only = read_only
        self.con: duckdb.DuckDBPyConnection = open_connection(settings, read_only=read_only)
        self._pid = os.getpid()

    # -- plumbing -----------------------------------------------------------------------
    @cached_property
    def ibis(self) -> ibis.backends.duckdb.Backend:
        """The ibis backend over this workspace's DuckDB connection."""
        from workspace.lake.ibis_backend import from_connection

        return from_connection(self.con)

    @cached_property
    def catalog(self) -> Catalog:
        """Browse, search, describe, preview, profile and annotate tables."""
        from workspace.lake.catalog import Catalog

        return Catalog(self)

    @cached_property
    def quality(self) -> Quality:
        """Data contracts and checks of tables (``workspace.quality``, see docs/quality.md).

        Provided by the ``workspace.accessors`` entry point ``quality``, so that the lake
        does not import the packages built on it.
        """
        from workspace.lake.hooks import accessor

        quality: Quality = accessor(self, "quality")
        return quality

    def close(self) -> None:
        """Close the connection. The workspace cannot be used afterwards."""
        self.con.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = ", read-only" if self.read_only else ""
        return f"<Workspace {self.settings.home} user={self.settings.user}{mode}>"

    def resolve(self, name: str) -> names.TableRef:
        """The existing table a name refers to (search path: sandbox, gold, silver, bronze)."""
        ref = names.resolve_read(self.con, name)
        if ref.catalog == names.LAKE:  # a confidential table's view this account cannot open
            refused = protected.refusal(self.settings, ref.display)
            if refused is not None:
                raise refused
        return ref

    def _data_ref(self, ref: names.TableRef) -> names.TableRef:
        """The table behind the lake's view of a confidential table (when attached here)."""
        if ref.catalog != names.LAKE:
            return ref
        alias = protected.attached_alias(self.con, self.settings, ref.display)
        return ref if alias is None else names.TableRef(alias, ref.schema, ref.name)

    def tables(self) -> list[str]:
        """Names (``layer.table``) of every table you can read."""
        return [t.display for t in names.existing_tables(self.con)]

    # -- reading ------------------------------------------------------------------------
    def table(self, name: str, *, at: int | str | dt.datetime | None = None) -> ir.Table:
        """An ibis table over a lake or sandbox table.

        Parameters
        ----------
        name:
            ``orders`` (search path), ``gold.revenue``, ``sandbox.scratch``.
        at:
            Time travel: a snapshot id from :meth:`history`, or a timestamp.

        Examples
        --------
        >>> ws.table("gold.revenue_by_nation").limit(5).to_pandas()  # doctest: +SKIP
        """
        ref = self.resolve(name)
        if at is None:
            return self.ibis.table(ref.name, database=(ref.catalog, ref.schema))
        ref = self._data_ref(ref)  # a confidential table's snapshots are in its own lake
        clause = snapshots.at_clause(self.con, ref, at)
        return self._ibis_sql(f"SELECT * FROM {ref.sql} {clause}")

    def sql(self, query: str, params: dict[str, Any] | list[Any] | None = None) -> ir.Table:
        """An ibis table over the result of a DuckDB SQL query.

        Values in ``params`` are bound as query parameters (``$name`` or ``?``), never
        pasted into the SQL text. Without parameters the result stays lazy; with parameters
        it is computed once and held in memory.

        Examples
        --------
        >>> q = "SELECT * FROM orders WHERE total_price > $p"
        >>> big = ws.sql(q, {"p": 1000})  # doctest: +SKIP
        >>> big.count().execute()  # doctest: +SKIP
        """
        if params is None:
            return self._ibis_sql(query)
        import ibis

        try:
            arrow = self.con.execute(query, params).fetch_arrow_table()
        except duckdb.Error as exc:
            raise QueryError(clean_message(exc), statement=query) from None
        return ibis.memtable(arrow)

    def _ibis_sql(self, query: str) -> ir.Table:
        try:
            return self.ibis.sql(query)
        except duckdb.Error as exc:  # ibis checks the query with DESCRIBE <query>
            raise QueryError(
                clean_message(exc, hidden_prefix="DESCRIBE "), statement=query
            ) from None

    def history(self, name: str) -> list[snapshots.Snapshot]:
        """Snapshots that changed the table, oldest first (ids usable with ``at=``)."""
        return snapshots.history(self.con, self._data_ref(self.resolve(name)))

    def to_dask(self, name: str, *, at: int | None = None) -> dd.DataFrame:
        """A Dask DataFrame over the files of the table's current (or ``at``) snapshot.

        Each partition is one data file, read on the workers through DuckDB so that deletes
        and schema changes are applied exactly as SQL sees them.
        """
        from workspace.lake.dask_io import to_dask

        return to_dask(self, self._data_ref(self.resolve(name)), at=at)

    # -- writing ------------------------------------------------------------------------
    def write(
        self,
        name: str,
        data: Any,
        *,
        mode: WriteMode = "append",
        evolve: bool = False,
        message: str | None = None,
    ) -> WriteResult:
        """Write data to a table as one atomic commit.

        Parameters
        ----------
        name:
            ``scratch`` or ``sandbox.scratch`` (your sandbox), ``silver.orders`` (the lake).
            The table is created when it does not exist.
        data:
            An ibis table, a pandas or polars DataFrame, a pyarrow Table, or a Dask DataFrame
            (written by the workers, committed once).
        mode:
            ``"append"`` adds rows; ``"overwrite"`` replaces them.
        evolve:
            Allow schema changes: new columns are added, missing ones filled with NULL,
            types widened. Without it a differing schema raises
            :class:`~workspace.lake.errors.SchemaMismatchError` and nothing is written.
        message:
            Commit message stored with the snapshot.

        Examples
        --------
        >>> import pandas as pd
        >>> rates = pd.DataFrame({"ccy": ["EUR"], "rate": [1.08]})
        >>> ws.write("silver.fx_rates", rates)  # doctest: +SKIP
        WriteResult(table='silver.fx_rates', snapshot_id=12, rows=1, mode='append', attempts=1)
        """
        if self.read_only:
            raise ReadOnlyError(
                f"Cannot write {name!r}: this workspace was opened read-only. "
                "Use workspace.connect() without read_only=True."
            )
        ref = _route_protected(self, names.resolve_write(name))
        if _is_dask(data):
            from workspace.lake.dask_io import write_dask

            try:
                return write_dask(self, ref, data, mode=mode, evolve=evolve, message=message)
            except (duckdb.Error, OSError) as exc:  # workers write the files first
                refused = write_refusal(exc, layer=ref.layer, table=ref.display)
                if refused is not None:
                    raise refused from None
                raise
        with registered_source(self, data) as source_sql:
            return write_sql_source(
                self, ref, source_sql, mode=mode, evolve=evolve, message=message
            )

    def maintain(
        self,
        *,
        dry_run: bool = False,
        compact: bool = False,
        expire_older_than: dt.timedelta | None = None,
    ) -> MaintenanceReport:
        """Housekeeping for the lake and your sandbox.

        Deletes Parquet files no snapshot references (left by killed writes) once they are
        an hour old; with ``compact`` merges small files of many appends (time travel keeps
        working); with ``expire_older_than`` forgets older snapshots (time travel to them
        stops working) and deletes their files.

        Examples
        --------
        >>> ws.maintain(dry_run=True).orphaned_files  # doctest: +SKIP
        []
        """
        from workspace.lake.maintenance import maintain

        return maintain(self, dry_run=dry_run, compact=compact, expire_older_than=expire_older_than)

    def drop(self, name: str) -> None:
        """Drop a table (a new snapshot; older snapshots keep its data until expired)."""
        if self.read_only:
            raise ReadOnlyError(f"Cannot drop {name!r}: this workspace was opened read-only.")
        ref = self.resolve(name)
        entry = (
            protected.read_index(self.settings).get(ref.display) if ref.catalog == "lake" else None
        )
        if entry is not None and entry.protected:  # its data lives in its own root-only lake
            raise WorkspaceError(
                f"Cannot drop {ref.display}: it is {entry.tier} and kept in its own lake. Its "
                f"owner or the legal group lowers its tier first (`workspace classify "
                f"{ref.display} --tier internal --approve`), then drops it."
            )
        what = f"dropping {ref.display}"
        try:
            with write_lock(self.settings, ref.catalog, what=what):
                retry_on_contention(
                    lambda: self.con.execute(f"DROP TABLE {ref.sql}"),
                    timeout=self.settings.write_timeout,
                    what=what,
                    on_retry=lambda: release_catalog_locks(self.con),
                )
        except (duckdb.Error, OSError) as exc:
            refused = write_refusal(exc, layer=ref.layer, table=ref.display)
            if refused is not None:
                raise refused from None
            raise


def _route_protected(ws: Workspace, ref: names.TableRef) -> names.TableRef:
    """A write to a confidential table goes to its own DuckLake (workspace.lake.protected)."""
    if ref.catalog != names.LAKE:
        return ref
    alias = protected.write_alias(ws.con, ws.settings, ref.display)
    return ref if alias is None else names.TableRef(alias, ref.schema, ref.name)


def _is_dask(data: Any) -> bool:
    mod = type(data).__module__
    return mod.startswith("dask.") or mod.startswith("dask_expr")


def connect(
    home: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    user: str | None = None,
    catalog: str | None = None,
) -> Workspace:
    """Open the workspace: the shared lake plus your sandbox, on one DuckDB connection.

    Parameters
    ----------
    home:
        Workspace folder; default ``$WORKSPACE_HOME``, else ``~/analytics-workspace``.
        A home that does not exist yet is initialised.
    read_only:
        Attach the lake read-only (for report readers, dashboards).
    user:
        Whose sandbox to attach; default ``$WORKSPACE_USER``, ``$JUPYTERHUB_USER``, OS user.
    catalog:
        Catalog URL, overriding ``$WORKSPACE_CATALOG``.

    Examples
    --------
    >>> import workspace
    >>> ws = workspace.connect()  # doctest: +SKIP
    >>> ws.table("gold.revenue_by_nation").head()  # doctest: +SKIP
    """
    settings = Settings.resolve(home, catalog=catalog, user=user)
    return Workspace(settings, read_only=read_only)


__all__ = ["Workspace", "WorkspaceError", "connect"]
