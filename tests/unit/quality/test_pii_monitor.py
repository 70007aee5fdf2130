"""PII detection: every kind is recognised and masked, look-alikes are not, and a suggestion
is confirmed (the catalog's PII flag) or dismissed (never suggested again)."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from workspace.lake import Workspace
from workspace.quality.pii import classify, is_phone, mask
from workspace.quality.pii_review import confirm_pii, dismiss_pii, pii_columns
from workspace.quality.scan import scan

SAMPLES = {
    "email": ["ada@example.org", "bo.li+news@mail.example.co.uk", "c_d@x.io"],
    "phone": ["+1 202-555-0143", "(415) 555-2671", "+44 20 7946 0958", "+49 30 901820"],
    "payment_card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"],
    "iban": [
        "DE89 3704 0044 0532 0130 00",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
    ],
    "national_id": ["078-05-1120", "BCCFRC15M25E852P", "111222333", "123456782"],
    "ip_address": ["192.168.0.1", "10.0.0.254", "2001:db8::8a2e:370:7334"],
    "postal_address": [
        "221B Baker Street, London NW1 6XE",
        "Musterstraße 12, 10115 Berlin",
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
    ],
}
LOOK_ALIKES = {
    "order_no": [f"ORD-{100000 + 7 * i}" for i in range(50)],
    "sku": [f"AB-{1000 + i}-XY" for i in range(50)],
    "amount": [f"{12.5 * i + 0.99:.2f}" for i in range(50)],
    "order_id": [str(4000000000 + 97 * i) for i in range(50)],
    "day": [f"2026-01-{1 + i % 28:02d}" for i in range(50)],
}


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_each_kind_is_recognised_and_masked(kind: str) -> None:
    values = SAMPLES[kind]
    found = classify([*values, None, ""], column="value")
    assert (found.kind, found.share, found.sampled) == (kind, 1.0, len(values))
    assert found.example is not None and found.example not in values
    for value in values:
        masked = mask(value, found.kind)  # type: ignore[arg-type]
        assert masked != value and len(re.findall(r"\d", masked)) <= 4


@pytest.mark.parametrize("column", list(LOOK_ALIKES))
def test_look_alikes_are_not_pii(column: str) -> None:
    assert classify(LOOK_ALIKES[column], column=column).kind is None


def test_bare_digits_are_phones_only_in_a_phone_column() -> None:
    numbers = ["4155552671", "2025550143", "6175550198"]
    assert not is_phone(numbers[0])
    assert classify(numbers, column="order_ref").kind is None
    assert classify(numbers, column="mobile_phone").kind == "phone"


def test_suggestions_are_confirmed_or_dismissed(ws: Workspace) -> None:
    people = pd.DataFrame(
        {
            "email": [f"user{i}@example.org" for i in range(40)],
            "ip": [f"10.0.{i}.7" for i in range(40)],
            "order_no": [f"ORD-{1000 + i}" for i in range(40)],
        }
    )
    ws.write("silver.people", people)
    found = {(f.column, f.kind) for f in scan(ws, ["silver.people"]).findings}
    assert found >= {("email", "pii"), ("ip", "pii")}
    assert ("order_no", "pii") not in found
    message = next(f.message for f in scan(ws, ["silver.people"]).findings if f.column == "email")
    assert "user1" not in message and "e-mail" in message

    confirm_pii(ws, "silver.people", "email")
    dismiss_pii(ws, "silver.people", "ip")
    assert ws.catalog.describe("silver.people").pii_columns == ["email"]
    assert [f for f in scan(ws, ["silver.people"]).findings if f.kind == "pii"] == []
    statuses = {c.column: (c.kind, c.status) for c in pii_columns(ws, "silver.people")}
    assert statuses == {"email": ("email", "confirmed"), "ip": ("ip_address", "dismissed")}

    ws.write("silver.people", people.assign(contact=people["email"]), evolve=True)
    new = [f.column for f in scan(ws, ["silver.people"]).findings if f.kind == "pii"]
    assert new == ["contact"]  # a new column is sampled; the dismissed one stays quiet
