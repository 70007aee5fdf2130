"""Turning DuckDB errors into messages people can act on (shared by ``ws.sql`` and ``%%sql``)."""

from __future__ import annotations

import re

import duckdb

from workspace.lake.errors import WriteRefusedError

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
    denied = _PROTECTED.search(text.partition("\n")[0])
    if denied:  # the lake's view of a confidential table this account has no grant on
        return str(_denied(denied.group(1)))
    if isinstance(exc, duckdb.CatalogException) and "does not exist" in text.partition("\n")[0]:
        text += "\n" + TABLES_HINT
    return text


#: A protected catalog's alias that is not attached (see workspace.lake.protected).
_PROTECTED = re.compile(r'Catalog "(protected_\w+)" does not exist')


def _denied(alias: str) -> Exception:
    from workspace.lake import protected
    from workspace.lake.settings import Settings

    table = protected.table_of_alias(alias) or alias
    try:
        entry = protected.read_index(Settings.resolve()).get(table)
    except Exception:  # the message must come out whatever the environment
        entry = None
    return protected.AccessDeniedError(table, entry.tier if entry else "confidential")


# -- the OS refused a write ------------------------------------------------------------------
#: Texts of errors meaning "this account may not write that file" (DuckDB, SQLite, the OS).
_REFUSAL_MARKERS = (
    "readonly database",  # SQLite: the catalog file is not writable by this account
    "read-only file system",
    "permission denied",
    "operation not permitted",
)
#: The table a data-changing statement targets (for naming its layer in the message).
_TARGET = re.compile(
    r"""^\s*(?:
        INSERT\s+(?:OR\s+\w+\s+)?INTO
      | UPDATE
      | DELETE\s+FROM
      | TRUNCATE(?:\s+TABLE)?
      | MERGE\s+INTO
      | COPY
      | CREATE\s+(?:OR\s+REPLACE\s+)?(?:TABLE|VIEW)(?:\s+IF\s+NOT\s+EXISTS)?
      | DROP\s+(?:TABLE|VIEW)(?:\s+IF\s+EXISTS)?
      | ALTER\s+TABLE
    )\s+(?P<name>[\w."]+)""",
    re.I | re.X,
)
SHARED_LAYERS = ("bronze", "silver", "gold")


def is_write_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is the OS refusing this account a write (not a bug, not contention).

    Examples
    --------
    >>> is_write_refusal(PermissionError(13, "Permission denied"))
    True
    >>> is_write_refusal(duckdb.IOException("attempt to write a readonly database"))
    True
    >>> is_write_refusal(duckdb.CatalogException("Table x does not exist"))
    False
    """
    if isinstance(exc, PermissionError):
        return True
    if isinstance(exc, OSError):
        return exc.errno == 30  # EROFS
    if not isinstance(exc, duckdb.Error):
        return False
    text = str(exc).lower()
    return any(marker in text for marker in _REFUSAL_MARKERS)


def statement_target(sql: str | None) -> tuple[str, str] | None:
    """The layer and table (``layer.name``) a data-changing statement writes, when it names
    a layer.

    Examples
    --------
    >>> statement_target("DELETE FROM gold.sales WHERE x = 1")
    ('gold', 'gold.sales')
    >>> statement_target('insert into lake."silver".orders select 1')
    ('silver', 'silver.orders')
    >>> statement_target("CREATE TABLE scratch AS SELECT 1") is None
    True
    """
    match = _TARGET.match(sql or "")
    if match is None:
        return None
    parts = [p.strip('"') for p in match.group("name").split(".")]
    lower = [p.lower() for p in parts]
    layer = None
    if len(parts) >= 2 and lower[-2] in (*SHARED_LAYERS, "sandbox"):
        layer = lower[-2]
    elif len(parts) >= 2 and lower[0] == "sandbox":
        layer = "sandbox"
    return None if layer is None else (layer, f"{layer}.{parts[-1]}")


def write_refusal(
    exc: BaseException, *, layer: str | None = None, table: str | None = None
) -> WriteRefusedError | None:
    """The one-line error for a write the OS refused, or ``None`` if ``exc`` is another error.

    Parameters
    ----------
    layer:
        The layer written (``silver``, ``sandbox``), when known.
    table:
        The table written, as users name it (``silver.orders``), when known.

    Examples
    --------
    >>> print(write_refusal(PermissionError(13, "denied"), layer="silver", table="silver.x"))
    ... # doctest: +NORMALIZE_WHITESPACE
    silver is written by pipelines: your account cannot change silver.x. Write to your
    sandbox instead (ws.write('sandbox.x', df) or CREATE TABLE sandbox.x AS ...), or
    promote a notebook into a pipeline (Schedule this notebook, or `workspace promote`).
    """
    if not is_write_refusal(exc):
        return None
    short = (table or "x").split(".")[-1]
    what = f" {table}" if table else ""
    if layer == "sandbox":
        return WriteRefusedError(
            f"Cannot write{what or ' to your sandbox'}: your account may not write your "
            f"sandbox's files ({_os_reason(exc)}). Ask an admin to give your account back "
            "its sandbox folder."
        )
    target = table or "the shared lake"
    who = f"{layer} is" if layer in SHARED_LAYERS else "The shared lake (bronze, silver, gold) is"
    return WriteRefusedError(
        f"{who} written by pipelines: your account cannot change {target}. Write to your "
        f"sandbox instead (ws.write('sandbox.{short}', df) or CREATE TABLE sandbox.{short} "
        "AS ...), or promote a notebook into a pipeline (Schedule this notebook, or "
        "`workspace promote`)."
    )


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
