"""TOTP two-factor codes (RFC 6238, through pyotp), their secrets encrypted at rest, and recovery codes.

Secrets: 160 random bits (32 base32 characters), shown once at enrolment, stored AES-256-GCM encrypted under a key
derived from TOTP_KEY (or the secret TOTP_KEY_ARN names) that never enters the database; the user's id is the
associated data, so a ciphertext copied onto another user does not decrypt. Codes: 6 digits, 30-second steps, one
step of clock drift either way; `matching_step` names the step a code matched, so the caller can refuse any step
not after the last one accepted (a code works once). Recovery codes: 16 characters of a 32-letter alphabet
(80 random bits), shown once, stored as their SHA-256 (enough for random values of that size; a slow hash is for
passwords people choose).
"""
from __future__ import annotations

import hashlib
import secrets as pysecrets
import time
from functools import lru_cache
from typing import Any
from uuid import UUID

from chalicelib.core import config
from chalicelib.core.errors import ServiceUnavailable

ISSUER = "wealthdesk"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1  # a code of the step before or after the current one is accepted too
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ0123456789"  # no I, L, O, U: nothing to misread
_RECOVERY_LENGTH = 16
_VERSION = b"\x01"  # first byte of a stored secret: the encryption scheme, so it can change later


def new_secret() -> str:
    import pyotp

    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str, issuer: str = ISSUER) -> str:
    """The otpauth:// URI an authenticator app reads (usually from a QR code)."""
    import pyotp

    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(name=account,
                                                                                      issuer_name=issuer)


def current_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    """The code of a time step (tests and the enrolment check use it through matching_step)."""
    import pyotp

    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normalise_code(code: str) -> str | None:
    """Six digits (spaces ignored), else None."""
    code = "".join(code.split())
    return code if len(code) == DIGITS and code.isascii() and code.isdigit() else None


def matching_step(secret: str, code: str, *, after_step: int | None, at: float | None = None) -> int | None:
    """The time step whose code `code` is, among the current one and DRIFT_STEPS either side, and only steps
    after `after_step` (the last one accepted); None when it matches none. Compared in constant time."""
    import pyotp

    wanted = normalise_code(code)
    if wanted is None:
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    now = current_step(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        if pysecrets.compare_digest(totp.generate_otp(step), wanted) and (after_step is None or step > after_step):
            found = step
    return found


# --- secrets at rest -------------------------------------------------------------------------------------------------

def _key_material() -> str:
    from chalicelib.core.secrets import setting_or_secret

    s = config.settings()
    key = setting_or_secret(s.totp_key, s.totp_key_arn)
    if key is None:
        raise ServiceUnavailable("The service is not configured for two-factor authentication (TOTP_KEY)")
    return key


@lru_cache(maxsize=4)
def _aead(material: str) -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    if len(material) < 32:
        raise ServiceUnavailable("TOTP_KEY must be at least 32 characters")
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"wealthdesk totp secrets v1").derive(material.encode())
    return AESGCM(key)


def encrypt_secret(secret: str, user_id: UUID) -> bytes:
    nonce = pysecrets.token_bytes(12)
    return _VERSION + nonce + _aead(_key_material()).encrypt(nonce, secret.encode(), b"totp:" + user_id.bytes)


def decrypt_secret(stored: bytes, user_id: UUID) -> str:
    stored = bytes(stored)
    if stored[:1] != _VERSION:
        raise ValueError("unknown TOTP secret format")
    nonce, sealed = stored[1:13], stored[13:]
    return _aead(_key_material()).decrypt(nonce, sealed, b"totp:" + user_id.bytes).decode()


# --- recovery codes --------------------------------------------------------------------------------------------------

def new_recovery_codes(n: int = RECOVERY_CODES) -> list[str]:
    """`n` distinct codes written XXXX-XXXX-XXXX-XXXX."""
    codes: set[str] = set()
    while len(codes) < n:
        raw = "".join(pysecrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.add("-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return sorted(codes)


def recovery_hash(code: str) -> bytes | None:
    """The stored form of a recovery code as typed (case, dashes and spaces ignored); None when it cannot be one."""
    raw = "".join(ch for ch in code.upper() if ch not in "- \t")
    if len(raw) != _RECOVERY_LENGTH or any(ch not in _RECOVERY_ALPHABET for ch in raw):
        return None
    return hashlib.sha256(raw.encode()).digest()
