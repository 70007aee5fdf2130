"""The result of a SQL cell: a few rows on screen, the whole result one call away.

A :class:`SqlResult` is backed either by a DuckDB temporary table (the default: the result
stays in DuckDB, and showing it fetches only the first rows and the count) or by a DataFrame
already in Python memory (``%%sql -o NAME``). Converting it (:meth:`SqlResult.df`,
:meth:`SqlResult.arrow`) fetches everything.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from workspace.lake.errors import WorkspaceError
from workspace.sql.display import in_kernel, static_html, static_text, widget_bundle
from workspace.sql.formatting import table_formats
from workspace.sql.gridquery import ExportFormat, GridSource, copy_to

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

    from workspace.sql.chart_builder import ChartBuilder
    from workspace.sql.grid import ResultGrid

#: How many results stay materialized in DuckDB. IPython's output history keeps every
#: displayed result alive, so without a cap large results would pile up in memory; older
#: ones are released (their shown rows stay visible; fetching them again needs a re-run).
MAX_LIVE_RESULTS = 20
_LIVE: collections.deque[weakref.ref[SqlResult]] = collections.deque()


def _track(result: SqlResult) -> None:
    _LIVE.append(weakref.ref(result))
    alive = [r for r in _LIVE if r() is not None]
    _LIVE.clear()
    _LIVE.extend(alive)
    while len(_LIVE) > MAX_LIVE_RESULTS:
        oldest = _LIVE.popleft()()
        if oldest is not None:
            oldest.release()


class ResultReleasedError(WorkspaceError):
    """The temporary table behind a result is gone (its connection was closed)."""


def _drop_temp_table(con: duckdb.DuckDBPyConnection, name: str) -> None:
    # The connection may be closed, or in a failed transaction: nothing left to free then.
    with contextlib.suppress(duckdb.Error, RuntimeError):
        con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')


class SqlResult:
    """The last result of a SQL cell, shown as its first rows, row count and elapsed time.

    Parameters
    ----------
    con:
        The DuckDB connection holding the temporary table ``table`` (or ``None``).
    table:
        Name of the temporary table holding the whole result, dropped when this object is
        garbage collected.
    data:
        The whole result already in memory (pyarrow Table or pandas DataFrame), used when
        ``table`` is ``None``.
    row_count, elapsed, statement:
        Number of rows, seconds taken, and the SQL statement that produced the result.
    display_rows:
        How many rows the table view shows.

    Examples
    --------
    >>> from workspace.sql.runner import run_sql
    >>> import duckdb
    >>> r = run_sql(duckdb.connect(), "SELECT range AS i FROM range(1000)")
    >>> r.row_count, r.columns
    (1000, ['i'])
    >>> int(r.df().i.sum())
    499500
    """

    def __init__(
        self,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
        table: str | None = None,
        data: pa.Table | pd.DataFrame | None = None,
        row_count: int,
        columns: list[str],
        elapsed: float,
        statement: str = "",
        display_rows: int = 10,
    ) -> None:
        self._con = con
        self._table = table
        self._data = data
        self.row_count = row_count
        self.columns = columns
        self.elapsed = elapsed
        self.statement = statement
        self.display_rows = display_rows
        self._head_cache: tuple[int, pa.Table] | None = None
        self._protocol_table: pa.Table | None = None
        self._released = False
        self._source: GridSource | None = None
        self._grid: ResultGrid | None = None
        #: Whether a notebook shows the interactive grid (``%config SqlMagic.interactive``).
        self.interactive = True
        if con is not None and table is not None:
            self._finalizer = weakref.finalize(self, _drop_temp_table, con, table)
            _track(self)

    def release(self) -> None:
        """Free the DuckDB memory behind this result; its shown rows stay displayable."""
        if self._table is not None and not self._released:
            self.head()  # keep what is on screen
            for free in self._source.released if self._source is not None else ():
                free()
            self._finalizer()
            self._released = True

    # -- fetching -----------------------------------------------------------------------
    def _check(self) -> None:
        if self._released:
            raise ResultReleasedError(
                f"This SQL result was released to free memory: only the {MAX_LIVE_RESULTS} "
                "most recent results are kept. Run the cell again, or keep results with "
                "%%sql -o NAME."
            )

    def _query(self, sql: str) -> duckdb.DuckDBPyConnection:
        assert self._con is not None
        self._check()
        try:
            return self._con.execute(sql)
        except (duckdb.Error, RuntimeError) as exc:
            raise ResultReleasedError(
                f"This SQL result is no longer available ({exc}). Run the cell again, or "
                "keep results with %%sql -o NAME."
            ) from None

    def head(self, n: int | None = None) -> pa.Table:
        """The first ``n`` rows (default: :attr:`display_rows`) as a pyarrow Table.

        Examples
        --------
        >>> r.head(3).num_rows  # doctest: +SKIP
        3
        """
        n = self.display_rows if n is None else n
        if self._head_cache is not None and self._head_cache[0] == n:
            return self._head_cache[1]
        if self._table is not None:
            out = self._query(f'SELECT * FROM temp.main."{self._table}" LIMIT {int(n)}')
            head = out.fetch_arrow_table()
        elif isinstance(self._data, pa.Table):
            head = self._data.slice(0, n)
        elif self._data is not None:
            head = pa.Table.from_pandas(self._data.head(n), preserve_index=False)
        else:
            head = pa.table({})
        self._head_cache = (n, head)
        return head

    def arrow(self) -> pa.Table:
        """The whole result as a pyarrow Table.

        Examples
        --------
        >>> r.arrow().num_rows  # doctest: +SKIP
        1000
        """
        if self._table is not None:
            return self._query(f'SELECT * FROM temp.main."{self._table}"').fetch_arrow_table()
        if isinstance(self._data, pa.Table):
            return self._data
        if self._data is not None:
            return pa.Table.from_pandas(self._data, preserve_index=False)
        return pa.table({})

    to_arrow = arrow

    def batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        """The whole result as a stream of pyarrow record batches (for exporting).

        Examples
        --------
        >>> sum(b.num_rows for b in r.batches(100))  # doctest: +SKIP
        1000
        """
        if self._table is not None:
            reader = self._query(f'SELECT * FROM temp.main."{self._table}"').fetch_record_batch(
                rows
            )
            yield from reader
        else:
            yield from self.arrow().to_batches(rows)

    def df(self) -> pd.DataFrame:
        """The whole result as a pandas DataFrame.

        Examples
        --------
        >>> r.df().shape  # doctest: +SKIP
        (1000, 1)
        """
        if self._data is not None and not isinstance(self._data, pa.Table):
            return self._data
        if self._table is not None:
            return self._query(f'SELECT * FROM temp.main."{self._table}"').df()
        return self.arrow().to_pandas()

    to_pandas = df

    def pl(self) -> Any:
        """The whole result as a polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self.arrow())

    # -- protocols: Altair, narwhals, pyarrow, pandas -------------------------------------
    def __arrow_c_stream__(self, requested_schema: object | None = None) -> object:
        """Arrow PyCapsule stream: ``pa.table(result)``, ``polars.DataFrame(result)``."""
        return self.arrow().__arrow_c_stream__(requested_schema)

    def __narwhals_dataframe__(self) -> Any:
        """narwhals' hook, so Altair (``alt.Chart(result)``) and narwhals read the result."""
        import narwhals as nw

        if self._protocol_table is None:
            self._protocol_table = self.arrow()
        return nw.from_native(self._protocol_table, eager_only=True)._compliant_frame

    def __len__(self) -> int:
        return self.row_count

    # -- grid, export, charts ----------------------------------------------------------
    def grid_source(self) -> GridSource:
        """Where the interactive grid reads this result (the temporary table, in DuckDB).

        A result held in Python memory (``-o``, ``DESCRIBE``) is registered, without a
        copy, on a private in-memory DuckDB connection.
        """
        if self._source is None:
            formats = table_formats(self.head())
            if self._table is not None and self._con is not None:
                relation = f'temp.main."{self._table}"'
                self._source = GridSource(
                    self._con, relation, formats, self.row_count, check=self._check
                )
            else:
                con, name = _scratch_register(self, self.arrow())
                self._source = GridSource(con, name, formats, self.row_count, has_rowid=False)
        return self._source

    def grid(self) -> ResultGrid:
        """The interactive grid widget over this result (what a notebook shows).

        Examples
        --------
        >>> r.grid().row_count  # doctest: +SKIP
        1000
        """
        if self._grid is None:
            from workspace.sql.grid import ResultGrid

            self._grid = ResultGrid(
                self.grid_source(), summary=self._summary(grid=True), head=self.head()
            )
        return self._grid

    def to_csv(self, path: str | Path) -> Path:
        """Write the whole result as CSV (with a header), streamed by DuckDB.

        Examples
        --------
        >>> r.to_csv("result.csv")  # doctest: +SKIP
        PosixPath('result.csv')
        """
        return self._export(path, "csv")

    def to_parquet(self, path: str | Path) -> Path:
        """Write the whole result as a Parquet file (zstd), streamed by DuckDB.

        Examples
        --------
        >>> r.to_parquet("result.parquet")  # doctest: +SKIP
        PosixPath('result.parquet')
        """
        return self._export(path, "parquet")

    def _export(self, path: str | Path, fmt: ExportFormat) -> Path:
        source = self.grid_source()

        def execute(sql: str, params: object) -> object:
            source.check()
            return source.con.execute(sql)

        return copy_to(execute, f"SELECT * FROM {source.relation}", (), Path(path), fmt)

    def chart(self, **encoding: str) -> alt.Chart:
        """An Altair chart inferred from the column types (see :mod:`workspace.sql.charts`).

        Keywords ``x``, ``y``, ``color`` and ``mark`` override the inferred choice.

        Examples
        --------
        >>> r.chart(x="month", y="revenue")  # doctest: +SKIP
        """
        from workspace.sql.charts import chart_for

        return chart_for(self, **encoding)

    def chart_builder(self) -> ChartBuilder:
        """A widget to pick x, y, colour and mark; it writes the chart's code into a cell."""
        from workspace.sql.chart_builder import ChartBuilder

        return ChartBuilder(self)

    # -- display --------------------------------------------------------------------------
    def _summary(self, *, grid: bool = False) -> str:
        rows = _plural(self.row_count, "row")
        shown = min(self.row_count, self.display_rows)
        more = f" (showing the first {shown})" if shown < self.row_count and not grid else ""
        cols = _plural(len(self.columns), "column")
        return f"{rows}{more} · {cols} · {_fmt_elapsed(self.elapsed)}"

    def __repr__(self) -> str:
        if not self.columns:
            return f"OK · {_fmt_elapsed(self.elapsed)}"
        return static_text(self.head(), self._summary())

    def _repr_html_(self) -> str:
        if not self.columns:
            return f"<div class='ws-sql-result'>OK · {_fmt_elapsed(self.elapsed)}</div>"
        return static_html(self.head(), self._summary())

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, Any]:
        """The grid widget where widgets render, next to the static table (reports, GitHub)."""
        data: dict[str, Any] = {"text/plain": repr(self), "text/html": self._repr_html_()}
        if self.interactive and self.columns and in_kernel():
            data.update(widget_bundle(self.grid()))
        return data


_SCRATCH: list[duckdb.DuckDBPyConnection] = []
_SCRATCH_LOCK = threading.Lock()
_SCRATCH_NAMES = itertools.count(1)


def _scratch_register(owner: object, table: pa.Table) -> tuple[duckdb.DuckDBPyConnection, str]:
    """Register ``table`` on the process' private in-memory connection while ``owner`` lives."""
    with _SCRATCH_LOCK:
        if not _SCRATCH:
            _SCRATCH.append(duckdb.connect())
        con = _SCRATCH[0]
    name = f"_ws_sql_data_{next(_SCRATCH_NAMES)}"
    con.register(name, table)
    weakref.finalize(owner, _unregister, con, name)
    return con, name


def _unregister(con: duckdb.DuckDBPyConnection, name: str) -> None:
    with contextlib.suppress(duckdb.Error, RuntimeError):
        con.unregister(name)


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _fmt_elapsed(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"
