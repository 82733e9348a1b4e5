"""In-process storage for tests, single-process development and the default worker's hot state.

Nothing is shared between processes or between two ``MemoryStorage`` instances, so ``add``
is only "atomic" within one event loop. Do not use it behind more than one worker.
"""

from __future__ import annotations

import heapq
import logging
import time
from typing import Any

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

__all__ = ["MemoryStorage"]

log = logging.getLogger(__name__)

# One entry per key: (deadline or None, key, JSON text). The very same tuple is the key's
# entry in the expiry heap, so a key with a TTL costs one tuple, not one in the dict and
# another in the heap (~50 bytes less per key); a heap entry is current only while the dict
# still holds that exact tuple (``is``). Heap entries always have a deadline, so tuples in the
# heap compare by deadline first, then by key.
_Entry = tuple[float | None, str, str]

# Expiry is a min-heap with lazy deletion: each write pops only what has already expired,
# O(log n), instead of rescanning every key (a sweep over a million dedup markers every
# thousand writes cost more than the writes). Overwritten or deleted keys leave stale heap
# entries; the heap is rebuilt from live data when those outnumber live TTL keys.
_HEAP_SLACK = 1024


class MemoryStorage(Storage):
    """Dict-backed store with lazy expiry and an optional bound on the number of keys.

    Every method body runs without awaiting, so under asyncio each operation is atomic with
    respect to other tasks; no lock is needed. Values are kept as JSON text so they behave
    exactly like the persistent backends (a returned dict is a copy, tuples become lists).
    Expiry uses the monotonic clock, immune to wall-clock jumps.

    ``max_keys`` (None: unbounded) caps the number of keys: a write that adds a key beyond it
    first evicts the keys that would expire soonest anyway (the expiry heap's head, so O(log n)
    each). The key being written is never the one evicted, and neither are keys without a TTL:
    when only those are left the write still succeeds and the store holds more than
    ``max_keys`` until some of them go. ``evictions`` counts the live keys evicted.
    """

    def __init__(self, max_keys: int | None = None) -> None:
        if max_keys is not None and (isinstance(max_keys, bool) or max_keys < 1):
            raise ValueError(f"max_keys must be a positive int or None, got {max_keys!r}")
        self.max_keys = max_keys
        self.evictions = 0
        self._data: dict[str, _Entry] = {}
        self._expiries: list[_Entry] = []
        self._closed = False
        # The last value text written, reused when the next one is equal: retry claims written
        # in the same second ({"at": <second>, "w": <worker>}) then share one string.
        self._last_raw = ""

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryStorage:
        if not url.startswith("memory://"):
            raise ValueError(f"not a memory:// URL: {url!r}")
        return cls()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("storage is closed")

    def _encode(self, value: Any) -> str:
        raw = encode(value)
        if raw == self._last_raw:
            return self._last_raw
        self._last_raw = raw
        return raw

    def _live(self, key: str, now: float) -> _Entry | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        expires = entry[0]
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return entry

    def _put(self, entry: _Entry, now: float) -> None:
        data = self._data
        key = entry[1]
        grew = key not in data
        data[key] = entry
        heap = self._expiries
        if entry[0] is not None:
            heapq.heappush(heap, entry)
        while heap:
            deadline = heap[0][0]
            if deadline is None or deadline > now:  # (never None: the heap has deadlines only)
                break
            dead = heapq.heappop(heap)
            # Only if the key still holds this very entry: it may have been set again since.
            if data.get(dead[1]) is dead:
                del data[dead[1]]
        if grew and self.max_keys is not None and len(data) > self.max_keys:
            self._make_room(entry)
        if len(heap) > 2 * len(data) + _HEAP_SLACK:
            self._expiries = [e for e in data.values() if e[0] is not None]
            heapq.heapify(self._expiries)

    def _make_room(self, keep: _Entry) -> None:
        data, heap, limit = self._data, self._expiries, self.max_keys
        assert limit is not None
        held: _Entry | None = None
        while len(data) > limit and heap:
            victim = heapq.heappop(heap)
            if data.get(victim[1]) is not victim:
                continue  # stale: overwritten or deleted since
            if victim is keep:
                held = victim  # never evict what is being written; look further
                continue
            del data[victim[1]]
            if not self.evictions:
                log.warning(
                    "memory store full; evicting the keys closest to expiry",
                    extra={"max_keys": limit},
                )
            self.evictions += 1
        if held is not None:
            heapq.heappush(heap, held)

    @staticmethod
    def _expiry(ttl: float | None, now: float) -> float | None:
        ttl = check_ttl(ttl)
        return None if ttl is None else now + ttl

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        self._check_open()
        entry = self._live(key, time.monotonic())
        return None if entry is None else decode(entry[2])

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._check_open()
        now = time.monotonic()
        expires = self._expiry(ttl, now)
        self._put((expires, key, self._encode(value)), now)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._check_open()
        now = time.monotonic()
        raw, expires = self._encode(value), self._expiry(ttl, now)
        if self._live(key, now) is not None:
            return False
        self._put((expires, key, raw), now)
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
            self._put((expires, key, encode(amount)), now)
            return amount
        current = decode(entry[2])
        if isinstance(current, bool) or not isinstance(current, int):
            raise ValueError(f"value at {key!r} is not an integer counter")
        total: int = current + amount
        # ttl applies on creation only: keep the running window. The new tuple must be the
        # one the heap knows, so it is scheduled again (the old heap entry turns stale).
        self._put((entry[0], key, encode(total)), now)
        return total

    def export(self, key: str) -> tuple[Any, float | None] | None:
        """(value, seconds left or None) of a live key, else None: for copying it elsewhere."""
        now = time.monotonic()
        entry = self._live(key, now)
        if entry is None:
            return None
        value = decode(entry[2])
        if value is None:
            return None
        return value, None if entry[0] is None else max(entry[0] - now, 0.001)

    def __len__(self) -> int:
        return len(self._data)

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._data.clear()
        self._expiries.clear()
