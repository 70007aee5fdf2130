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

from workspace.lake import catalog_index, profile, protected, snapshots
from workspace.lake import metadata as ann
from workspace.lake.catalog_index import LAYER_ORDER
from workspace.lake.engine import first_row
from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef

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


class TableItem(TableSummary):
    """A table of a :class:`CatalogPage`: its summary plus where a search matched.

    ``matched`` lists ``"name"``, ``"tag <tag>"``, ``"description"`` and
    ``"column <name>"``; without a search it is empty and ``score`` is 0.
    """

    matched: list[str]
    score: int


class CatalogPage(BaseModel):
    """One page of :meth:`Catalog.page`; ``total`` counts every result, not just this page."""

    total: int
    offset: int
    limit: int
    query: str | None
    tables: list[TableItem]


class LayerInfo(BaseModel):
    """A layer of :meth:`Catalog.layers` and how many tables it holds."""

    name: str
    tables: int
    description: str


#: What each layer is for, in the order the catalog browser shows them.
LAYER_DESCRIPTIONS: dict[str, str] = {
    "bronze": "Raw data as loaded",
    "silver": "Cleaned, conformed",
    "gold": "Business-level marts",
    "sandbox": "Your private tables",
}
#: The largest page :meth:`Catalog.page` returns.
MAX_PAGE_LIMIT = 1000


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
    >>> [t.name for t in ws.catalog.list(layer="gold")]
    ['gold.customer_segments', 'gold.revenue_by_nation_month']
    >>> ws.catalog.search("phone")[0].matched
    ['column phone']

    Listing and searching read an in-memory index of the catalog
    (:mod:`workspace.lake.catalog_index`), refreshed whenever anyone commits.
    """

    def __init__(self, ws: Workspace) -> None:
        self._ws = ws
        self._reader: catalog_index.IndexReader | None = None

    # -- helpers ------------------------------------------------------------------------
    @property
    def _con(self) -> Any:
        return self._ws.con

    def _index(self) -> catalog_index.CatalogIndex:
        if self._reader is None:
            self._reader = catalog_index.IndexReader(self._con, self._ws.settings)
        return self._reader.index()

    @staticmethod
    def _check_layer(layer: str | None) -> None:
        if layer is not None and layer not in LAYER_ORDER:
            raise WorkspaceError(f"Unknown layer {layer!r}; use one of {', '.join(LAYER_ORDER)}.")

    @staticmethod
    def _summary(entry: catalog_index.Entry) -> dict[str, Any]:
        a = entry.annotation
        return {
            "name": entry.display,
            "layer": entry.layer,
            "description": a.description,
            "owner": a.owner,
            "tags": builtins.list(a.tags),
            "classification": a.classification,
        }

    # -- browsing -----------------------------------------------------------------------
    def layers(self) -> builtins.list[LayerInfo]:
        """The layers, in the order bronze, silver, gold, sandbox, with their table counts.

        Examples
        --------
        >>> [(layer.name, layer.tables) for layer in ws.catalog.layers()]
        [('bronze', 0), ('silver', 1), ('gold', 2), ('sandbox', 0)]
        """
        index = self._index()
        return [
            LayerInfo(name=name, tables=len(index.entries(name)), description=text)
            for name, text in LAYER_DESCRIPTIONS.items()
        ]

    def page(
        self,
        layer: str | None = None,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> CatalogPage:
        """One page of tables: all of them sorted by name, or the matches of a search.

        Parameters
        ----------
        layer:
            Only tables of ``bronze``, ``silver``, ``gold`` or ``sandbox``.
        query:
            Search text: every word must occur (case-insensitively) in the name, a tag,
            the description, a column name or a column description; results are ranked
            as in :meth:`search`. Blank text means no search.
        offset, limit:
            Which slice of the results to return; ``limit`` is at most 1000
            (0 returns only the ``total``).

        Examples
        --------
        >>> p = ws.catalog.page(query="phone", limit=10)
        >>> p.total, p.tables[0].name, p.tables[0].matched
        (1, 'silver.customers', ['column phone'])
        """
        for what, value, top in (("offset", offset, None), ("limit", limit, MAX_PAGE_LIMIT)):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < 0
                or (top is not None and value > top)
            ):
                bound = f"from 0 to {top}" if top is not None else "of 0 or more"
                raise WorkspaceError(
                    f"catalog page {what} must be an integer {bound}, not {value!r}."
                )
        self._check_layer(layer)
        words = catalog_index.search_words(query) if query is not None else []
        index = self._index()
        if not words:
            entries = index.entries(layer)
            return CatalogPage(
                total=len(entries),
                offset=offset,
                limit=limit,
                query=None,
                tables=[
                    TableItem(**self._summary(e), matched=[], score=0)
                    for e in entries[offset : offset + limit]
                ],
            )
        hits = index.search(words, layer)
        return CatalogPage(
            total=len(hits),
            offset=offset,
            limit=limit,
            query=query,
            tables=[
                TableItem(**self._summary(e), matched=e.matched(words), score=score)
                for e, score in hits[offset : offset + limit]
            ],
        )

    def list(
        self, layer: str | None = None, like: str | None = None
    ) -> builtins.list[TableSummary]:
        """Tables, optionally of one layer and whose name contains ``like`` (``%``/``_`` work).

        Sorted by catalog (lake, then sandbox), layer and name. For large lakes, prefer
        :meth:`page`, which returns one page at a time.

        Parameters
        ----------
        layer:
            ``bronze``, ``silver``, ``gold`` or ``sandbox``.
        like:
            A case-insensitive SQL LIKE pattern on the table name; plain text means
            "contains".
        """
        self._check_layer(layer)
        pattern = catalog_index.like_regex(like) if like else None
        return [
            TableSummary(**self._summary(e))
            for e in self._index().by_catalog
            if (layer is None or e.layer == layer)
            and (pattern is None or pattern.fullmatch(e.ref.name))
        ]

    def search(self, text: str) -> builtins.list[SearchHit]:
        """Tables whose name, description, column names or tags contain every word of ``text``.

        Results are ranked: name matches first, then tags, descriptions and columns.
        """
        words = catalog_index.search_words(text)
        if not words:
            raise WorkspaceError("search text is empty; type part of a table or column name")
        return [
            SearchHit(
                name=e.display,
                layer=e.layer,
                description=e.annotation.description,
                matched=e.matched(words),
                score=score,
            )
            for e, score in self._index().search(words)
        ]

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
        counted = first_row(self._con.execute(f"SELECT count(*) FROM {ref.sql}"))
        row_count = counted[0] if counted else 0
        data = self._ws._data_ref(ref)  # a confidential table: its files are in its own lake
        files = first_row(
            self._con.execute(
                "SELECT coalesce(sum(data_file_size_bytes), 0) + "
                "coalesce(sum(delete_file_size_bytes), 0), count(*) "
                "FROM ducklake_list_files(?, ?, schema => ?)",
                [data.catalog, data.name, data.schema],
            )
        ) or (0, 0)
        snaps = snapshots.history(self._con, data)
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
        alias = protected.attached_alias(self._con, self._ws.settings, ref.display)
        if alias is not None:  # a confidential table: its own snapshots, a private cache only
            ref = TableRef(alias, ref.schema, ref.name)
            private = self._ws.settings.sandbox_path / "cache"
            snap = snapshots.latest_snapshot_id(self._con, ref)
            return profile.cached(
                self._con, ref, snap, private, self._ws.settings.user, refresh=refresh
            )
        snap = snapshots.latest_snapshot_id(self._con, ref)
        return profile.cached(
            self._con,
            ref,
            snap,
            self._ws.settings.cache_path,
            self._ws.settings.user,
            refresh=refresh,
            personal_dir=self._ws.settings.sandbox_path / "cache",
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
        ...                     columns={"phone": {"pii": True}}).classification
        'confidential'
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
