"""RFC 6238 TOTP written out from the RFC (HMAC-SHA1, dynamic truncation, 30-second steps), independent of
pyotp: the tests make their codes with it, and tests/unit/test_totp.py checks it against the RFC's test vectors."""
from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time


def step_now() -> int:
    return int(time.time() // 30)


def code(secret_b32: str, step: int | None = None, digits: int = 6) -> str:
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", step_now() if step is None else step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10 ** digits:0{digits}d}"


def fresh_code(secret_b32: str) -> str:
    """The current step's code, after waiting out the last 2 seconds of a step (so that it is still the current
    step's when the server checks it)."""
    while time.time() % 30 > 28:
        time.sleep(0.2)
    return code(secret_b32)
