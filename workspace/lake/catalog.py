"""The catalog API: list, search, describe, preview, profile and annotate tables.

Results are pydantic models, so front ends (the Lab extension's REST API, the CLI) can
serialise them with ``model_dump(mode="json")``.
"""

from __future__ import annotations

import builtins
import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import BaseModel

from workspace.lake import metadata as ann
from workspace.lake import names, profile, snapshots
from workspace.lake.engine import LAYERS
from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    from workspace.lake.workspace import Workspace


class TableSummary(BaseModel):
    """One row of :meth:`Catalog.list`."""

    name: str
    layer: str
    description: str | None
    owner: str | None
    tags: list[str]
    classification: str


class ColumnInfo(BaseModel):
    """A column in :class:`TableDescription`."""

    name: str
    type: str
    nullable: bool
    description: str | None = None
    pii: bool = False


class TableDescription(BaseModel):
    """Everything known about a table (:meth:`Catalog.describe`)."""

    name: str
    layer: str
    columns: list[ColumnInfo]
    row_count: int
    size_bytes: int
    file_count: int
    snapshots: list[snapshots.Snapshot]
    created: dt.datetime | None
    last_modified: dt.datetime | None
    owner: str | None
    description: str | None
    tags: list[str]
    classification: str

    @property
    def pii_columns(self) -> list[str]:
        """Names of the columns flagged as personal data."""
        return [c.name for c in self.columns if c.pii]


class SearchHit(BaseModel):
    """A table found by :meth:`Catalog.search`, with where the text matched."""

    name: str
    layer: str
    description: str | None
    matched: list[str]
    score: int


class Catalog:
    """Browse the lake's tables. Reached as ``ws.catalog``.

    Examples
    --------
    >>> [t.name for t in ws.catalog.list(layer="gold")]  # doctest: +SKIP
    ['gold.customer_segments', 'gold.revenue_by_nation_month']
    >>> ws.catalog.search("phone")[0].matched  # doctest: +SKIP
    ['column c_phone']
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    # -- helpers ------------------------------------------------------------------------
    @property
    def _con(self) -> Any:
        return self._ws.con

    def _annotations(self) -> dict[tuple[str, str], ann.TableAnnotation]:
        out: dict[tuple[str, str], ann.TableAnnotation] = {}
        for catalog in ("lake", "sandbox"):
            for key, value in ann.load_all(self._con, catalog).items():
                out[(catalog, key)] = value
        return out

    # -- browsing -----------------------------------------------------------------------
    def list(self, layer: str | None = None, like: str | None = None) -> list[TableSummary]:
        """Tables, optionally of one layer and whose name contains ``like`` (``%``/``_`` work).

        Parameters
        ----------
        layer:
            ``bronze``, ``silver``, ``gold`` or ``sandbox``.
        like:
            A case-insensitive SQL LIKE pattern on the table name; plain text means
            "contains".
        """
        valid = (*LAYERS, "sandbox")
        if layer is not None and layer not in valid:
            raise WorkspaceError(f"Unknown layer {layer!r}; use one of {', '.join(valid)}.")
        notes = self._annotations()
        pattern = None
        if like:
            pattern = like if any(ch in like for ch in "%_") else f"%{like}%"
        out = []
        for ref in names.existing_tables(self._con):
            if layer and ref.layer != layer:
                continue
            if (
                pattern
                and not self._con.execute("SELECT ? ILIKE ?", [ref.name, pattern]).fetchone()[0]
            ):
                continue
            a = notes.get((ref.catalog, f"{ref.schema}.{ref.name}"), ann.TableAnnotation())
            out.append(
                TableSummary(
                    name=ref.display,
                    layer=ref.layer,
                    description=a.description,
                    owner=a.owner,
                    tags=a.tags,
                    classification=a.classification,
                )
            )
        return out

    def search(self, text: str) -> builtins.list[SearchHit]:
        """Tables whose name, description, column names or tags contain every word of ``text``.

        Results are ranked: name matches first, then tags, descriptions and columns.
        """
        words = [w.lower() for w in str(text).split() if w.strip()]
        if not words:
            raise WorkspaceError("search text is empty; type part of a table or column name")
        notes = self._annotations()
        cols = self._con.execute(
            "SELECT database_name, schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE database_name IN ('lake', 'sandbox')"
        ).fetchall()
        by_table: dict[tuple[str, str, str], list[str]] = {}
        for c, s, t, col in cols:
            by_table.setdefault((c, s, t), []).append(col)
        hits = []
        for ref in names.existing_tables(self._con):
            a = notes.get((ref.catalog, f"{ref.schema}.{ref.name}"), ann.TableAnnotation())
            columns = by_table.get((ref.catalog, ref.schema, ref.name), [])
            matched: list[str] = []
            score = 0
            for word in words:
                found = False
                if word in ref.display.lower():
                    matched.append("name")
                    score += 8
                    found = True
                for tag in a.tags:
                    if word in tag:
                        matched.append(f"tag {tag}")
                        score += 4
                        found = True
                if a.description and word in a.description.lower():
                    matched.append("description")
                    score += 2
                    found = True
                for col in columns:
                    note = a.columns.get(col)
                    if word in col.lower() or (
                        note and note.description and word in note.description.lower()
                    ):
                        matched.append(f"column {col}")
                        score += 1
                        found = True
                if not found:
                    break
            else:
                hits.append(
                    SearchHit(
                        name=ref.display,
                        layer=ref.layer,
                        description=a.description,
                        matched=list(dict.fromkeys(matched)),
                        score=score,
                    )
                )
        return sorted(hits, key=lambda h: (-h.score, h.name))

    def describe(self, name: str) -> TableDescription:
        """Schema, size, snapshots, ownership and classification of a table."""
        ref = self._ws.resolve(name)
        a = ann.load(self._con, ref)
        columns = [
            ColumnInfo(
                name=col,
                type=ctype,
                nullable=nullable == "YES",
                description=a.columns[col].description if col in a.columns else None,
                pii=a.columns[col].pii if col in a.columns else False,
            )
            for col, ctype, nullable, *_ in self._con.execute(f"DESCRIBE {ref.sql}").fetchall()
        ]
        row_count = self._con.execute(f"SELECT count(*) FROM {ref.sql}").fetchone()[0]
        files = self._con.execute(
            "SELECT coalesce(sum(data_file_size_bytes), 0) + "
            "coalesce(sum(delete_file_size_bytes), 0), count(*) "
            "FROM ducklake_list_files(?, ?, schema => ?)",
            [ref.catalog, ref.name, ref.schema],
        ).fetchone()
        snaps = snapshots.history(self._con, ref)
        creator = next((s.author for s in snaps if "created" in s.operations), None)
        return TableDescription(
            name=ref.display,
            layer=ref.layer,
            columns=columns,
            row_count=int(row_count),
            size_bytes=int(files[0]),
            file_count=int(files[1]),
            snapshots=snaps,
            created=snaps[0].time if snaps else None,
            last_modified=snaps[-1].time if snaps else None,
            owner=a.owner or creator,
            description=a.description,
            tags=a.tags,
            classification=a.classification,
        )

    def preview(self, name: str, limit: int = 20) -> pd.DataFrame:
        """The first ``limit`` rows as a pandas DataFrame (only those rows are read)."""
        if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 10_000:
            raise WorkspaceError(f"preview limit must be an integer from 0 to 10000, not {limit!r}")
        ref = self._ws.resolve(name)
        arrow = self._con.execute(f"SELECT * FROM {ref.sql} LIMIT {limit}").fetch_arrow_table()
        return arrow.to_pandas()

    def profile(self, name: str, *, refresh: bool = False) -> profile.TableProfile:
        """Per-column null %, approximate distinct count, min/max/mean and top values.

        Computed in DuckDB and cached per table snapshot: profiling an unchanged table twice
        reads the cache (``.cached`` is then ``True``).
        """
        ref = self._ws.resolve(name)
        snap = snapshots.latest_snapshot_id(self._con, ref)
        return profile.cached(
            self._con,
            ref,
            snap,
            self._ws.settings.cache_path,
            self._ws.settings.user,
            refresh=refresh,
        )

    # -- metadata -----------------------------------------------------------------------
    def annotate(
        self,
        name: str,
        *,
        owner: str | None = None,
        description: str | None = None,
        tags: builtins.list[str] | None = None,
        classification: str | None = None,
        columns: dict[str, dict[str, Any]] | None = None,
    ) -> ann.TableAnnotation:
        """Set metadata on a table; fields left out keep their values.

        Parameters
        ----------
        classification:
            ``public``, ``internal`` (the default), ``confidential`` or ``restricted``.
        columns:
            Per column: ``{"c_phone": {"description": "Phone number", "pii": True}}``.

        Examples
        --------
        >>> ws.catalog.annotate("silver.customers", owner="crm-team",
        ...                     classification="confidential",
        ...                     columns={"phone": {"pii": True}})  # doctest: +SKIP
        """
        if self._ws.read_only:
            raise WorkspaceError(f"Cannot annotate {name!r}: the workspace is read-only.")
        ref = self._ws.resolve(name)
        known = [r[0] for r in self._con.execute(f"DESCRIBE {ref.sql}").fetchall()]
        new = ann.merge(
            ann.load(self._con, ref),
            owner=owner,
            description=description,
            tags=tags,
            classification=classification,
            columns=columns,  # type: ignore[arg-type]
            table=ref.display,
            known_columns=known,
        )
        ann.save(self._con, ref, new, settings=self._ws.settings)
        return new
