"""Turning DuckDB errors into messages people can act on (shared by ``ws.sql`` and ``%%sql``)."""

from __future__ import annotations

import re

import duckdb

#: DuckDB's "did you mean" hints that point at system catalogs, not at the user's tables.
_SYSTEM_HINT = re.compile(r'\nDid you mean "(?:pg_|duckdb_|sqlite_|information_schema)[^"]*"\?')
_LINE = re.compile(r"LINE (\d+):")
TABLES_HINT = "List the tables you can query with ws.catalog.list() (or `workspace tables`)."


def clean_message(exc: duckdb.Error, *, line_shift: int = 0, hidden_prefix: str = "") -> str:
    """DuckDB's message without noise, plus what to do next for unknown tables.

    Parameters
    ----------
    line_shift:
        Lines a wrapper added before the user's SQL: ``LINE n`` is reported as ``n - shift``.
    hidden_prefix:
        Text a wrapper put before the user's SQL on its first line (ibis's ``DESCRIBE``):
        removed from the echoed line, and the caret under it moved back.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> try:
    ...     con.execute("DESCRIBE selec 1")
    ... except duckdb.Error as exc:
    ...     print(clean_message(exc, hidden_prefix="DESCRIBE "))
    Parser Error: syntax error at or near "1"
    <BLANKLINE>
    LINE 1: selec 1
                  ^
    """
    text = _SYSTEM_HINT.sub("", str(exc).strip())
    if line_shift:
        text = _LINE.sub(lambda m: f"LINE {max(1, int(m.group(1)) - line_shift)}:", text)
    if hidden_prefix:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            head, sep, rest = line.partition(": ")
            if head.startswith("LINE ") and sep and rest.startswith(hidden_prefix):
                lines[i] = f"{head}: {rest[len(hidden_prefix) :]}"
                caret = lines[i + 1] if i + 1 < len(lines) else ""
                if caret.strip() == "^" and caret.startswith(" " * len(hidden_prefix)):
                    lines[i + 1] = caret[len(hidden_prefix) :]
                break
        text = "\n".join(lines)
    if isinstance(exc, duckdb.CatalogException) and "does not exist" in text.partition("\n")[0]:
        text += "\n" + TABLES_HINT
    return text
