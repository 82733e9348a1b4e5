"""Helpers every backend shares, so the contract is enforced in exactly one place."""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["check_ttl", "decode", "encode", "prefix_upper_bound"]


def encode(value: Any) -> str:
    """Serialise to compact JSON text.

    Every backend stores text (even the memory one) so a value read back is a fresh copy with
    identical types everywhere: tuples come back as lists, dict keys as strings. ``allow_nan``
    is off because NaN/Infinity are not JSON and Postgres/other readers would choke on them.
    """
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def decode(raw: str | bytes | None) -> Any | None:
    return None if raw is None else json.loads(raw)


def check_ttl(ttl: float | None) -> float | None:
    """Reject non-positive TTLs loudly rather than give each backend its own surprise.

    Redis rejects ``PX 0`` while SQL backends would silently store an already-dead row; a
    caller computing ``deadline - now`` must decide itself what a passed deadline means.
    """
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
        raise ValueError(f"ttl must be a finite number of seconds, got {ttl!r}")
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl!r}")
    return float(ttl)


def check_amount(amount: int) -> int:
    # bool is an int subclass; incr(key, True) is almost certainly a bug at the call site.
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"incr amount must be int, got {type(amount).__name__}")
    return amount


def prefix_upper_bound(prefix: str) -> str | None:
    """Smallest string greater than every string starting with ``prefix`` (None: no bound).

    Lets SQL express "starts with" as the index-friendly range ``prefix <= key < bound``
    without LIKE, whose wildcards need escaping and which SQLite matches case-insensitively.
    Valid for binary (code point / UTF-8 byte) ordering only.
    """
    chars = list(prefix)
    while chars:
        cp = ord(chars[-1])
        if cp < 0x10FFFF:
            nxt = cp + 1
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates cannot be encoded; jump over them
                nxt = 0xE000
            chars[-1] = chr(nxt)
            return "".join(chars)
        chars.pop()  # U+10FFFF has no successor: bump the previous character instead
    return None
