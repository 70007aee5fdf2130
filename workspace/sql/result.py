"""The result of a SQL cell: a few rows on screen, the whole result one call away.

A :class:`SqlResult` is backed either by a DuckDB temporary table (the default: the result
stays in DuckDB, and showing it fetches only the first rows and the count) or by a DataFrame
already in Python memory (``%%sql -o NAME``). Converting it (:meth:`SqlResult.df`,
:meth:`SqlResult.arrow`) fetches everything.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import html
import math
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from workspace.lake.errors import WorkspaceError

if TYPE_CHECKING:
    import pandas as pd

#: Longest text shown for one value in the plain-text and HTML views.
MAX_CELL_CHARS = 60
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
        if con is not None and table is not None:
            self._finalizer = weakref.finalize(self, _drop_temp_table, con, table)
            _track(self)

    def release(self) -> None:
        """Free the DuckDB memory behind this result; its shown rows stay displayable."""
        if self._table is not None and not self._released:
            self.head()  # keep what is on screen
            self._finalizer()
            self._released = True

    # -- fetching -----------------------------------------------------------------------
    def _query(self, sql: str) -> duckdb.DuckDBPyConnection:
        assert self._con is not None
        if self._released:
            raise ResultReleasedError(
                f"This SQL result was released to free memory: only the {MAX_LIVE_RESULTS} "
                "most recent results are kept. Run the cell again, or keep results with "
                "%%sql -o NAME."
            )
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

    # -- display --------------------------------------------------------------------------
    def _summary(self) -> str:
        rows = _plural(self.row_count, "row")
        shown = min(self.row_count, self.display_rows)
        more = f" (showing the first {shown})" if shown < self.row_count else ""
        cols = _plural(len(self.columns), "column")
        return f"{rows}{more} · {cols} · {_fmt_elapsed(self.elapsed)}"

    def _cells(self) -> list[list[str]]:
        head = self.head()
        cols = [[_fmt_value(v) for v in col.to_pylist()] for col in head.columns]
        return [list(row) for row in zip(*cols, strict=True)] if cols else []

    def __repr__(self) -> str:
        if not self.columns:
            return f"OK · {_fmt_elapsed(self.elapsed)}"
        rows = self._cells()
        widths = [len(c) for c in self.columns]
        for row in rows:
            widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
        lines = [" | ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines.append("-+-".join("-" * w for w in widths))
        lines += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        lines.append(self._summary())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.columns:
            return f"<div class='ws-sql-result'>OK · {_fmt_elapsed(self.elapsed)}</div>"
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in self._cells()
        )
        return (
            "<div class='ws-sql-result'><table class='dataframe'>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<p class='ws-sql-summary'>{esc(self._summary())}</p></div>"
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _fmt_value(value: object) -> str:
    if isinstance(value, float) and math.isfinite(value) and value != 0:
        # Readable, not misleading: 53540803.800000004 -> 53540803.8, 1.5e-09 stays 1.5e-09
        text = (
            f"{value:.6f}".rstrip("0").rstrip(".") if 1e-4 <= abs(value) < 1e15 else f"{value:.6g}"
        )
    elif isinstance(value, dt.datetime) and value.tzinfo is None and value.time() == dt.time():
        text = value.date().isoformat()  # DATE columns that went through pandas
    else:
        text = "NULL" if value is None else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def _fmt_elapsed(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"
