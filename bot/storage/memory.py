"""In-process storage for tests and single-process development.

Nothing is shared between processes or between two ``MemoryStorage`` instances, so ``add``
is only "atomic" within one event loop. Do not use it behind more than one worker.
"""

from __future__ import annotations

import time
from typing import Any

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

__all__ = ["MemoryStorage"]

# Full sweeps are O(n); doing one every N writes keeps the amortised cost tiny while still
# bounding memory held by keys that expire and are never read again.
_SWEEP_EVERY = 1000


class MemoryStorage(Storage):
    """Dict-backed store with lazy expiry.

    Every method body runs without awaiting, so under asyncio each operation is atomic with
    respect to other tasks; no lock is needed. Values are kept as JSON text so they behave
    exactly like the persistent backends (a returned dict is a copy, tuples become lists).
    Expiry uses the monotonic clock, immune to wall-clock jumps.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._writes = 0
        self._closed = False

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryStorage:
        if not url.startswith("memory://"):
            raise ValueError(f"not a memory:// URL: {url!r}")
        return cls()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("storage is closed")

    def _live(self, key: str, now: float) -> tuple[str, float | None] | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires = entry[1]
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return entry

    def _wrote(self, now: float) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            dead = [k for k, (_, exp) in self._data.items() if exp is not None and exp <= now]
            for k in dead:
                del self._data[k]

    @staticmethod
    def _expiry(ttl: float | None, now: float) -> float | None:
        ttl = check_ttl(ttl)
        return None if ttl is None else now + ttl

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        self._check_open()
        entry = self._live(key, time.monotonic())
        return None if entry is None else decode(entry[0])

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._check_open()
        now = time.monotonic()
        self._data[key] = (encode(value), self._expiry(ttl, now))
        self._wrote(now)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._check_open()
        now = time.monotonic()
        raw, expires = encode(value), self._expiry(ttl, now)
        if self._live(key, now) is not None:
            return False
        self._data[key] = (raw, expires)
        self._wrote(now)
        return True

    async def delete(self, key: str) -> None:
        self._check_open()
        self._data.pop(key, None)

    async def delete_prefix(self, prefix: str) -> int:
        self._check_open()
        now = time.monotonic()
        doomed = [k for k in self._data if k.startswith(prefix)]
        removed = 0
        for k in doomed:
            # Expired keys are already "absent", so they are dropped but not counted,
            # matching Redis where they would simply not exist.
            if self._live(k, now) is not None:
                del self._data[k]
                removed += 1
        return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self._check_open()
        check_amount(amount)
        now = time.monotonic()
        expires = self._expiry(ttl, now)
        entry = self._live(key, now)
        if entry is None:
            total = amount
        else:
            current = decode(entry[0])
            if isinstance(current, bool) or not isinstance(current, int):
                raise ValueError(f"value at {key!r} is not an integer counter")
            total = current + amount
            expires = entry[1]  # ttl applies on creation only; keep the running window
        self._data[key] = (encode(total), expires)
        self._wrote(now)
        return total

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._data.clear()
