"""Formatting SQL cells ("Format SQL" in the Lab): sqlglot's pretty printer, checked by DuckDB.

:func:`format_sql` formats each statement with sqlglot (DuckDB dialect: keywords upper
case, functions lower case, one clause per line, two-space indents) and keeps a statement
as it was written when sqlglot does not know its syntax (it would only echo it) or when
DuckDB's own parser does not accept the result, so formatting never breaks a cell that
runs. ``$name`` parameters stay parameters; ``--`` comments become ``/* */`` comments at
the place sqlglot attaches them.
"""

from __future__ import annotations

import duckdb

from workspace.lake.errors import WorkspaceError


class SqlFormatError(WorkspaceError):
    """The SQL could not be formatted (it does not parse)."""


def format_sql(sql: str) -> str:
    """``sql`` formatted, statement by statement, ending with ``;`` where it did.

    Examples
    --------
    >>> print(format_sql("select a, count(*) n from gold.orders where a > $min group by all"))
    SELECT
      a,
      count(*) AS n
    FROM gold.orders
    WHERE
      a > $min
    GROUP BY ALL
    >>> format_sql("select 1; select 2;")
    'SELECT\\n  1;\\n\\nSELECT\\n  2;'
    """
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, TokenError

    text = sql.strip()
    if not text:
        return sql
    try:
        trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    except (ParseError, TokenError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SqlFormatError(
            f"Cannot format the SQL: it does not parse ({first}). Fix the syntax first; "
            "running the cell shows DuckDB's error with its line."
        ) from None
    originals = _statement_texts(text, len(trees))
    out = []
    for i, tree in enumerate(trees):
        original = originals[i] if originals else None
        if isinstance(tree, exp.Command) and original is not None:
            out.append(original)  # syntax sqlglot does not model: leave it as written
            continue
        pretty = tree.sql(dialect="duckdb", pretty=True, normalize_functions="lower")
        if original is not None and not _duckdb_parses(pretty):
            pretty = original
        out.append(pretty)
    ending = ";" if text.endswith(";") else ""
    return ";\n\n".join(out) + ending


def _statement_texts(sql: str, count: int) -> list[str] | None:
    """The statements as written, when DuckDB splits ``sql`` into ``count`` of them."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error:
        return None
    if len(statements) != count:
        return None
    texts = []
    for statement in statements:
        try:
            texts.append(statement.query.strip().rstrip(";").strip())
        except (IndexError, RuntimeError):  # statements DuckDB expanded (PIVOT)
            return None
    return texts


def _duckdb_parses(sql: str) -> bool:
    try:
        return len(duckdb.extract_statements(sql)) == 1
    except duckdb.Error:
        return False


__all__ = ["SqlFormatError", "format_sql"]
