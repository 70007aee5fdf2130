"""Table metadata (owner, description, tags, classification, column notes and PII flags).

Annotations are stored durably *with the lake*: in a DuckLake table
``_workspace.annotations`` of the catalog that holds the table (the shared lake, or the
user's sandbox), so they are versioned, backed up and shared like the data itself.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Literal

import duckdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from workspace.lake.engine import (
    META_SCHEMA,
    first_row,
    release_catalog_locks,
    retry_on_contention,
    transaction,
    write_lock,
)
from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings

Classification = Literal["public", "internal", "confidential", "restricted"]
CLASSIFICATIONS: tuple[str, ...] = ("public", "internal", "confidential", "restricted")
#: The DuckLake table (in META_SCHEMA of each catalog) that holds the annotations.
ANNOTATIONS_TABLE = "annotations"


class ColumnAnnotation(BaseModel):
    """Notes on one column.

    >>> ColumnAnnotation(description="E-mail address", pii=True).pii
    True
    """

    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    pii: bool = False


class TableAnnotation(BaseModel):
    """Everything a person set about a table.

    >>> TableAnnotation(owner="finance", classification="confidential").classification
    'confidential'
    """

    model_config = ConfigDict(extra="forbid")

    owner: str | None = None
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    classification: Classification = "internal"
    columns: dict[str, ColumnAnnotation] = Field(default_factory=dict)

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        out: list[str] = []
        for tag in tags:
            t = str(tag).strip().lower()
            if t and t not in out:
                out.append(t)
        return out


def _meta_table(catalog: str) -> str:
    return f'"{catalog}"."{META_SCHEMA}"."{ANNOTATIONS_TABLE}"'


def _table_exists(con: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    row = first_row(
        con.execute(
            "SELECT 1 FROM duckdb_tables() "
            "WHERE database_name=? AND schema_name=? AND table_name=?",
            [catalog, META_SCHEMA, ANNOTATIONS_TABLE],
        )
    )
    return row is not None


def load_all(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, TableAnnotation]:
    """All annotations of one catalog, keyed by ``schema.table``."""
    if not _table_exists(con, catalog):
        return {}
    rows = con.execute(f"SELECT table_name, doc FROM {_meta_table(catalog)}").fetchall()
    return {name: TableAnnotation.model_validate_json(doc) for name, doc in rows}


def load(con: duckdb.DuckDBPyConnection, ref: TableRef) -> TableAnnotation:
    """The annotation of one table (defaults when none was set)."""
    if not _table_exists(con, ref.catalog):
        return TableAnnotation()
    row = first_row(
        con.execute(
            f"SELECT doc FROM {_meta_table(ref.catalog)} WHERE table_name = ?",
            [f"{ref.schema}.{ref.name}"],
        )
    )
    return TableAnnotation.model_validate_json(row[0]) if row else TableAnnotation()


def merge(
    current: TableAnnotation,
    *,
    owner: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    classification: str | None = None,
    columns: dict[str, dict[str, object] | ColumnAnnotation] | None = None,
    table: str = "",
    known_columns: list[str] | None = None,
) -> TableAnnotation:
    """Apply the given fields on top of ``current``; unspecified fields are kept.

    Raises :class:`WorkspaceError` naming the field for invalid values or unknown columns.
    """
    data = current.model_dump()
    if owner is not None:
        data["owner"] = owner
    if description is not None:
        data["description"] = description
    if tags is not None:
        data["tags"] = tags
    if classification is not None:
        data["classification"] = classification
    if columns:
        unknown = [c for c in columns if known_columns is not None and c not in known_columns]
        if unknown:
            raise WorkspaceError(
                f"Cannot annotate {table}: no column(s) {', '.join(unknown)}. "
                f"Its columns are {', '.join(known_columns or [])}."
            )
        for col, notes in columns.items():
            base = data["columns"].get(col, {})
            update = notes.model_dump() if isinstance(notes, ColumnAnnotation) else dict(notes)
            data["columns"][col] = {**base, **update}
    try:
        return TableAnnotation.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise WorkspaceError(f"Invalid annotation for {table}: {problems}.") from None


def save(
    con: duckdb.DuckDBPyConnection,
    ref: TableRef,
    annotation: TableAnnotation,
    *,
    settings: Settings,
) -> None:
    """Store an annotation as one DuckLake commit (retried when the catalog is busy)."""
    user = settings.user
    key = f"{ref.schema}.{ref.name}"
    doc = annotation.model_dump_json()
    meta = _meta_table(ref.catalog)

    def attempt() -> None:
        with transaction(con, what=f"annotating {ref.display}"):
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {meta} (table_name VARCHAR, doc VARCHAR, "
                "updated_at TIMESTAMP WITH TIME ZONE, updated_by VARCHAR)"
            )
            con.execute(f"DELETE FROM {meta} WHERE table_name = ?", [key])
            con.execute(
                f"INSERT INTO {meta} VALUES (?, ?, ?, ?)",
                [key, doc, dt.datetime.now(dt.UTC), user],
            )
            con.execute(
                f'CALL "{ref.catalog}".set_commit_message(?, ?)',
                [user, f"annotate {ref.display}"],
            )

    with write_lock(settings, ref.catalog, what=f"annotating {ref.display}"):
        retry_on_contention(
            attempt,
            timeout=settings.write_timeout,
            what=f"annotating {ref.display}",
            on_retry=lambda: release_catalog_locks(con),
        )


def to_json(annotation: TableAnnotation) -> str:
    """JSON text of an annotation (for logs and the CLI)."""
    return json.dumps(annotation.model_dump(), indent=2)
