"""A table's contract: its declared checks, validated by pydantic, kept in a YAML file.

Contracts live next to the data: ``$WORKSPACE_HOME/lake/contracts/<layer>.<table>.yaml``, and
``sandboxes/<user>/contracts/sandbox.<table>.yaml`` for sandbox tables. A malformed file raises
:class:`ContractError` naming the file, the field and the fix. Check types: docs/quality.md.

Examples
--------
>>> c = Contract.model_validate({"table": "silver.orders", "key": ["id"],
...     "checks": [{"type": "not_null", "column": "id"}, {"type": "row_count", "min": 1}]})
>>> [k.name for k in c.checks]
['not_null(id)', 'row_count']
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from workspace.lake.errors import WorkspaceError
from workspace.lake.names import TableRef
from workspace.lake.settings import Settings

__all__ = [
    "AcceptedValues",
    "Check",
    "Contract",
    "ContractError",
    "Freshness",
    "NotNull",
    "PythonCheck",
    "Range",
    "Relationships",
    "RowCount",
    "SchemaCheck",
    "SqlCheck",
    "Unique",
    "beside_data",
    "contract_path",
    "load_contract",
    "parse_duration",
    "save_contract",
    "validate_contract",
]

Scalar = int | float | bool | str | dt.date | dt.datetime
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ContractError(WorkspaceError):
    """A contract is malformed or names something that does not exist."""


def parse_duration(value: Any) -> dt.timedelta:
    """A duration from ``"36h"``, ``"1d"``, ``"90m"``, ``"45s"``, ``"2w"``, seconds or ISO 8601.

    >>> parse_duration("36h"), parse_duration(90)
    (datetime.timedelta(days=1, seconds=43200), datetime.timedelta(seconds=90))
    """
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
        from pydantic import TypeAdapter

        try:
            return TypeAdapter(dt.timedelta).validate_python(value)
        except ValidationError:
            pass
    raise ValueError(f"{value!r} is not a duration; write e.g. 36h, 1d, 90m, 45s or 2w")


def _format_duration(value: dt.timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


class _Check(BaseModel):
    """Fields every check has."""

    model_config = ConfigDict(extra="forbid")

    type: str
    name: str = Field("", description="Unique within the contract; a default is derived.")
    severity: Literal["warn", "error"] = Field(
        "error", description="`error` blocks the write (rolled back); `warn` records a finding."
    )
    description: str | None = None

    @model_validator(mode="after")
    def _default_name(self) -> _Check:
        if not self.name:
            self.name = self.default_name()
        return self

    def default_name(self) -> str:
        return self.type

    def columns(self) -> list[str]:
        """The table's columns this check reads (to report missing ones clearly)."""
        return []


class _ColumnCheck(_Check):
    column: str = Field(description="The column checked.")

    def default_name(self) -> str:
        return f"{self.type}({self.column})"

    def columns(self) -> list[str]:
        return [self.column]


class NotNull(_ColumnCheck):
    """No NULL in ``column``."""

    type: Literal["not_null"] = "not_null"


class AcceptedValues(_ColumnCheck):
    """Every non-NULL value of ``column`` is one of ``values``."""

    type: Literal["accepted_values"] = "accepted_values"
    values: list[Scalar] = Field(min_length=1)


class Range(_ColumnCheck):
    """Every non-NULL value of ``column`` is within ``min``..``max`` (inclusive by default)."""

    type: Literal["range"] = "range"
    min: Scalar | None = None
    max: Scalar | None = None
    inclusive: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class Unique(_Check):
    """No two rows share the values of ``columns`` (rows with a NULL in them are ignored)."""

    type: Literal["unique"] = "unique"
    columns_: list[str] = Field(alias="columns", min_length=1)
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("columns_", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def default_name(self) -> str:
        return f"unique({', '.join(self.columns_)})"

    def columns(self) -> list[str]:
        return list(self.columns_)


class RowCount(_Check):
    """The table has between ``min`` and ``max`` rows."""

    type: Literal["row_count"] = "row_count"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _bounds(self) -> RowCount:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class Freshness(_Check):
    """The newest data is at most ``max_age`` old: ``column``'s maximum, else the last commit."""

    type: Literal["freshness"] = "freshness"
    max_age: dt.timedelta
    column: str | None = None

    @field_validator("max_age", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> dt.timedelta:
        return parse_duration(value)

    @field_serializer("max_age")
    def _dump_duration(self, value: dt.timedelta) -> str:
        return _format_duration(value)

    def default_name(self) -> str:
        return f"freshness({self.column})" if self.column else "freshness"

    def columns(self) -> list[str]:
        return [self.column] if self.column else []


class Relationships(_ColumnCheck):
    """Every non-NULL value of ``column`` exists in column ``field`` of table ``to``."""

    type: Literal["relationships"] = "relationships"
    to: str = Field(description="The referenced table, e.g. silver.customers.")
    field: str | None = Field(None, description="Its column; default: the same name.")

    @property
    def target_column(self) -> str:
        return self.field or self.column


class SqlCheck(_Check):
    """A SELECT whose rows are the violations; ``{table}`` stands for the checked table."""

    type: Literal["sql"] = "sql"
    sql: str = Field(min_length=1)

    @model_validator(mode="after")
    def _named(self) -> SqlCheck:
        if self.name == "sql":
            raise ValueError("a sql check needs a name (e.g. name: no_negative_totals)")
        return self


class PythonCheck(_Check):
    """A registered Python function (``@workspace.quality.check``, an entry point or module:fn)."""

    type: Literal["python"] = "python"
    function: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)
    column: str | None = None

    def default_name(self) -> str:
        return self.function.rsplit(":", 1)[-1]

    def columns(self) -> list[str]:
        return [self.column] if self.column else []


class SchemaCheck(_Check):
    """The table has ``columns`` with these types; ``extra_columns: forbid`` allows no others."""

    type: Literal["schema"] = "schema"
    columns_: dict[str, str] = Field(alias="columns", min_length=1)
    extra_columns: Literal["allow", "forbid"] = "allow"
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Check = Annotated[
    NotNull
    | Unique
    | AcceptedValues
    | Range
    | RowCount
    | Freshness
    | Relationships
    | SqlCheck
    | PythonCheck
    | SchemaCheck,
    Field(discriminator="type"),
]
CHECK_TYPES: tuple[str, ...] = (
    "not_null",
    "unique",
    "accepted_values",
    "range",
    "row_count",
    "freshness",
)
CHECK_TYPES += ("relationships", "sql", "python", "schema")


class Contract(BaseModel):
    """A table's contract: who owns it, its example key, and its checks."""

    model_config = ConfigDict(extra="forbid")

    table: str | None = Field(None, description="`layer.table`; must match the file name.")
    description: str | None = None
    owner: str | None = None
    key: list[str] = Field(
        default_factory=list,
        description="Columns that identify a row, shown as examples of violations.",
    )
    checks: list[Check] = Field(default_factory=list)

    @field_validator("key", mode="before")
    @classmethod
    def _key_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _unique_names(self) -> Contract:
        seen: set[str] = set()
        for check in self.checks:
            if check.name in seen:
                raise ValueError(
                    f"two checks are named {check.name!r}; give one of them another name"
                )
            seen.add(check.name)
        return self

    def example_key(self) -> list[str]:
        """The columns that identify a row in examples: ``key``, else the first unique check's."""
        if self.key:
            return list(self.key)
        for check in self.checks:
            if isinstance(check, Unique):
                return check.columns()
        return []

    def to_yaml(self) -> str:
        """The contract as YAML (what :func:`save_contract` writes); defaults are left out."""
        data = self.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["checks"] = []
        for check in self.checks:
            fields = check.model_dump(mode="json", by_alias=True, exclude_defaults=True)
            if fields.get("name") == check.default_name():
                del fields["name"]
            data["checks"].append({"type": check.type, **fields})
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def beside_data(settings: Settings, ref: TableRef) -> Path:
    """The folder next to ``ref``'s data (not in DuckLake's data path): ``lake/`` or the sandbox.

    Whoever may write the table may write there (the OS decides), and everyone who reads the
    table reads it.
    """
    return settings.sandbox_path if ref.layer == "sandbox" else settings.home / "lake"


def contract_path(settings: Settings, ref: TableRef) -> Path:
    """Where the contract of ``ref`` is kept (see the module docstring).

    >>> s = Settings.resolve("/tmp/ws-doc", user="ada")
    >>> contract_path(s, TableRef("lake", "silver", "orders")).as_posix()
    '/tmp/ws-doc/lake/contracts/silver.orders.yaml'
    """
    return beside_data(settings, ref) / "contracts" / f"{ref.display}.yaml"


def load_contract(path: Path, ref: TableRef) -> Contract:
    """Read and validate a contract file; :class:`ContractError` names the file, field and fix."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ContractError(
            f"Contract {path} of {ref.display} is not valid YAML{where}: "
            f"{getattr(exc, 'problem', exc)}. Fix the file's syntax."
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ContractError(
            f"Contract {path} of {ref.display} must be a mapping with `checks:` "
            f"(and optionally table, key, owner, description), not a {type(raw).__name__}."
        )
    contract = validate_contract(raw, source=str(path), table=ref.display)
    if contract.table and contract.table != ref.display:
        raise ContractError(
            f"Contract {path}: field table is {contract.table!r}, but the file is the contract "
            f"of {ref.display}. Fix table: or rename the file."
        )
    return contract


def validate_contract(raw: Any, *, source: str, table: str) -> Contract:
    """``Contract.model_validate`` with errors that name ``source``, the field and the fix."""
    try:
        return Contract.model_validate(raw)
    except ValidationError as exc:
        raise ContractError(_explain(exc, raw, source=source, table=table)) from None


def _explain(exc: ValidationError, raw: Any, *, source: str, table: str) -> str:
    problems = []
    for err in exc.errors()[:3]:
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p in CHECK_TYPES)]
        field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc)
        field = field.replace(".[", "[") or "(top level)"
        if len(loc) >= 2 and loc[0] == "checks" and isinstance(loc[1], int):
            try:
                kind = raw["checks"][loc[1]].get("type")
            except (AttributeError, IndexError, KeyError, TypeError):
                kind = None
            if isinstance(kind, str) and kind in CHECK_TYPES:
                field = field.replace(f"checks[{loc[1]}]", f"checks[{loc[1]}] ({kind})", 1)
        problems.append(f"{field}: {_fix(err, raw)}")
    more = f" (and {len(exc.errors()) - 3} more)" if len(exc.errors()) > 3 else ""
    return f"Contract {source} of {table} is invalid: {'; '.join(problems)}{more}."


def _fix(err: Any, raw: Any) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return f"type must be one of {', '.join(CHECK_TYPES)}"
    if kind == "missing":
        return "is required; add it"
    if kind == "extra_forbidden":
        return "is not a known field; remove it or check its spelling (see docs/quality.md)"
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    return f"{msg} (got {err.get('input')!r})"


def save_contract(path: Path, contract: Contract) -> None:
    """Write a contract file atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(contract.to_yaml(), encoding="utf-8")
    tmp.replace(path)
