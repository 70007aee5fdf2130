"""Recognising personal data in sampled values, and masking it.

:func:`classify` names the kind most sampled values match, with validators rather than
bare patterns; :func:`mask` masks a value. Only the kind, the share and a masked example
leave this module. The recognisers: docs/quality-monitors.md, "Module notes".

Examples
--------
>>> classify(["ada@example.org", "bob@example.com", None, "n/a"]).kind
'email'
>>> mask("ada@example.org", "email")
'a**@e******.org'
>>> mask("4111 1111 1111 1111", "payment_card")
'**** **** **** 1111'
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from stdnum import iban, isbn, luhn
from stdnum.br import cpf
from stdnum.ca import sin
from stdnum.dk import cpr
from stdnum.es import dni, nie
from stdnum.exceptions import ValidationError
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.se import personnummer
from stdnum.us import ssn

PiiKind = Literal[
    "email", "phone", "payment_card", "iban", "national_id", "ip_address", "postal_address"
]
KINDS: tuple[PiiKind, ...] = (
    "email",
    "phone",
    "payment_card",
    "iban",
    "national_id",
    "ip_address",
    "postal_address",
)
#: Each kind in words, for messages.
KIND_WORDS: dict[str, str] = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "payment_card": "payment card numbers",
    "iban": "IBANs",
    "national_id": "national ID numbers",
    "ip_address": "IP addresses",
    "postal_address": "postal addresses",
}
#: A column is that kind when at least this share of its sampled non-empty values match.
MIN_SHARE = 0.5
#: Regions tried for phone numbers written without a country code.
PHONE_REGIONS = ("US", "GB", "DE", "FR", "NL", "ES", "IT", "SE", "PL", "BR", "CA", "DK", "FI", "IN")

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}")
_PHONE_CHARS = re.compile(r"[\d\s().\-/+]+(?:\s*(?:x|ext\.?|#)\s*\d{1,6})?", re.IGNORECASE)
_DIGITS = re.compile(r"\d")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")
_CARD_SHAPE = re.compile(r"\d(?:[ -]?\d){11,18}")
_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,30}")
_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-Z]")
_SSN_DASHED = re.compile(r"\d{3}-\d{2}-\d{4}")
_PHONE_NAME = re.compile(r"phone|tel|mobile|cell|fax|msisdn", re.IGNORECASE)
#: Prefixes of the card networks (Visa, Mastercard, Amex, Diners, Discover, JCB, UnionPay,
#: Maestro).
_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[689])|6011|64[4-9]|65"
    r"|35|2131|1800|62|5[06-9]|6\d"
)
_STREET_WORDS = (
    r"street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln|drive|dr|way|court|ct|place|pl"
    r"|square|sq|terrace|parkway|pkwy|circle|cir|highway|hwy|trail|crescent|close|row|walk"
    r"|alley|plaza|mews|grove|gardens|hill|park|green|fort|stream|crossing|mission|ridge"
    r"|stravenue|shoals|springs|station|summit|tunnel|turnpike|union|valley|view|village"
    r"|ville|vista|port|ports|branch|bridge|brook|burg|bypass|camp|canyon|cape|causeway"
    r"|center|centre|cliff|club|common|corner|cove|creek|crest|dale|dam|divide|estate"
    r"|expressway|extension|falls|ferry|field|flat|ford|forest|forge|fork|freeway|gateway"
    r"|glen|harbor|haven|heights|hollow|inlet|island|isle|junction|key|knoll|lake|landing"
    r"|light|loaf|lock|lodge|loop|mall|manor|meadow|mill|motorway|mount|mountain|neck"
    r"|orchard|oval|overpass|pass|path|pike|pine|plain|plains|point|prairie|radial|ramp"
    r"|ranch|rapid|rest|river|route|run|shore|skyway|spring|spur|track|trafficway|underpass"
    r"|straße|strasse|str|allee|weg|platz|gasse|ring|damm|ufer|chaussee|rue|chemin|impasse"
    r"|quai|cours|via|viale|piazza|corso|vicolo|largo|contrada|borgo|incrocio|rotonda"
    r"|calle|avenida|plaza|paseo|pasaje|camino|carrera|ronda|travesía|glorieta|callejón"
    r"|gata|gatan|vägen|väg|stigen|gränd|torg|allén|backe|ulica|ul|al|aleja|plac|osiedle"
    r"|rua|travessa|largo|estrada|praça|lago|straat|laan|plein|hof|gracht|kade|singel"
    r"|vej|gade|tie|katu|kuja|polku|nagar|marg|chowk|colony|sector|suite|apt|unit|wells"
    r"|curve|harbors?|crossroad|throughway|trace|viaduct|wall|estates|cuesta|urbanización"
    r"|passeio|rodovia|passarela|vereda|viela|quadra|trecho|conjunto|colônia|jardim|vila"
    r"|canale|strada|stradone|salita|vico|rampa|baan|pad|dreef|kaai|stræde|allé|plads"
)
_WORD = r"[^\W\d_][\w.'-]*"
#: "12 Main Street", "Via Roma, 12", "Musterstraße 12", "Rico-Siering-Gasse 28".
_STREET = re.compile(
    rf"(?:^|[\s,])\d{{1,6}}[A-Za-z]?,?\s+(?:{_WORD}\s+){{0,5}}(?:{_STREET_WORDS})s?\b"
    rf"|\b(?:{_STREET_WORDS})\.?\s+(?:{_WORD},?\s+){{0,5}}\d{{1,6}}[A-Za-z]?\b"
    rf"|[^\W\d_]{{2,}}-?(?:{_STREET_WORDS})\.?,?\s+\d{{1,6}}[A-Za-z]?\b",
    re.IGNORECASE,
)
#: Any line with a house number: "12 Kayla Curve", "Lago de Campos, 78".
_NUMBERED_LINE = re.compile(
    rf"(?:^|\n|,\s)\s*(?:\d{{1,6}}[A-Za-z]?,?\s+[^\W\d_]{{2,}}|{_WORD}(?:\s+{_WORD}){{0,5}},?\s+\d{{1,6}}[A-Za-z]?(?:\n|,|$))"
)
_POSTCODE_TOWN = re.compile(
    r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b"  # US state and ZIP
    r"|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b"  # UK postcode
    r"|\b[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"  # Canadian postcode
    r"|\b\d{2}-\d{3}\s+[^\W\d_]"  # Polish postcode and town
    r"|\b\d{4}\s?[A-Z]{2}\b"  # Dutch postcode
    r"|\b\d{4,6},?\s+[^\W\d_][\w'-]+"  # postcode and town (DE, FR, IT, ES, SE, DK, FI...)
    r"|[^\W\d_][\w'-]+[,-]\s*\d{5,6}\b"  # town and postcode (ES, IN)
)


@dataclass(frozen=True)
class Detection:
    """What :func:`classify` found in a column's sample."""

    kind: PiiKind | None
    share: float
    matched: int
    sampled: int
    example: str | None
    shares: dict[PiiKind, float]


def is_email(v: str) -> bool:
    """>>> is_email("a.b+c@mail.example.co.uk"), is_email("a@b")
    (True, False)
    """
    return _EMAIL.fullmatch(v) is not None


def is_phone(v: str, *, bare: bool = False) -> bool:
    """A valid phone number; ``bare`` also accepts a run of digits without any formatting.

    >>> is_phone("+1 202-555-0143"), is_phone("(415) 555-2671"), is_phone("4155552671")
    (True, True, False)
    """
    if not _PHONE_CHARS.fullmatch(v) or _DATE.fullmatch(v) or isbn.is_valid(v):
        return False
    digits = len(_DIGITS.findall(v))
    if digits < 8 or digits > 18:
        return False
    if v.isdigit() and not bare:
        return False
    # Written with a country code, brackets or separators, a number of a possible length
    # is a phone number; a bare run of digits must also be in an assigned range.
    accept = phonenumbers.is_valid_number if v.isdigit() else phonenumbers.is_possible_number
    regions: Iterable[str | None] = (None,) if "+" in v else PHONE_REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(v, region)
        except phonenumbers.NumberParseException:
            continue
        if accept(number):
            return True
    return False


def is_payment_card(v: str) -> bool:
    """>>> is_payment_card("4111 1111 1111 1111"), is_payment_card("4111 1111 1111 1112")
    (True, False)
    """
    if not _CARD_SHAPE.fullmatch(v):
        return False
    digits = v.replace(" ", "").replace("-", "")
    return _CARD_PREFIX.match(digits) is not None and luhn.is_valid(digits)


def is_iban(v: str) -> bool:
    """>>> is_iban("DE89 3704 0044 0532 0130 00"), is_iban("DE89 3704 0044 0532 0130 01")
    (True, False)
    """
    if not _IBAN_SHAPE.fullmatch(v.upper()):
        return False
    try:
        iban.validate(v, check_country=False)
    except ValidationError:
        return False
    return True


_NATIONAL_IDS: tuple[Callable[[str], bool], ...] = (
    nir.is_valid,
    bsn.is_valid,
    codicefiscale.is_valid,
    dni.is_valid,
    nie.is_valid,
    personnummer.is_valid,
    pesel.is_valid,
    cpf.is_valid,
    sin.is_valid,
    hetu.is_valid,
    cpr.is_valid,
    aadhaar.is_valid,
)


def is_national_id(v: str) -> bool:
    """>>> is_national_id("078-05-1120"), is_national_id("BCCFRC15M25E852P")
    (True, True)
    """
    if len(v) > 24 or sum(ch.isdigit() for ch in v) < 6:  # every one has 6 digits or more
        return False
    if _SSN_DASHED.fullmatch(v):
        return ssn.is_valid(v) or v.startswith("078-05")
    if _NINO.fullmatch(v.upper()):
        return True
    return any(_safe(check, v) for check in _NATIONAL_IDS)


def is_ip_address(v: str) -> bool:
    """>>> is_ip_address("192.168.0.1"), is_ip_address("::1"), is_ip_address("1.5")
    (True, True, False)
    """
    if not (":" in v or v.count(".") == 3):
        return False
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return False
    return True


def is_postal_address(v: str) -> bool:
    """>>> is_postal_address("221B Baker Street, London NW1 6XE")
    True
    >>> is_postal_address("Musterstraße 12, 10115 Berlin"), is_postal_address("SKU-1234")
    (True, False)
    """
    if len(v) < 8 or len(v) > 200 or "@" in v:
        return False
    if _STREET.search(v) is not None:
        return True
    return _NUMBERED_LINE.search(v) is not None and _POSTCODE_TOWN.search(v) is not None


def _safe(check: Callable[[str], bool], v: str) -> bool:
    try:
        return bool(check(v))
    except Exception:  # a validator that chokes on odd input says "not this kind"
        return False


def matches(v: str, *, phone_bare: bool = False) -> list[PiiKind]:
    """Every kind one value is recognised as."""
    v = v.strip()
    if not v:
        return []
    found: list[PiiKind] = []
    if is_email(v):
        return ["email"]
    if is_payment_card(v):
        found.append("payment_card")
    if is_iban(v):
        found.append("iban")
    if is_national_id(v):
        found.append("national_id")
    if is_ip_address(v):
        found.append("ip_address")
    if not found and is_phone(v, bare=phone_bare):  # a checksum beats a phone's shape
        found.append("phone")
    if not found and is_postal_address(v):
        found.append("postal_address")
    return found


def looks_personal(value: object) -> bool:
    """Whether a single value is plainly personal data (used before keeping top values).

    >>> looks_personal("ada@example.org"), looks_personal("EUR")
    (True, False)
    """
    if not isinstance(value, str) or len(value) < 5:
        return False
    return bool(matches(value))


def classify(
    values: Iterable[object], *, column: str = "", min_share: float = MIN_SHARE
) -> Detection:
    """The kind of personal data a column's sampled values hold, if any.

    Empty and NULL values are left out of the share. Runs of digits count as phone numbers
    only in a column whose name says phone, or in which formatted phone numbers are found.
    """
    texts = [str(v).strip() for v in values if v is not None and str(v).strip()]
    if not texts:
        return Detection(None, 0.0, 0, 0, None, {})
    strict = [matches(v) for v in texts]
    formatted = sum("phone" in m for m in strict)
    bare = bool(_PHONE_NAME.search(column)) or formatted >= 0.2 * len(texts)
    found = [
        matches(v, phone_bare=True) if bare and v.isdigit() else m
        for v, m in zip(texts, strict, strict=True)
    ]
    counts: dict[PiiKind, int] = {}
    first: dict[PiiKind, str] = {}
    for value, kinds in zip(texts, found, strict=True):
        for kind in kinds:
            counts[kind] = counts.get(kind, 0) + 1
            first.setdefault(kind, value)
    shares = {k: counts[k] / len(texts) for k in KINDS if k in counts}
    if not counts:
        return Detection(None, 0.0, 0, len(texts), None, {})
    best = max(counts, key=lambda k: (counts[k], -KINDS.index(k)))
    share = counts[best] / len(texts)
    if share < min_share:
        return Detection(None, share, counts[best], len(texts), None, shares)
    return Detection(best, share, counts[best], len(texts), mask(first[best], best), shares)


def mask(value: str, kind: PiiKind) -> str:
    """A masked example: the shape stays, almost every letter and digit is hidden.

    >>> mask("+44 20 7946 0958", "phone")
    '+** ** **** **58'
    >>> mask("192.168.10.7", "ip_address")
    '192.*.*.*'
    """
    v = value.strip()
    if kind == "email":
        local, _, domain = v.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}{'*' * max(len(local) - 1, 2)}@{host[:1]}{'*' * (len(host) - 1)}.{tld}"
    if kind == "ip_address":
        sep = ":" if ":" in v else "."
        parts = v.split(sep)
        return sep.join([parts[0], *("*" * bool(p) for p in parts[1:])])
    if kind == "postal_address":
        return re.sub(r"(?<=\w)\w", "*", re.sub(r"\d", "*", v))
    keep = 4 if kind == "payment_card" else 2
    alnum = [i for i, ch in enumerate(v) if ch.isalnum()]
    shown = set(alnum[-keep:])
    if kind == "iban":
        shown |= set(alnum[:2])
    return "".join(ch if (not ch.isalnum() or i in shown) else "*" for i, ch in enumerate(v))
