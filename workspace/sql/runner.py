"""Running a SQL cell: split statements, bind ``$name`` parameters, execute, keep the result.

This is the one code path shared by the ``%%sql`` magic and the ``workspace sql`` command.
Python values are always bound as query parameters, never pasted into the SQL text.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from workspace.lake.engine import first_row, is_contention, release_catalog_locks
from workspace.lake.errors import QueryError
from workspace.lake.sqlerrors import clean_message, statement_target, write_refusal
from workspace.sql.result import SqlResult

Output = Literal["duckdb", "pandas"]

_TEMP_NAMES = itertools.count(1)
_LINE = re.compile(r"LINE (\d+):")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: (module, class) of objects that can be queried by variable name.
_FRAME_TYPES = (
    ("pandas", "DataFrame"),
    ("polars", "DataFrame"),
    ("polars", "LazyFrame"),
    ("pyarrow", "Table"),
    ("pyarrow", "RecordBatchReader"),
)


@dataclass(frozen=True)
class Statement:
    """One statement of a SQL cell.

    Attributes
    ----------
    index:
        Position in the cell, from 1.
    line:
        Line of the cell where the statement starts (``None`` if DuckDB rewrote it).
    text:
        The statement's SQL, preceded by newlines so that DuckDB's ``LINE n`` in error
        messages counts lines of the whole cell; ``None`` when only ``parsed`` can run it.
    parsed:
        The statement as parsed by DuckDB.
    """

    index: int
    line: int | None
    text: str | None
    parsed: duckdb.Statement

    @property
    def parameters(self) -> set[str]:
        """Names of the ``$name`` parameters the statement uses."""
        return set(self.parsed.named_parameters)

    @property
    def is_query(self) -> bool:
        """Whether the statement is a SELECT (can be materialized as a table)."""
        return self.parsed.type.name == "SELECT"


def parse_statements(sql: str) -> list[Statement]:
    """Split SQL text into statements, raising :class:`QueryError` on a syntax error.

    Examples
    --------
    >>> [(s.index, s.line) for s in parse_statements("SELECT 1;\\n\\nSELECT $x")]
    [(1, 1), (2, 3)]
    """
    try:
        parsed = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(_describe(exc)) from None
    if not parsed:
        raise QueryError("The SQL is empty: write a statement such as SELECT 42.")
    out: list[Statement] = []
    pos = 0
    for i, p in enumerate(parsed, start=1):
        try:
            query: str | None = p.query or None
        except (IndexError, RuntimeError):  # statements DuckDB expanded (PIVOT)
            query = None
        line = text = None
        if query is not None:
            at = sql.find(query, pos)
            text = query
            if at >= 0:
                pos = at + len(query)
                before = sql.count("\n", 0, at)
                text = "\n" * before + query
                line = before + 1 + query[: len(query) - len(query.lstrip())].count("\n")
        out.append(Statement(i, line, text, p))
    return out


def bind_parameters(stmt: Statement, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Values for the statement's ``$name`` parameters, taken from ``variables``.

    Examples
    --------
    >>> (s,) = parse_statements("SELECT $limit_value")
    >>> bind_parameters(s, {"limit_value": 5})
    {'limit_value': 5}
    """
    params: dict[str, Any] = {}
    for name in sorted(stmt.parameters):
        if name.isdigit():
            raise QueryError(
                f"Positional parameters (? or ${name}) are not supported{_where(stmt)}: "
                "use a named parameter such as $min_price bound to a Python variable."
            )
        if name not in variables:
            raise QueryError(
                f"${name} has no value{_where(stmt)}: define a Python variable named "
                f"{name!r} (in a notebook: {name} = ...; with `workspace sql`: "
                f"--param {name}=VALUE)."
            )
        params[name] = variables[name]
    return params


def run_sql(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    *,
    variables: Mapping[str, Any] | None = None,
    output: Output = "duckdb",
    display_rows: int = 10,
    register_frames: bool = True,
) -> SqlResult:
    """Run every statement of ``sql`` and return the result of the last one.

    Parameters
    ----------
    con:
        The DuckDB connection (``ws.con``).
    sql:
        One or more statements separated by ``;``.
    variables:
        Values for ``$name`` parameters and DataFrames queried by name (a notebook's
        namespace). pandas, polars and pyarrow frames referenced as tables are registered
        on the connection for the duration of the call.
    output:
        ``"duckdb"`` keeps the last result in a DuckDB temporary table, so showing it
        fetches only its first rows and count; ``"pandas"`` fetches it whole into a
        pandas DataFrame at once.
    display_rows:
        Rows the result shows.
    register_frames:
        Whether to make DataFrames in ``variables`` queryable by name.

    Examples
    --------
    >>> import duckdb
    >>> r = run_sql(duckdb.connect(), "SELECT $n * 2 AS twice", variables={"n": 21})
    >>> r.df().twice.tolist()
    [42]
    """
    started = time.perf_counter()
    variables = variables or {}
    statements = parse_statements(sql)
    bound = [bind_parameters(s, variables) for s in statements]
    with _registered_frames(con, sql, variables if register_frames else {}):
        for stmt, params in zip(statements[:-1], bound[:-1], strict=True):
            _execute(con, stmt, params, total=len(statements))
        last = statements[-1]
        return _run_last(con, last, bound[-1], len(statements), output, display_rows, started)


def _run_last(
    con: duckdb.DuckDBPyConnection,
    stmt: Statement,
    params: dict[str, Any],
    total: int,
    output: Output,
    display_rows: int,
    started: float,
) -> SqlResult:
    statement = stmt.text.strip() if stmt.text else ""
    common: dict[str, Any] = {"statement": statement, "display_rows": display_rows}
    if output == "duckdb" and stmt.is_query and stmt.text is not None:
        name = f"_ws_sql_result_{next(_TEMP_NAMES)}"
        try:
            # The wrapper sits on a line of its own: DuckDB's "LINE n" is then n - 1 in the cell.
            # CREATE TABLE AS returns the number of rows it stored: the count is free.
            stored = con.execute(f'CREATE TEMP TABLE "{name}" AS\n{stmt.text}', params)
            count_row = first_row(stored)  # read to the end: see first_row
        except duckdb.ParserException:
            pass  # DESCRIBE, SHOW, SUMMARIZE: cannot be wrapped; their results are small
        except duckdb.Error as exc:
            _raise_if_refused(exc, stmt)
            _release_if_busy(con, exc)
            message = _describe(exc, stmt, total, line_shift=1)
            raise QueryError(message, statement=statement, index=stmt.index) from None
        else:
            result = SqlResult(
                con=con,
                table=name,
                row_count=int(count_row[0]) if count_row else 0,
                columns=[],
                elapsed=0.0,
                **common,
            )
            result.columns = result.head().column_names
            result.elapsed = time.perf_counter() - started
            return result
    cur = _execute(con, stmt, params, total=total)
    if cur.description is None:
        return SqlResult(row_count=0, columns=[], elapsed=time.perf_counter() - started, **common)
    data: Any = cur.df() if output == "pandas" else cur.fetch_arrow_table()
    return SqlResult(
        data=data,
        row_count=len(data),
        columns=[str(c) for c in data.columns] if output == "pandas" else data.column_names,
        elapsed=time.perf_counter() - started,
        **common,
    )


def _execute(
    con: duckdb.DuckDBPyConnection, stmt: Statement, params: dict[str, Any], *, total: int
) -> duckdb.DuckDBPyConnection:
    try:
        query: str | duckdb.Statement = stmt.text if stmt.text is not None else stmt.parsed
        return con.execute(query, params or None)
    except duckdb.Error as exc:
        _raise_if_refused(exc, stmt)
        _release_if_busy(con, exc)
        raise QueryError(
            _describe(exc, stmt, total), statement=stmt.text, index=stmt.index
        ) from None


def _release_if_busy(con: duckdb.DuckDBPyConnection, exc: duckdb.Error) -> None:
    """A statement failed on a busy catalog: drop the lock DuckDB may have kept (see
    :func:`workspace.lake.engine.release_catalog_locks`), so the next cell and every other
    process can read the lake again."""
    if is_contention(exc):
        with contextlib.suppress(duckdb.Error):
            release_catalog_locks(con)


def _raise_if_refused(exc: duckdb.Error, stmt: Statement) -> None:
    """The OS refused the write (a shared layer): one line saying what to do instead.

    Without it the user sees DuckLake's "attempt to write a readonly database" and a hint
    about ``ducklake_max_retry_count`` that does not apply.
    """
    target = statement_target(stmt.text.strip() if stmt.text else None)
    layer, table = target if target is not None else (None, None)
    refused = write_refusal(exc, layer=layer, table=table)
    if refused is not None:
        raise refused from None


def _is_frame(obj: object) -> bool:
    for module, cls in _FRAME_TYPES:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(obj, getattr(mod, cls, ())):
            return True
    return False


def _referenced_names(sql: str) -> set[str]:
    try:
        return set(duckdb.get_table_names(sql, qualified=False))
    except duckdb.Error:
        return set(_WORD.findall(sql))


@contextmanager
def _registered_frames(
    con: duckdb.DuckDBPyConnection, sql: str, variables: Mapping[str, Any]
) -> Iterator[list[str]]:
    """Register the DataFrames ``sql`` refers to by name; unregister them afterwards."""
    names: list[str] = []
    if variables:
        for name in sorted(_referenced_names(sql)):
            obj = variables.get(name)
            if obj is not None and _is_frame(obj):
                con.register(name, obj)
                names.append(name)
    try:
        yield names
    finally:
        for name in names:
            with contextlib.suppress(duckdb.Error):  # the cell may have closed the connection
                con.unregister(name)


def _where(stmt: Statement | None, total: int = 2) -> str:
    if stmt is None:
        return ""
    line = f", line {stmt.line}" if stmt.line is not None else ""
    return f" (statement {stmt.index}{line})" if total > 1 else ""


def one_line(message: str) -> str:
    """A multi-line DuckDB error as one line (for terminals): caret lines are dropped.

    Examples
    --------
    >>> one_line("Parser Error: syntax error\\n\\nLINE 1: selec 1\\n        ^")
    'Parser Error: syntax error [LINE 1: selec 1]'
    """
    parts: list[str] = []
    for raw in message.splitlines():
        line = raw.strip()
        if not line or set(line) == {"^"}:
            continue
        parts.append(f"[{line}]" if _LINE.match(line) else line)
    return " ".join(parts)


def _describe(
    exc: duckdb.Error, stmt: Statement | None = None, total: int = 1, *, line_shift: int = 0
) -> str:
    """One message: DuckDB's error, where it happened, and what to do next."""
    first, _, rest = clean_message(exc, line_shift=line_shift).partition("\n")
    message = first + _where(stmt, total)
    if rest.strip():
        message += "\n" + rest.strip("\n")
    return message


__all__ = ["Output", "Statement", "bind_parameters", "one_line", "parse_statements", "run_sql"]
