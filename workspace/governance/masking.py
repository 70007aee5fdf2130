"""Masked projections: a confidential table's rows with its PII columns masked, per column tag.

A column tagged PII by ``workspace classify TABLE --pii COLUMN[:MASK]`` is masked with
``hash`` (the default: salted SHA-256, so joins still work), ``redact``, ``partial`` or
``generalise``. :func:`masked_select` builds the projection's SQL; the salt reaches DuckDB as
a session variable, never in SQL text. The masks: docs/governance.md, "Module notes".
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from workspace.lake.errors import WorkspaceError
from workspace.lake.protected import protected_dir
from workspace.lake.settings import Settings

MASKS = ("hash", "redact", "partial", "generalise")
DEFAULT_MASK = "hash"
SALT_FILE = ".mask-salt"
#: The DuckDB variable the salt is set in while a projection is written.
SALT_VARIABLE = "workspace_mask_salt"
_TEMPORAL = ("DATE", "TIMESTAMP")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")  # fmt: skip


class MaskingError(WorkspaceError, ValueError):
    """A PII tag that cannot be applied (unknown mask, missing column, wrong type)."""


def parse_pii(specs: list[str] | None) -> dict[str, str]:
    """``["name", "phone:partial"]`` -> ``{"name": "hash", "phone": "partial"}``.

    Examples
    --------
    >>> parse_pii(["name", "phone:partial", "birth_date:generalise"])
    {'name': 'hash', 'phone': 'partial', 'birth_date': 'generalise'}
    >>> parse_pii(["phone:blur"])
    Traceback (most recent call last):
    ...
    workspace.governance.masking.MaskingError: Unknown mask 'blur' for column phone: use one of hash, redact, partial, generalise.
    """  # noqa: E501
    out: dict[str, str] = {}
    for spec in specs or []:
        column, _, mask = spec.partition(":")
        mask = mask or DEFAULT_MASK
        if mask not in MASKS:
            raise MaskingError(
                f"Unknown mask {mask!r} for column {column}: use one of {', '.join(MASKS)}."
            )
        out[column.strip()] = mask
    return out


def salt(settings: Settings) -> str:
    """The deployment's masking salt, created (0600, this account) on first use.

    Only root and the runner account (a POSIX ACL) can read it; users cannot, so they cannot
    reverse a hash by hashing guesses.
    """
    path = protected_dir(settings) / SALT_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(value + "\n")
    return value


def salt_path(settings: Settings) -> Path:
    """Where :func:`salt` keeps the salt."""
    return protected_dir(settings) / SALT_FILE


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def mask_expression(column: str, dtype: str, mask: str) -> str:
    """The SQL expression masking one column (aliased to the column's name).

    Examples
    --------
    >>> import duckdb
    >>> duckdb.sql("SELECT " + mask_expression("phone", "VARCHAR", "partial")
    ...            + " FROM (SELECT '555-0199' AS phone)").fetchone()
    ('****0199',)
    >>> duckdb.sql("SELECT " + mask_expression("age", "INTEGER", "generalise")
    ...            + " FROM (SELECT 37 AS age)").fetchone()
    ('30-39',)
    """
    col = _ident(column)
    text = f"CAST({col} AS VARCHAR)"
    upper = dtype.upper()
    if mask == "hash":
        expr = f"left(sha256(getvariable('{SALT_VARIABLE}') || {text}), 32)"
        expr = f"CASE WHEN {col} IS NULL THEN NULL ELSE {expr} END"
    elif mask == "redact":
        expr = f"CASE WHEN {col} IS NULL THEN NULL ELSE '[redacted]' END"
    elif mask == "partial":
        expr = (
            f"CASE WHEN {col} IS NULL THEN NULL ELSE repeat('*', greatest(length({text}) - 4, 0))"
            f" || right({text}, 4) END"
        )
    elif mask == "generalise":
        if upper.startswith(_TEMPORAL):
            expr = f"CAST(date_trunc('month', {col}) AS DATE)"
        elif upper.startswith(_NUMERIC):
            low = f"CAST(floor({col} / 10) * 10 AS BIGINT)"
            expr = f"CAST({low} AS VARCHAR) || '-' || CAST({low} + 9 AS VARCHAR)"
        else:
            raise MaskingError(
                f"Cannot generalise column {column} of type {dtype}: generalise takes dates, "
                "timestamps and numbers; use hash, redact or partial for it."
            )
    else:
        raise MaskingError(f"Unknown mask {mask!r}: use one of {', '.join(MASKS)}.")
    return f"{expr} AS {col}"


def masked_select(source: str, columns: list[tuple[str, str]], pii: dict[str, str]) -> str:
    """``SELECT`` over ``source`` (a quoted table) with the ``pii`` columns masked.

    Examples
    --------
    >>> masked_select('"t"', [("id", "INTEGER"), ("name", "VARCHAR")], {"name": "redact"})
    'SELECT "id", CASE WHEN "name" IS NULL THEN NULL ELSE \\'[redacted]\\' END AS "name" FROM "t"'
    """
    names = {c for c, _ in columns}
    missing = sorted(set(pii) - names)
    if missing:
        raise MaskingError(
            f"PII column(s) {', '.join(missing)} not in the table "
            f"(it has {', '.join(sorted(names))})."
        )
    parts = [mask_expression(c, t, pii[c]) if c in pii else _ident(c) for c, t in columns]
    return f"SELECT {', '.join(parts)} FROM {source}"
