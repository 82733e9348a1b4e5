"""In-process storage for tests, single-process development and the default worker's hot state.

Nothing is shared between processes or between two ``MemoryStorage`` instances, so ``add``
is only "atomic" within one event loop. Do not use it behind more than one worker.
"""

from __future__ import annotations

import heapq
import logging
import time
from array import array
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

__all__ = ["MemoryStorage"]

log = logging.getLogger(__name__)

# Keys live in one of two places.
#
# * The queue: keys written with a TTL whose deadline is no earlier than the last queued one.
#   With one TTL for a kind of key (retry claims: 300 s, every message) that is every such
#   write, and then expiry order is write order: a FIFO of keys (8 bytes a slot) beside an
#   array of deadlines (8 bytes, no float object), and a dict key → JSON text. About 130
#   bytes a claim, against ~210 for a tuple entry in a heap: the default worker keeps 64,000
#   claims, so this is most of its memory growth under load (README, "Performance").
#   Expired slots are popped from the front before every operation, so a queued key in the
#   dict is live by construction. A queued key deleted or rewritten elsewhere leaves its slot
#   behind; ``_orphans`` counts such slots per key so that popping one never removes the key's
#   newer incarnation.
# * The heap: everything else (no TTL, a deadline earlier than the queue's tail, e.g. a short
#   TTL after a long one): (deadline or None, key, JSON text) tuples in a dict, those with a
#   deadline also in a min-heap with lazy deletion (each write pops what has expired, O(log
#   n)); a heap entry is current only while the dict holds that exact tuple (``is``).
_Entry = tuple[float | None, str, str]

# Stale heap entries are tolerated until they outnumber live TTL keys by this much; then the
# heap is rebuilt from live data. The deadline array is compacted once this many slots in
# front of it are spent and they are at least half of it.
_HEAP_SLACK = 1024


class MemoryStorage(Storage):
    """Dict-backed store with exact expiry and an optional bound on the number of keys.

    Every method body runs without awaiting, so under asyncio each operation is atomic with
    respect to other tasks; no lock is needed. Values are kept as JSON text so they behave
    exactly like the persistent backends (a returned dict is a copy, tuples become lists).
    Expiry uses the monotonic clock, immune to wall-clock jumps.

    ``max_keys`` (None: unbounded) caps the number of keys: a write that adds a key beyond it
    first evicts the keys that would expire soonest anyway (the queue's front or the heap's
    head). The key being written is never the one evicted, and neither are keys without a
    TTL: when only those are left the write still succeeds and the store holds more than
    ``max_keys`` until some of them go. ``evictions`` counts the live keys evicted.

    ``expiry_queue=False`` keeps every key in the heap: ``export`` then reads a deadline in
    O(1), which an outage stand-in that replays thousands of keys needs. ``clock`` is for
    tests.
    """

    def __init__(
        self,
        max_keys: int | None = None,
        *,
        expiry_queue: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_keys is not None and (isinstance(max_keys, bool) or max_keys < 1):
            raise ValueError(f"max_keys must be a positive int or None, got {max_keys!r}")
        self.max_keys = max_keys
        self.evictions = 0
        self._use_queue = expiry_queue
        self._clock = clock
        self._queued: dict[str, str] = {}
        self._q_keys: deque[str] = deque()
        self._q_deadlines = array("d")
        self._q_head = 0  # index in _q_deadlines of _q_keys[0]'s deadline
        self._orphans: dict[str, int] = {}
        self._orphan_slots = 0
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

    def _pop_front(self) -> str | None:
        """Drop the queue's front slot; the key it still owned (and removed), else None."""
        key = self._q_keys.popleft()
        self._q_head += 1
        deadlines = self._q_deadlines
        if self._q_head >= _HEAP_SLACK and 2 * self._q_head >= len(deadlines):
            del deadlines[: self._q_head]
            self._q_head = 0
        orphans = self._orphans.get(key)
        if orphans:
            self._orphan_slots -= 1
            if orphans == 1:
                del self._orphans[key]
            else:
                self._orphans[key] = orphans - 1
            return None
        del self._queued[key]
        return key

    def _expire_queue(self, now: float) -> None:
        keys, deadlines = self._q_keys, self._q_deadlines
        while keys and deadlines[self._q_head] <= now:
            self._pop_front()

    def _orphan(self, key: str) -> None:
        """``key`` leaves the queue's dict before its slot leaves the queue."""
        del self._queued[key]
        self._orphans[key] = self._orphans.get(key, 0) + 1
        self._orphan_slots += 1

    def _compact_queue(self) -> None:
        """Drop the slots of keys rewritten or deleted since: a key rewritten on every message
        with a long TTL would otherwise leave a slot per write until its deadline."""
        owners: list[tuple[str, float]] = []
        seen: set[str] = set()
        deadlines, head = self._q_deadlines, self._q_head
        # Backwards, as a key's newest slot is the one that owns it (deque indexing is O(n)).
        slots = zip(range(len(self._q_keys) - 1, -1, -1), reversed(self._q_keys), strict=True)
        for offset, key in slots:
            if key in self._queued and key not in seen:
                seen.add(key)
                owners.append((key, deadlines[head + offset]))
        owners.reverse()
        self._q_keys = deque(key for key, _ in owners)
        self._q_deadlines = array("d", (deadline for _, deadline in owners))
        self._q_head = 0
        self._orphans.clear()
        self._orphan_slots = 0

    def _live(self, key: str, now: float) -> str | None:
        """The JSON text of a live key; expired ones are dropped on the way."""
        self._expire_queue(now)
        raw = self._queued.get(key)
        if raw is not None:
            return raw
        entry = self._data.get(key)
        if entry is None:
            return None
        expires = entry[0]
        if expires is not None and expires <= now:
            del self._data[key]
            return None
        return entry[2]

    def _deadline(self, key: str) -> float | None:
        """A live key's deadline. For a queued key that is a scan from the queue's back, so
        only ``export`` (outage replays, which use stores without the queue) asks for it."""
        entry = self._data.get(key)
        if entry is not None:
            return entry[0]
        keys = self._q_keys
        for offset, slot in zip(range(len(keys) - 1, -1, -1), reversed(keys), strict=True):
            if slot == key:
                return self._q_deadlines[self._q_head + offset]
        return None  # not reached: a queued key always has its slot

    def _remove(self, key: str) -> bool:
        if key in self._queued:
            self._orphan(key)
            return True
        return self._data.pop(key, None) is not None

    def _put(self, key: str, raw: str, expires: float | None, now: float) -> None:
        grew = not self._remove(key)
        keys = self._q_keys
        if (
            self._use_queue
            and expires is not None
            and (not keys or expires >= self._q_deadlines[-1])
        ):
            self._queued[key] = raw
            keys.append(key)
            self._q_deadlines.append(expires)
        else:
            entry = (expires, key, raw)
            self._data[key] = entry
            if expires is not None:
                heapq.heappush(self._expiries, entry)
        self._expire_heap(now)
        if self._orphan_slots > 2 * len(self._queued) + _HEAP_SLACK:
            self._compact_queue()
        if grew and self.max_keys is not None and len(self) > self.max_keys:
            self._make_room(key)

    def _expire_heap(self, now: float) -> None:
        data, heap = self._data, self._expiries
        while heap:
            deadline = heap[0][0]
            if deadline is None or deadline > now:  # (never None: the heap has deadlines only)
                break
            dead = heapq.heappop(heap)
            # Only if the key still holds this very entry: it may have been set again since.
            if data.get(dead[1]) is dead:
                del data[dead[1]]
        if len(heap) > 2 * len(data) + _HEAP_SLACK:
            self._expiries = [e for e in data.values() if e[0] is not None]
            heapq.heapify(self._expiries)

    def _heap_head(self) -> _Entry | None:
        """The heap's soonest live entry, dropping stale ones on the way."""
        heap, data = self._expiries, self._data
        while heap:
            head = heap[0]
            if data.get(head[1]) is head:
                return head
            heapq.heappop(heap)
        return None

    def _queue_head(self) -> float | None:
        """The deadline of the queue's first slot that still owns its key."""
        while self._q_keys:
            if not self._orphans.get(self._q_keys[0]):
                return self._q_deadlines[self._q_head]
            self._pop_front()
        return None

    def _make_room(self, keep: str) -> None:
        limit = self.max_keys
        assert limit is not None
        while len(self) > limit:
            if not self._evict_one(keep):
                break

    def _evict_one(self, keep: str) -> bool:
        """Evict the live key expiring soonest, never ``keep``; False when none can go."""
        head = self._heap_head()
        queued = self._queue_head()
        if queued is not None and self._q_keys[0] == keep:
            queued = None  # the front owner is the newest slot: the key being written
        if head is not None and head[1] == keep:
            heapq.heappop(self._expiries)
            try:
                return self._evict_one(keep)
            finally:
                heapq.heappush(self._expiries, head)
        if head is None and queued is None:
            return False
        if queued is not None and (head is None or queued <= (head[0] or 0.0)):
            self._pop_front()
        else:
            assert head is not None
            heapq.heappop(self._expiries)
            del self._data[head[1]]
        if not self.evictions:
            log.warning(
                "memory store full; evicting the keys closest to expiry",
                extra={"max_keys": self.max_keys},
            )
        self.evictions += 1
        return True

    @staticmethod
    def _expiry(ttl: float | None, now: float) -> float | None:
        ttl = check_ttl(ttl)
        return None if ttl is None else now + ttl

    # -- Storage ---------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        self._check_open()
        raw = self._live(key, self._clock())
        return None if raw is None else decode(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._check_open()
        now = self._clock()
        expires = self._expiry(ttl, now)
        raw = self._encode(value)
        self._live(key, now)  # drop it first if it has expired: then it is new, not rewritten
        self._put(key, raw, expires, now)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        self._check_open()
        now = self._clock()
        raw, expires = self._encode(value), self._expiry(ttl, now)
        if self._live(key, now) is not None:
            return False
        self._put(key, raw, expires, now)
        return True

    async def delete(self, key: str) -> None:
        self._check_open()
        self._remove(key)

    async def delete_prefix(self, prefix: str) -> int:
        self._check_open()
        now = self._clock()
        self._expire_queue(now)
        doomed = [k for k in self._queued if k.startswith(prefix)]
        for k in doomed:
            self._orphan(k)
        removed = len(doomed)
        for k in [k for k in self._data if k.startswith(prefix)]:
            # Expired keys are already "absent", so they are dropped but not counted,
            # matching Redis where they would simply not exist.
            if self._live(k, now) is not None:
                del self._data[k]
                removed += 1
        return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        self._check_open()
        check_amount(amount)
        now = self._clock()
        expires = self._expiry(ttl, now)
        raw = self._live(key, now)
        if raw is None:
            self._put(key, encode(amount), expires, now)
            return amount
        current = decode(raw)
        if isinstance(current, bool) or not isinstance(current, int):
            raise ValueError(f"value at {key!r} is not an integer counter")
        total: int = current + amount
        if key in self._queued:  # ttl applies on creation only: the slot keeps its deadline
            self._queued[key] = encode(total)
            return total
        # Keep the running window. The new tuple must be the one the heap knows, so it is
        # scheduled again (the old heap entry turns stale).
        deadline = self._data[key][0]
        entry = (deadline, key, encode(total))
        self._data[key] = entry
        if deadline is not None:
            heapq.heappush(self._expiries, entry)
        return total

    def export(self, key: str) -> tuple[Any, float | None] | None:
        """(value, seconds left or None) of a live key, else None: for copying it elsewhere."""
        now = self._clock()
        raw = self._live(key, now)
        value = None if raw is None else decode(raw)
        if value is None:
            return None
        deadline = self._deadline(key)
        return value, None if deadline is None else max(deadline - now, 0.001)

    def __len__(self) -> int:
        return len(self._queued) + len(self._data)

    async def ping(self) -> bool:
        return not self._closed

    async def close(self) -> None:
        self._closed = True
        self._queued.clear()
        self._q_keys.clear()
        self._q_deadlines = array("d")
        self._q_head = 0
        self._orphans.clear()
        self._orphan_slots = 0
        self._data.clear()
        self._expiries.clear()
