"""The one async storage interface every backend implements.

Conversation state, retry de-duplication, cached replies, rate-limit counters and the shared
access-token lock are all small JSON values under string keys with a time-to-live, so one
key/value contract serves them all. Keys are namespaced by the caller (``conv:<user>``,
``dedup:<msgid>``, ``lock:token``); ``delete_prefix`` removes everything of one user.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from bot.storage._codec import decode

# One write of a batch: (key, JSON text or None to delete, wall-clock deadline or None).
BatchRow = tuple[str, str | None, float | None]


class Storage(ABC):
    """Async key/value store of JSON-serialisable values with optional TTL (seconds).

    The contract every backend passes (``tests/test_storage_contract.py``):

    * Values round-trip through JSON: dict/list/str/int/float/bool come back equal and of the
      same type, as a fresh copy; tuples come back as lists, dict keys as strings. Values JSON
      cannot hold (sets, NaN/Infinity, objects) raise ``TypeError``/``ValueError`` on write.
    * ``None`` is storable but reads back exactly like an absent key, while still occupying
      it for ``add``. Don't store ``None``; delete the key instead.
    * ``ttl`` is a positive finite number of seconds (fractions fine), or None for no expiry;
      0, negatives, NaN and inf raise ``ValueError``. Expired keys are absent for every
      method. ``set`` replaces the TTL too (``set(k, v)`` makes ``k`` permanent).
    * Keys are any non-empty str (any Unicode, ``:`` welcome; no NUL, which Postgres
      rejects). Prefixes and wildcards are literal.
    * After ``close()`` methods raise ``RuntimeError`` and ``ping()`` returns False.
    """

    @abstractmethod
    async def get(self, key: str) -> Any | None:
        """Return the value, or None when absent or expired."""

    @abstractmethod
    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Store a value; ``ttl`` None means no expiry."""

    @abstractmethod
    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        """Store only if absent (or expired); True when this call created it.

        Atomic: of any number of concurrent ``add`` calls for one key, from any task,
        process or host sharing the backend, exactly one returns True. Use it for retry
        de-duplication and locks.
        """

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove a key; absent keys are fine."""

    @abstractmethod
    async def delete_prefix(self, prefix: str) -> int:
        """Remove every key starting with ``prefix``; return how many were removed.

        ``prefix`` is matched literally (``%``, ``_``, ``*``, ``?``, ``[`` are ordinary
        characters) and case-sensitively. Expired keys are removed but not counted.
        """

    @abstractmethod
    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Atomically add to an integer counter (created at 0); ``ttl`` applies on creation.

        Returns the new total. An existing live counter keeps its original expiry, so
        ``incr(k, ttl=60)`` counts in a fixed window (rate limits). Raises ``ValueError`` if
        the live value is not an integer.
        """

    async def write_batch(self, rows: Sequence[BatchRow]) -> None:
        """Apply already-encoded writes, later rows winning: for write-behind caches.

        Each row is ``(key, text, expires_at)``: ``text`` is the value's JSON as ``encode``
        makes it (None deletes the key) and ``expires_at`` an absolute ``time.time()`` deadline
        (None: no expiry; one already past leaves the key absent). Deadlines are absolute so a
        write applied late still expires when it was meant to. This default applies the rows
        one by one with ``set``/``delete``; backends that can override it with one round trip
        and one transaction (SQLite does).
        """
        for key, text, expires_at in rows:
            ttl = None if expires_at is None else expires_at - time.time()
            if text is None or (ttl is not None and ttl <= 0):
                await self.delete(key)
            else:
                await self.set(key, decode(text), ttl)

    @abstractmethod
    async def ping(self) -> bool:
        """True when the backend answers (used by /healthz)."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; the store is unusable afterwards. Safe to call twice."""
