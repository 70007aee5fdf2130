"""The interactive result grid: an anywidget whose rows stay in DuckDB.

A ``%%sql`` result (and an ibis table such as ``ws.table("gold.revenue")`` shown as a cell's
value) is displayed as :class:`ResultGrid`. The widget's state carries the columns (name,
DuckDB type, :class:`~workspace.sql.formatting.ColumnFormat`) and the first page only; the
browser side (``grid_frontend/grid.js``, shipped in the package) asks for every other page,
sort, filter, the header histograms, a copy or a download with anywidget custom messages,
answered by :class:`~workspace.sql.gridquery.GridData` in DuckDB.

The cell's output also carries the static table as ``text/html``, so nbconvert, reports and
GitHub show today's table where widgets cannot render.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Literal

import anywidget
import pyarrow as pa
import traitlets
from pydantic import BaseModel, Field, ValidationError

from workspace.lake.errors import WorkspaceError
from workspace.sql.gridquery import GridData, GridSource, SortKey, stream_file

FRONTEND = Path(__file__).parent / "grid_frontend"
#: Rows per page request (the browser keeps a few pages around the visible rows).
PAGE_ROWS = 100
_MIME = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


class _Sort(BaseModel):
    column: str
    descending: bool = False


class GridRequest(BaseModel):
    """A message from the grid's browser side."""

    kind: Literal["rows", "stats", "copy", "export"]
    request: int = 0
    offset: int = Field(0, ge=0)
    limit: int = Field(PAGE_ROWS, ge=0, le=1000)
    sort: list[_Sort] = []
    filters: dict[str, str] = {}
    format: Literal["csv", "parquet"] = "csv"

    @property
    def sort_keys(self) -> list[SortKey]:
        return [SortKey(s.column, s.descending) for s in self.sort]


Reply = tuple[dict[str, Any], list[bytes]]


class ResultGrid(anywidget.AnyWidget):
    """A scrollable, sortable, filterable view of a result that stays in DuckDB.

    Parameters
    ----------
    source:
        Where the rows are (:meth:`workspace.sql.SqlResult.grid_source`).
    summary:
        The line above the grid (rows, columns, time taken).

    Examples
    --------
    >>> import duckdb
    >>> from workspace.sql.runner import run_sql
    >>> result = run_sql(duckdb.connect(), "SELECT range AS i FROM range(500)")
    >>> grid = ResultGrid(result.grid_source())
    >>> [reply["total"] for reply, _ in grid.handle({"kind": "rows", "filters": {"i": ">= 490"}})]
    [10]
    """

    # Class-level traits (read once), so that AnyWidget does not add them per instance:
    # adding traits to an instance derives a new class each time (about 1.5 ms a widget).
    _esm = traitlets.Unicode((FRONTEND / "grid.js").read_text(encoding="utf-8")).tag(sync=True)
    _css = traitlets.Unicode((FRONTEND / "grid.css").read_text(encoding="utf-8")).tag(sync=True)
    _anywidget_id = traitlets.Unicode("workspace.sql.grid.ResultGrid").tag(sync=True)

    columns: traitlets.List[dict[str, Any]] = traitlets.List(
        help="Name, DuckDB type and number format of each column."
    ).tag(sync=True)
    row_count = traitlets.Int(0, help="Rows of the whole result.").tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    first_page = traitlets.Dict(help="The first rows, so the grid draws without a request.").tag(
        sync=True
    )
    page_rows = traitlets.Int(PAGE_ROWS).tag(sync=True)

    def __init__(
        self, source: GridSource, *, summary: str = "", head: pa.Table | None = None
    ) -> None:
        self.data = GridData(source)
        if head is not None and head.num_rows >= min(source.row_count, PAGE_ROWS):
            rows = self.data.rows_json(head.slice(0, PAGE_ROWS))  # no query needed
            first = {"offset": 0, "rows": rows, "total": source.row_count}
        else:
            first = self.data.page(0, PAGE_ROWS)
        super().__init__(
            columns=[f.to_json() for f in source.formats],
            row_count=source.row_count,
            summary=summary,
            first_page=first,
        )
        self.on_msg(self._on_msg)

    def add_traits(self, **traits: Any) -> None:
        """Add only traits the class does not define (see ``_esm`` above)."""
        missing = {k: v for k, v in traits.items() if not self.has_trait(k)}
        if missing:
            super().add_traits(**missing)

    def _on_msg(self, _widget: object, content: Any, _buffers: object) -> None:
        for reply, buffers in self.handle(content):
            self.send(reply, buffers or None)

    def handle(self, content: Any) -> list[Reply]:
        """Answer one message of the browser side (the replies it is sent back).

        ``rows`` gives ``offset``/``limit`` rows of the sorted, filtered view and its
        ``total``; ``stats`` the header histograms; ``copy`` tab-separated text; ``export``
        the CSV or Parquet file in chunks (``buffers``), the last one with ``last: true``.
        """
        request = content.get("request", 0) if isinstance(content, dict) else 0
        try:
            req = GridRequest.model_validate(content)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            error = f"The grid sent a message the kernel cannot read ({where}: {first['msg']})."
            return [({"kind": "error", "request": request, "error": error}, [])]
        base: dict[str, Any] = {"kind": req.kind, "request": req.request}
        try:
            if req.kind == "rows":
                page = self.data.page(
                    req.offset, req.limit, sort=req.sort_keys, filters=req.filters
                )
                return [(base | page, [])]
            if req.kind == "stats":
                return [(base | self.data.stats(), [])]
            if req.kind == "copy":
                text = self.data.copy_text(sort=req.sort_keys, filters=req.filters)
                return [(base | {"text": text}, [])]
            return self._export(req, base)
        except WorkspaceError as exc:
            return [(base | {"error": str(exc)}, [])]

    def _export(self, req: GridRequest, base: dict[str, Any]) -> list[Reply]:
        name = f"result.{req.format}"
        with tempfile.TemporaryDirectory(prefix="ws-grid-export-") as tmp:
            path = self.data.export(
                Path(tmp) / name, req.format, sort=req.sort_keys, filters=req.filters
            )
            chunks = list(stream_file(path)) or [b""]
        meta = base | {"filename": name, "mime": _MIME[req.format]}
        return [
            (meta | {"chunk": i, "last": i == len(chunks) - 1}, [chunk])
            for i, chunk in enumerate(chunks)
        ]


__all__ = ["PAGE_ROWS", "GridRequest", "ResultGrid"]
