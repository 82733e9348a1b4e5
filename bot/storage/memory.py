"""In-process storage for tests and single-process development.

Nothing is shared between processes or between two ``MemoryStorage`` instances, so ``add``
is only "atomic" within one event loop. Do not use it behind more than one worker.
"""

from __future__ import annotations

import heapq
import time
from typing import Any

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

__all__ = ["MemoryStorage"]

# Expiry is a min-heap of (deadline, key) with lazy deletion: each write pops only what has
# already expired, O(log n), instead of rescanning every key (a sweep over a million dedup
# markers every thousand writes cost more than the writes). Overwritten keys leave stale heap
# entries; the heap is rebuilt from live data when those outnumber live TTL keys.
_HEAP_SLACK = 1024


class MemoryStorage(Storage):
    """Dict-backed store with lazy expiry.

    Every method body runs without awaiting, so under asyncio each operation is atomic with
    respect to other tasks; no lock is needed. Values are kept as JSON text so they behave
    exactly like the persistent backends (a returned dict is a copy, tuples become lists).
    Expiry uses the monotonic clock, immune to wall-clock jumps.
    """

    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float | None]] = {}
        self._expiries: list[tuple[float, str]] = []
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

    def _wrote(self, key: str, expires: float | None, now: float) -> None:
        heap = self._expiries
        if expires is not None:
            heapq.heappush(heap, (expires, key))
        while heap and heap[0][0] <= now:
            deadline, dead = heapq.heappop(heap)
            entry = self._data.get(dead)
            # Only if the key still carries this deadline: it may have been set again since.
            if entry is not None and entry[1] == deadline:
                del self._data[dead]
        if len(heap) > 2 * len(self._data) + _HEAP_SLACK:
            self._expiries = [(exp, k) for k, (_, exp) in self._data.items() if exp is not None]
            heapq.heapify(self._expiries)

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
        expires = self._expiry(ttl, now)
        self._data[key] = (encode(value), expires)
        self._wrote(key, expires, now)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._check_open()
        now = time.monotonic()
        raw, expires = encode(value), self._expiry(ttl, now)
        if self._live(key, now) is not None:
            return False
        self._data[key] = (raw, expires)
        self._wrote(key, expires, now)
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
        # An existing deadline is already in the heap; pushing it again would only add slack.
        self._wrote(key, expires if entry is None else None, now)
        return total

    def export(self, key: str) -> tuple[Any, float | None] | None:
        """(value, seconds left or None) of a live key, else None: for copying it elsewhere."""
        now = time.monotonic()
        entry = self._live(key, now)
        if entry is None:
            return None
        value = decode(entry[0])
        if value is None:
            return None
        return value, None if entry[1] is None else max(entry[1] - now, 0.001)

    def __len__(self) -> int:
        return len(self._data)

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._data.clear()
        self._expiries.clear()
