"""Rate limits shared by every worker through the storage."""

from __future__ import annotations

import logging

from bot.storage.base import Storage

__all__ = ["SlidingLimit"]

log = logging.getLogger(__name__)


class SlidingLimit:
    """At most ``limit`` events in any ``window`` seconds per key, across every worker.

    A token bucket whose tokens each come back ``window`` seconds after they were spent, so
    "20 per minute" holds over any 60-second span, not just per calendar minute (a fixed window
    would let 40 through around a minute boundary, and WeCom would answer the 21st with 45009).
    Each token is a storage key claimed with the atomic ``add`` and a TTL of ``window``: workers
    sharing the storage share the bucket, and a crashed worker's tokens come back by themselves.
    A rotating cursor makes the usual claim one ``incr`` plus one ``add``; when every token is
    out, a short "empty" marker spares the storage a full scan for each message of a flood.
    """

    def __init__(self, storage: Storage, namespace: str, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.storage = storage
        self.namespace = namespace
        self.limit = limit
        self.window = window

    async def acquire(self, key: str) -> bool:
        """Spend one token of ``key``; False when none is left. A storage failure allows."""
        base = f"{self.namespace}{key}"
        try:
            if await self.storage.get(f"{base}:empty") is not None:
                return False
            start = await self.storage.incr(f"{base}:cursor", ttl=self.window * 10)
            for i in range(self.limit):
                if await self.storage.add(f"{base}:{(start + i) % self.limit}", 1, self.window):
                    return True
            await self.storage.set(f"{base}:empty", 1, ttl=min(1.0, self.window))
            return False
        except Exception:
            # Answering a few too many during a storage outage beats answering nobody.
            log.exception("rate limit check failed; allowing", extra={"limit": self.namespace})
            return True

    async def first_refusal(self, key: str) -> bool:
        """True once per window for ``key``: whether to say "稍后再问" rather than nothing."""
        try:
            return await self.storage.add(f"{self.namespace}{key}:told", 1, ttl=self.window)
        except Exception:
            log.exception("rate limit notice check failed", extra={"limit": self.namespace})
            return False
