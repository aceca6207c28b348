"""core/totp.py: codes as RFC 6238 defines them, one use per time step, secrets sealed to their user, recovery codes.

The codes are compared with tests/totp_support.py, an implementation written from the RFC without pyotp, which is
itself checked against the RFC's own test vectors first.
"""
from __future__ import annotations

import base64
import hashlib
import uuid

import pytest

from chalicelib.core import totp
from tests import totp_support

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238 appendix B, SHA-1
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
               (2000000000, "69279037"), (20000000000, "65353130")]


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_the_reference_implementation_gives_the_rfc_vectors(at: int, expected: str) -> None:
    assert totp_support.code(RFC_SECRET, at // 30, digits=8) == expected


@pytest.mark.parametrize(("at", "expected"), RFC_VECTORS)
def test_the_six_digit_code_of_each_rfc_vector_matches_its_own_step(at: int, expected: str) -> None:
    step = at // 30
    assert totp.code_at(RFC_SECRET, step) == expected[-6:]
    assert totp.matching_step(RFC_SECRET, expected[-6:], after_step=None, at=at) == step


def test_one_step_of_drift_either_way_and_no_more() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000
    step = now // 30
    for offset, accepted in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        code = totp_support.code(secret, step + offset)
        found = totp.matching_step(secret, code, after_step=None, at=now)
        assert found == (step + offset if accepted else None), offset


def test_a_step_at_or_before_the_last_accepted_one_is_refused() -> None:
    secret = totp.new_secret()
    now = 1_700_000_000
    step = now // 30
    code = totp_support.code(secret, step)
    assert totp.matching_step(secret, code, after_step=step - 1, at=now) == step
    assert totp.matching_step(secret, code, after_step=step, at=now) is None  # replay in the same step
    assert totp.matching_step(secret, code, after_step=step + 1, at=now) is None
    # the next step's code is still good after this one was used
    assert totp.matching_step(secret, totp_support.code(secret, step + 1), after_step=step, at=now) == step + 1


FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"  # digits to str.isdigit(), not ASCII


@pytest.mark.parametrize("bad", ["", "12345", "1234567", "12a456", FULLWIDTH_DIGITS, "123 45", None])
def test_only_six_ascii_digits_are_a_code(bad: str | None) -> None:
    secret = totp.new_secret()
    assert totp.matching_step(secret, bad or "", after_step=None) is None


def test_spaces_in_a_code_are_ignored() -> None:
    secret = totp.new_secret()
    code = totp_support.code(secret, totp.current_step())
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", after_step=None) is not None


def test_secrets_are_160_random_bits_and_the_uri_names_issuer_and_account() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) == 20 and secret != totp.new_secret()
    uri = totp.provisioning_uri(secret, "ann@example.com")
    assert uri.startswith("otpauth://totp/wealthdesk:ann%40example.com?") and f"secret={secret}" in uri
    assert "issuer=wealthdesk" in uri


def test_a_stored_secret_is_sealed_to_its_user() -> None:
    secret = totp.new_secret()
    ann, bob = uuid.uuid4(), uuid.uuid4()
    sealed = totp.encrypt_secret(secret, ann)
    assert secret.encode() not in sealed and base64.b32decode(secret) not in sealed
    assert sealed != totp.encrypt_secret(secret, ann)  # a fresh nonce each time
    assert totp.decrypt_secret(sealed, ann) == secret
    from cryptography.exceptions import InvalidTag

    with pytest.raises(InvalidTag):
        totp.decrypt_secret(sealed, bob)  # copied onto another user: does not open
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(InvalidTag):
        totp.decrypt_secret(tampered, ann)


def test_without_a_key_two_factor_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.core.errors import ServiceUnavailable

    monkeypatch.delenv("TOTP_KEY", raising=False)
    monkeypatch.delenv("TOTP_KEY_ARN", raising=False)
    with pytest.raises(ServiceUnavailable):
        totp.encrypt_secret(totp.new_secret(), uuid.uuid4())


def test_recovery_codes_are_ten_distinct_80_bit_codes_hashed_as_typed() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 == len(set(codes))
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert not set("".join(groups)) & set("ILOU")
    code = codes[0]
    digest = hashlib.sha256(code.replace("-", "").encode()).digest()
    assert totp.recovery_hash(code) == digest
    assert totp.recovery_hash(code.lower()) == digest
    assert totp.recovery_hash(code.replace("-", " ")) == digest
    assert totp.recovery_hash(code[:-1]) is None
    assert totp.recovery_hash(code[:-1] + "I") is None
