"""The naming standards' model and its checks: what a rule says and which names break it.

A :class:`Standards` holds one :class:`LayerRules` per layer (``bronze``, ``silver``,
``gold``, ``sandbox``) on top of ``defaults``: a :class:`NameRule` each for schema, table and
column names (case style, prefixes, suffixes, maximum length, reserved words, forbidden
abbreviations) and the metadata a table needs (owner, description, column descriptions).
A layer's field replaces the default's field; fields it leaves out keep the default.

:func:`name_violations` checks one name and suggests a compliant one;
:func:`metadata_violations` checks a table's annotation. Both return :class:`Violation`
objects whose ``rule`` is ``<layer>.<schema|table|column>.<check>`` (or
``pii.classification``). Reading the file is :mod:`workspace.governance.standards`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from workspace.lake.errors import WorkspaceError
from workspace.lake.metadata import CLASSIFICATIONS, Classification, TableAnnotation

__all__ = [
    "KINDS",
    "LAYERS",
    "METADATA_CHECKS",
    "CaseStyle",
    "LayerRules",
    "NameRule",
    "Standards",
    "StandardsError",
    "StandardsWarning",
    "Violation",
    "metadata_violations",
    "name_violations",
    "suggest_name",
]

CaseStyle = Literal["snake_case", "camelCase", "PascalCase", "UPPER_SNAKE_CASE", "any"]
Layer = Literal["bronze", "silver", "gold", "sandbox"]
Kind = Literal["schema", "table", "column"]
LAYERS: tuple[str, ...] = ("bronze", "silver", "gold", "sandbox")
KINDS: tuple[str, ...] = ("schema", "table", "column")
#: Last parts of the rules about metadata (the others are about names).
METADATA_CHECKS = frozenset({"owner", "description", "classification"})

_CASES = {
    "snake_case": re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$"),
    "camelCase": re.compile(r"^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$"),
    "PascalCase": re.compile(r"^[A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*$"),
    "UPPER_SNAKE_CASE": re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$"),
}
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])[0-9]*|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
#: Appended to a name that is a reserved word.
_RESERVED_SUFFIX = {"schema": "schema", "table": "table", "column": "value"}


class StandardsError(WorkspaceError):
    """A write or a promotion broke a naming standard, or the standards file is invalid."""


class StandardsWarning(UserWarning):
    """A sandbox write broke a naming standard (sandboxes are never refused)."""


class Violation(BaseModel):
    """One broken rule, on one object, with a fix.

    >>> v = name_violations(Standards(), "silver", "table", "CustomerOrders")[0]
    >>> v.rule, v.object, v.suggestion
    ('silver.table.case', 'silver.CustomerOrders', 'silver.customer_orders')
    >>> v.message
    'silver.CustomerOrders: table names in silver must be snake_case (rule silver.table.case); use silver.customer_orders'
    """  # noqa: E501

    model_config = ConfigDict(frozen=True)

    rule: str
    object: str
    message: str
    suggestion: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """``(rule, object)``: what a baseline remembers."""
        return (self.rule, self.object)

    @property
    def kind(self) -> Literal["name", "metadata"]:
        """``metadata`` for owner, description and classification rules, else ``name``."""
        return "metadata" if self.rule.rsplit(".", 1)[-1] in METADATA_CHECKS else "name"


class NameRule(BaseModel):
    """Rules for one kind of name (schema, table or column) in one layer.

    >>> NameRule(prefixes="dim_").prefixes
    ['dim_']
    """

    model_config = ConfigDict(extra="forbid")

    case: CaseStyle | None = Field(None, description="snake_case, camelCase, PascalCase, ...")
    prefixes: list[str] | None = Field(None, description="The name starts with one of these.")
    suffixes: list[str] | None = Field(None, description="The name ends with one of these.")
    max_length: int | None = Field(None, ge=1, description="At most this many characters.")
    reserved_words: list[str] | None = Field(None, description="Names that may not be used.")
    forbidden_abbreviations: dict[str, str] | None = Field(
        None, description="Abbreviation -> the full word to write instead."
    )

    @field_validator("prefixes", "suffixes", "reserved_words", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("forbidden_abbreviations")
    @classmethod
    def _lower_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return None if value is None else {k.lower(): v for k, v in value.items()}


class LayerRules(BaseModel):
    """The name rules and metadata requirements of one layer (or the defaults)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_names: NameRule = Field(default_factory=NameRule, alias="schema")
    table: NameRule = Field(default_factory=NameRule)
    column: NameRule = Field(default_factory=NameRule)
    require_owner: bool | None = None
    require_description: bool | None = None
    require_column_descriptions: bool | None = None

    def names(self, kind: str) -> NameRule:
        """The rule for ``schema``, ``table`` or ``column`` names."""
        return self.schema_names if kind == "schema" else getattr(self, kind)


class Standards(BaseModel):
    """A team's naming standards (``scheduled/standards.yaml``); the defaults ship with it.

    >>> s = Standards()
    >>> s.rule("silver", "column").case, s.requires("gold", "owner"), s.requires("silver", "owner")
    ('snake_case', True, False)
    """

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    metadata_enforcement: Literal["check", "promote", "write"] = Field(
        "check",
        description="check: only `standards check` fails (promote warns); promote: promote "
        "also refuses; write: writes to existing shared tables are refused too.",
    )
    pii_classification: Classification | None = Field(
        "confidential", description="Lowest tier of a table with a PII column (null: off)."
    )
    defaults: LayerRules = Field(
        default_factory=lambda: LayerRules(
            schema_names=NameRule(case="snake_case"),
            table=NameRule(case="snake_case"),
            column=NameRule(case="snake_case"),
            require_owner=False,
            require_description=False,
            require_column_descriptions=False,
        )
    )
    layers: dict[Layer, LayerRules] = Field(default_factory=lambda: _default_layers())
    accepted: list[str] = Field(
        default_factory=list,
        description="Objects (layer.table, layer.table.column) the rules do not apply to: "
        "names a team keeps on purpose.",
    )
    _rules: dict[tuple[str, str], NameRule] = PrivateAttr(default_factory=dict)

    def rule(self, layer: str, kind: str) -> NameRule:
        """The effective rule for ``kind`` names in ``layer``: the layer's fields over defaults."""
        key = (layer, kind)
        found = self._rules.get(key)
        if found is None:
            base = self.defaults.names(kind)
            own = self.layers[layer].names(kind) if layer in self.layers else None
            update = {f: getattr(own, f) for f in own.model_fields_set} if own else {}
            found = self._rules[key] = base.model_copy(update=update)
        return found

    def requires(
        self, layer: str, what: Literal["owner", "description", "column_descriptions"]
    ) -> bool:
        """Whether tables of ``layer`` need an owner, a description or column descriptions."""
        own = self.layers.get(layer)  # type: ignore[call-overload]
        value = getattr(own, f"require_{what}") if own is not None else None
        return bool(getattr(self.defaults, f"require_{what}") if value is None else value)


def _default_layers() -> dict[Layer, LayerRules]:
    return {"gold": LayerRules(require_owner=True, require_description=True)}


# -- names ----------------------------------------------------------------------------------
def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)]


def _render(words: list[str], case: str | None, original: str) -> str:
    if case == "camelCase":
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if case == "PascalCase":
        return "".join(w.capitalize() for w in words)
    if case == "UPPER_SNAKE_CASE":
        return "_".join(words).upper()
    if case in (None, "any") and "_" not in original and original.isidentifier():
        return "".join(words) if original.islower() else original
    return "_".join(words)


def _affixed(name: str, options: list[str] | None, start: bool) -> str | None:
    """The prefix (suffix) of ``options`` that ``name`` has, ``""`` when none is required."""
    if not options:
        return ""
    for option in options:
        if name.startswith(option) if start else name.endswith(option):
            return option
    return None


def suggest_name(name: str, rule: NameRule, kind: str = "table") -> str:
    """A name close to ``name`` that follows ``rule``.

    >>> suggest_name("OrderID", NameRule(case="snake_case"), "column")
    'order_id'
    >>> rule = NameRule(case="snake_case", prefixes=["fct_"], forbidden_abbreviations={"cust": "customer"})
    >>> suggest_name("CustOrders", rule)
    'fct_customer_orders'
    """  # noqa: E501
    abbreviations = rule.forbidden_abbreviations or {}
    words: list[str] = []
    for word in _words(name) or [kind]:
        words.extend(_words(abbreviations[word]) if word in abbreviations else [word])
    if words[0][0].isdigit():
        words.insert(0, kind)
    reserved = {w.lower() for w in rule.reserved_words or []}
    if _render(words, rule.case, name).lower() in reserved:
        words.append(_RESERVED_SUFFIX.get(kind, "value"))
    text = _render(words, rule.case, name)
    camel = rule.case in ("camelCase", "PascalCase")
    prefix = _affixed(text, rule.prefixes, start=True)
    if prefix is None and rule.prefixes:
        prefix = rule.prefixes[0]
        if camel:
            text = prefix + text[:1].upper() + text[1:]
        else:
            text = prefix + ("" if prefix.endswith("_") else "_") + text
    suffix = _affixed(text, rule.suffixes, start=False)
    if suffix is None and rule.suffixes:
        suffix = rule.suffixes[0]
        text += ("" if camel or suffix.startswith("_") else "_") + suffix
    if rule.max_length is not None and len(text) > rule.max_length:
        head, tail = prefix or "", suffix or ""
        room = max(rule.max_length - len(head) - len(tail), 1)
        body = text[len(head) : len(text) - len(tail)]
        parts = body.split("_")
        while len(parts) > 1 and len("_".join(parts)) > room:
            parts.pop()  # drop whole words first, then cut the last one
        text = head + "_".join(parts)[:room].strip("_") + tail
    return text


def _check(name: str, rule: NameRule) -> list[tuple[str, str]]:
    """``(check, what is required)`` for each part of ``rule`` that ``name`` breaks."""
    broken: list[tuple[str, str]] = []
    if rule.case not in (None, "any") and not _CASES[rule.case].match(name):
        broken.append(("case", f"must be {rule.case}"))
    if rule.prefixes and _affixed(name, rule.prefixes, start=True) is None:
        broken.append(("prefix", f"must start with {' or '.join(rule.prefixes)}"))
    if rule.suffixes and _affixed(name, rule.suffixes, start=False) is None:
        broken.append(("suffix", f"must end with {' or '.join(rule.suffixes)}"))
    if rule.max_length is not None and len(name) > rule.max_length:
        broken.append(
            ("max_length", f"must be at most {rule.max_length} characters, not {len(name)}")
        )
    if name.lower() in {w.lower() for w in rule.reserved_words or []}:
        broken.append(("reserved_word", f"may not be the reserved word {name!r}"))
    abbreviations = rule.forbidden_abbreviations or {}
    for word in dict.fromkeys(_words(name)):
        if word in abbreviations:
            full = abbreviations[word]
            broken.append(("abbreviation", f"may not abbreviate {full!r} as {word!r}"))
    return broken


def name_violations(
    standards: Standards, layer: str, kind: str, name: str, *, table: str | None = None
) -> list[Violation]:
    """The rules ``name`` (a ``kind`` name in ``layer``) breaks, each with a suggestion.

    ``table`` is the table of a column (for the object's name ``layer.table.column``).

    >>> [v.rule for v in name_violations(Standards(), "gold", "column", "Net Amount", table="t")]
    ['gold.column.case']
    """
    rule = standards.rule(layer, kind)
    broken = _check(name, rule)
    if not broken:
        return []
    head = layer if kind == "schema" else f"{layer}.{table}" if kind == "column" else layer
    obj = name if kind == "schema" else f"{head}.{name}"
    fixed = suggest_name(name, rule, kind)
    suggestion = None if fixed == name or _check(fixed, rule) else (
        fixed if kind == "schema" else f"{head}.{fixed}"
    )  # fmt: skip
    use = f"; use {suggestion}" if suggestion else ""
    return [
        Violation(
            rule=f"{layer}.{kind}.{check}",
            object=obj,
            message=f"{obj}: {kind} names in {layer} {what} (rule {layer}.{kind}.{check}){use}",
            suggestion=suggestion,
        )
        for check, what in broken
    ]


# -- metadata -------------------------------------------------------------------------------
def metadata_violations(
    standards: Standards,
    layer: str,
    table: str,
    columns: list[str],
    annotation: TableAnnotation,
) -> list[Violation]:
    """The metadata rules a table breaks: owner, description, column descriptions, PII tier.

    >>> from workspace.lake.metadata import TableAnnotation
    >>> [v.rule for v in metadata_violations(Standards(), "gold", "t", ["a"], TableAnnotation())]
    ['gold.table.owner', 'gold.table.description']
    """
    obj = f"{layer}.{table}"
    fix = f"ws.catalog.annotate({obj!r}, "
    found: list[Violation] = []
    for what, example in (("owner", "owner='TEAM'"), ("description", "description='...'")):
        if standards.requires(layer, what) and not (getattr(annotation, what) or "").strip():  # type: ignore[arg-type]
            rule = f"{layer}.table.{what}"
            found.append(
                Violation(
                    rule=rule,
                    object=obj,
                    message=f"{obj}: {layer} tables need {'an' if what == 'owner' else 'a'} "
                    f"{what} (rule {rule}); set it with {fix}{example}) or in the catalog",
                    suggestion=f"{fix}{example})",
                )
            )
    if standards.requires(layer, "column_descriptions"):
        rule = f"{layer}.column.description"
        for col in columns:
            notes = annotation.columns.get(col)
            if notes is None or not (notes.description or "").strip():
                example = f"columns={{{col!r}: {{'description': '...'}}}})"
                found.append(
                    Violation(
                        rule=rule,
                        object=f"{obj}.{col}",
                        message=f"{obj}.{col}: columns of {layer} tables need a description "
                        f"(rule {rule}); set it with {fix}{example}",
                        suggestion=fix + example,
                    )
                )
    floor = standards.pii_classification
    pii = [c for c, notes in annotation.columns.items() if notes.pii and c in columns]
    if floor and pii and _tier(annotation.classification) < _tier(floor):
        example = f"classification={floor!r})"
        found.append(
            Violation(
                rule="pii.classification",
                object=obj,
                message=f"{obj}: column{'s' if len(pii) > 1 else ''} {', '.join(pii)} "
                f"{'are' if len(pii) > 1 else 'is'} flagged PII, so the table must be classified "
                f"{floor} or higher, not {annotation.classification} (rule pii.classification); "
                f"set it with {fix}{example}",
                suggestion=fix + example,
            )
        )
    return found


def _tier(name: str) -> int:
    return CLASSIFICATIONS.index(name) if name in CLASSIFICATIONS else len(CLASSIFICATIONS)
