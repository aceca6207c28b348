"""List cursors are signed (core/pagination.py): what the signature covers, how the key is made, and that the
longest cursor any list can make fits the `cursor` parameter's limit.

The signature is checked here against an independent computation from its description: HMAC-SHA256, cut to 16
bytes, of the firm's id (16 bytes) and the cursor's JSON, under HMAC-SHA256(JWT_SECRET, "wealthdesk cursor v1").
"""
from __future__ import annotations

import base64
import gc
import hashlib
import hmac
import importlib
import json
import os
import uuid
from typing import Any

import pytest

from chalicelib.core import errors, pagination
from chalicelib.core.pagination import MAX_CURSOR, NOT_SIGNED, ListQuery, ListSpec, decode_cursor, encode_cursor

FIRM = uuid.UUID("6f1c0a52-3d55-4c8e-9a53-0d4c1f0b2e77")
OTHER_FIRM = uuid.UUID("0b7f2f0e-2f4b-4a7e-8f5e-7c9d3a1e6b10")
VALUES = ["client_groups", "name", "Whitfield Household", "8a2b1c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _independent(values: Any, firm_id: uuid.UUID, secret: str) -> str:
    payload = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode()
    key = hmac.new(secret.encode(), b"wealthdesk cursor v1", hashlib.sha256).digest()
    tag = hmac.new(key, firm_id.bytes + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(tag + payload).decode().rstrip("=")


def _refusal(cursor: str, firm_id: uuid.UUID = FIRM) -> str:
    with pytest.raises(errors.Unprocessable) as raised:
        decode_cursor(cursor, firm_id)
    [error] = raised.value.errors
    assert error["field"] == "cursor"
    return error["message"]


def test_a_cursor_is_the_tag_and_json_described() -> None:
    cursor = encode_cursor(VALUES, FIRM)
    assert cursor == _independent(VALUES, FIRM, os.environ["JWT_SECRET"])
    assert decode_cursor(cursor, FIRM) == VALUES
    assert set(cursor) <= set(ALPHABET)  # URL-safe as it is: no padding, no escaping


def test_the_firm_is_signed() -> None:
    cursor = encode_cursor(VALUES, FIRM)
    assert encode_cursor(VALUES, OTHER_FIRM) != cursor
    assert _refusal(cursor, OTHER_FIRM) == NOT_SIGNED


def test_every_changed_character_is_refused() -> None:
    cursor = encode_cursor(VALUES, FIRM)
    for i, ch in enumerate(cursor):
        for other in ALPHABET:
            if other != ch:
                assert _refusal(cursor[:i] + other + cursor[i + 1:]) == NOT_SIGNED, (i, other)


def test_every_flipped_bit_is_refused() -> None:
    cursor = encode_cursor(VALUES, FIRM)
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    for i in range(len(raw) * 8):
        flipped = bytearray(raw)
        flipped[i // 8] ^= 1 << (i % 8)
        assert _refusal(base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip("=")) == NOT_SIGNED, i


def test_truncated_extended_and_respelled_cursors_are_refused() -> None:
    cursor = encode_cursor(VALUES, FIRM)
    for n in range(len(cursor)):
        assert _refusal(cursor[:n]) == NOT_SIGNED, n
    for bad in (cursor + "A", cursor + "AA", cursor + "=", cursor + "==", "A" + cursor, cursor + "\n",
                cursor.replace("-", "+").replace("_", "/"), cursor[:10] + "." + cursor[10:], " " + cursor):
        if bad != cursor:
            assert _refusal(bad) == NOT_SIGNED, bad


def test_only_the_canonical_spelling_is_a_cursor() -> None:
    """Unpadded base64 leaves spare bits in its last character: a spelling with them set decodes to the same bytes
    (and so the same tag), but is not the text the server gave out."""
    for extra in range(3):
        values = [*VALUES[:2], "x" * extra, VALUES[3]]
        cursor = encode_cursor(values, FIRM)
        spare = {2: 4, 3: 2}.get(len(cursor) % 4, 0)  # unused low bits of the last character
        if not spare:
            continue
        last = ALPHABET.index(cursor[-1])
        for bits in range(1, 2 ** spare):
            respelled = cursor[:-1] + ALPHABET[last | bits]
            assert base64.urlsafe_b64decode(respelled + "=" * (-len(respelled) % 4)) == \
                base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            assert _refusal(respelled) == NOT_SIGNED


def test_nothing_is_parsed_before_the_signature_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Any] = []
    monkeypatch.setattr(pagination.json, "loads", lambda *a, **k: parsed.append(a))
    forged = base64.urlsafe_b64encode(b"\0" * 16 + json.dumps(VALUES).encode()).decode().rstrip("=")
    assert _refusal(forged) == NOT_SIGNED
    assert _refusal(encode_cursor(VALUES, FIRM), OTHER_FIRM) == NOT_SIGNED
    assert parsed == []


def test_the_key_follows_the_servers_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    cursor = encode_cursor(VALUES, FIRM)
    monkeypatch.setenv("JWT_SECRET", "another-secret-" + "z" * 40)
    assert _refusal(cursor) == NOT_SIGNED
    assert encode_cursor(VALUES, FIRM) == _independent(VALUES, FIRM, "another-secret-" + "z" * 40)
    monkeypatch.setenv("JWT_SECRET", "")
    with pytest.raises(errors.ServiceUnavailable):
        encode_cursor(VALUES, FIRM)


def test_the_cursor_key_is_not_the_token_key() -> None:
    """A value signed for cursors is not an HMAC under the JWT secret itself (a purpose of its own)."""
    from chalicelib.core.auth import derived_key

    key = derived_key(b"wealthdesk cursor v1")
    assert key != os.environ["JWT_SECRET"].encode() and len(key) == 32
    assert derived_key(b"wealthdesk cursor v1") is key  # cached


# --- the longest cursor fits ---------------------------------------------------------------------------------------

def _list_specs() -> list[ListSpec]:
    from chalicelib.routes import MODULES

    for module in MODULES:
        importlib.import_module(module)
    specs = {id(o): o for o in gc.get_objects() if isinstance(o, ListSpec)}
    return sorted(specs.values(), key=lambda s: s.name)


# The longest text the API writes into each text column a list sorts by (the request models' max_length; method is
# one of two names), in characters.
TEXT_COLUMNS = {"name": 200, "surname": 100, "first_name": 100, "email": 254, "method": len("kingston_monthly"),
                "currency": 3, "item_category": 100,
                # retention policies: the longest table and condition the database's CHECK allows
                "table_name": len("networth_statements"), "condition": len("security")}
# The longest text a page writes for each other type (core/pagination._cursor_text).
LONGEST = {"uuid": str(uuid.UUID(int=0)), "date": "2024-12-31", "timestamptz": "2024-12-31T23:59:59.999999+14:00",
           "numeric": "-" + "9" * 40 + "." + "9" * 20, "integer": str(-2 ** 31), "bigint": str(-2 ** 63)}


def test_every_list_has_a_name_of_its_own() -> None:
    """A list's name is what tells its cursors from another's: two lists of one name would take each other's."""
    specs = _list_specs()
    assert len(specs) >= 15
    names = [s.name for s in specs]
    assert len(names) == len(set(names)), names


@pytest.mark.parametrize("char,limit", [("\x01", MAX_CURSOR), ("x", 500)], ids=["worst-case", "ascii"])
def test_the_longest_cursor_of_every_list_fits(char: str, limit: int) -> None:
    """Each character of a text value as long as JSON can write it (a control character: six bytes), at the
    longest the API stores: within the cursor parameter's limit. Plain ASCII names keep cursors under 500."""
    assert ListQuery.model_fields["cursor"].metadata[0].max_length == MAX_CURSOR
    for spec in _list_specs():
        for sort in spec.sorts:
            values = []
            for column, sql_type in spec.columns(sort):
                if sql_type == "text":
                    name = column.split(".")[-1]
                    assert name in TEXT_COLUMNS, f"state the longest {name} a list sorts by in TEXT_COLUMNS"
                    values.append(char * TEXT_COLUMNS[name])
                else:
                    values.append(LONGEST[sql_type])
            cursor = encode_cursor([spec.name, "-" + sort, *values], FIRM)
            assert len(cursor) <= limit, (spec.name, sort, len(cursor))
            assert decode_cursor(cursor, FIRM)[2:] == values
