"""Stores made of stores: hot keys apart from durable ones, and a local stand-in for outages.

``open_app_storage(settings)`` builds what the server uses:

* **Routing.** Per-message state (``HOT_PREFIXES``: retry de-duplication, conversations,
  customer-service quota counters, locks, the access token) goes to the *hot* store; the rest
  (reminder subscriptions, anything else) to the *durable* store named by ``DATABASE_URL``.
  The hot store is Redis when ``REDIS_URL`` is set (shared by every worker), else the durable
  store itself when several workers share it. The default single SQLite worker keeps it in
  this process, where nothing else reads it and a SQLite round trip per access would cost
  more than the rest of the message (see README, "Performance"), but bounded: retry claims
  and the other short-lived keys in capped memory stores, conversations in a capped LRU
  written behind to the SQLite file (:class:`~bot.storage.cached.WriteBehindStorage`).
* **Fallback.** Redis and PostgreSQL are wrapped in :class:`FallbackStorage`: when the server
  stops answering, operations go to a local :class:`MemoryStorage` at once (logged once per
  outage, never a 5xx), a background probe notices the server coming back, writes made in the
  meantime are replayed to it, and traffic returns to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.storage.base import Storage
from bot.storage.cached import WriteBehindStorage
from bot.storage.memory import MemoryStorage

__all__ = [
    "CONVERSATION_CACHE",
    "HOT_KEYS_MAX",
    "HOT_PREFIXES",
    "FallbackStorage",
    "RoutedStorage",
    "open_app_storage",
]

log = logging.getLogger(__name__)

# Key prefixes read or written for every message, or shared between workers for coordination.
HOT_PREFIXES = ("dedup:", "reply:", "conv:", "csq:", "lock:", "wechat:", "worker:")

# The default single SQLite worker's bounds (settings HOT_KEYS_MAX, CONVERSATION_CACHE).
#
# Retry claims (``dedup:<msg>``, 300 s TTL) are written once per message, so unbounded they
# grow to rate × 300 s (300,000 at 1,000 req/s, ~35 MiB). At most HOT_KEYS_MAX are kept (~115
# bytes each in MemoryStorage's expiry queue, dict slot included: ~7 MiB in all), those
# closest to expiry (the oldest) evicted first. At the worker's measured capacity of ~2,100-
# 2,800 req/s (README, "Performance") a claim then still lives ≥ 22 s, at half load ≥ 45 s:
# beyond WeChat's retry window (three tries ~5 s apart, the last ~15 s after the message). Replies
# (``reply:``, 30 s), quota counters, locks and the heartbeat get a memory store of their own
# with the same cap, so short-lived replies are never evicted to make room for claims.
HOT_KEYS_MAX = 64_000
# Conversations (~0.7 KB each in memory) cached in front of SQLite: recently active users
# answer without reading SQLite, the others with one primary-key lookup (~10 µs); every
# changed conversation costs one row of a batched upsert (~25 µs of CPU in aiosqlite's thread).
CONVERSATION_CACHE = 10_000
# While SQLite fails, at most four times CONVERSATION_CACHE conversation writes wait in memory
# (WriteBehindStorage's default max_pending; the oldest beyond are dropped): those still cached
# cost nothing more, the others ~0.7 KB each, so at most ~25 MiB more at the default, and only
# during the outage.
# Keys under these go to the write-behind cache; retry claims and the other hot ones to memory.
_CACHED_PREFIXES = ("conv:",)
_OTHER_MEMORY_PREFIXES = tuple(p for p in HOT_PREFIXES if p not in (*_CACHED_PREFIXES, "dedup:"))

T = TypeVar("T")


class RoutedStorage(Storage):
    """Keys starting with one of ``hot_prefixes`` live in ``hot``, all others in ``durable``."""

    def __init__(
        self, hot: Storage, durable: Storage, hot_prefixes: tuple[str, ...] = HOT_PREFIXES
    ) -> None:
        self.hot = hot
        self.durable = durable
        self.hot_prefixes = hot_prefixes

    def _for(self, key: str) -> Storage:
        return self.hot if key.startswith(self.hot_prefixes) else self.durable

    async def get(self, key: str) -> Any | None:
        return await self._for(key).get(key)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self._for(key).set(key, value, ttl)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return await self._for(key).add(key, value, ttl)

    async def delete(self, key: str) -> None:
        await self._for(key).delete(key)

    async def delete_prefix(self, prefix: str) -> int:
        if prefix.startswith(self.hot_prefixes):
            return await self.hot.delete_prefix(prefix)
        removed = await self.durable.delete_prefix(prefix)
        # A short prefix ("", "c") can cover hot keys too; one that a hot prefix cannot
        # extend ("sub:…") cannot, and skips the second store.
        if any(hot.startswith(prefix) for hot in self.hot_prefixes):
            removed += await self.hot.delete_prefix(prefix)
        return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return await self._for(key).incr(key, amount, ttl)

    async def ping(self) -> bool:
        return await self.hot.ping() and await self.durable.ping()

    async def close(self) -> None:
        try:
            await self.hot.close()
        finally:
            if self.durable is not self.hot:
                await self.durable.close()


class FallbackStorage(Storage):
    """``primary`` (a server) while it answers; a local memory store while it does not.

    Errors that say "the server is not there" (connection refused or reset, timeouts, driver
    errors) switch to the local store; errors of the contract itself (``ValueError`` for a
    non-integer counter or a bad TTL, ``TypeError`` for a value JSON cannot hold) and use after
    ``close()`` propagate as from any store. While down, no request waits on the server: one
    background task pings it every ``retry_every`` seconds, replays the keys written locally
    (their current value and remaining TTL, or their deletion), then switches back. State held
    only in the stand-in is per process: workers do not share it until the server is back.
    """

    def __init__(
        self,
        primary: Storage,
        name: str,
        *,
        timeout: float = 2.0,
        retry_every: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.name = name
        self.timeout = timeout
        self.retry_every = retry_every
        self._clock = clock
        # Heap only: replaying an outage exports every key written locally, and a queued key's
        # deadline is a scan away.
        self.local = MemoryStorage(expiry_queue=False)
        self.down = False
        self.outages = 0
        self._dirty: set[str] = set()  # keys written locally during the outage
        self._wiped: list[str] = []  # prefixes deleted during the outage, replayed first
        self._probe: asyncio.Task[None] | None = None
        self._closed = False

    # -- switching ------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        if self.down:
            return
        self.down = True
        self.outages += 1
        # Once per outage, not per request: a burst would otherwise log thousands of lines.
        log.error(
            "storage unavailable; answering from local memory until it returns",
            extra={"storage": self.name, "error": f"{type(exc).__name__}: {exc}"[:200]},
        )
        if not self._closed:
            self._probe = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.retry_every)
            try:
                async with asyncio.timeout(self.timeout):
                    alive = await self.primary.ping()
                if alive:
                    await self._replay()
            except Exception as exc:  # still down, or it failed again mid-replay
                log.debug(
                    "storage still unavailable", extra={"storage": self.name, "error": str(exc)}
                )
                continue
            if alive:
                self.down = False
                log.warning("storage is back; local writes replayed", extra={"storage": self.name})
                return

    async def _replay(self) -> None:
        for prefix in self._wiped:
            await self.primary.delete_prefix(prefix)
        self._wiped.clear()
        while self._dirty:
            key = next(iter(self._dirty))
            raw = self.local.export(key)
            if raw is None:
                await self.primary.delete(key)
            else:
                value, ttl = raw
                await self.primary.set(key, value, ttl)
            self._dirty.discard(key)
        # The stand-in's data now lives in the primary; keep nothing stale for the next outage.
        self.local = MemoryStorage(expiry_queue=False)

    async def _run(
        self,
        key: str | None,
        primary: Callable[[], Awaitable[T]],
        local: Callable[[MemoryStorage], Awaitable[T]],
    ) -> T:
        if self._closed:
            raise RuntimeError("storage is closed")
        if not self.down:
            try:
                async with asyncio.timeout(self.timeout):
                    return await primary()
            except (ValueError, TypeError):
                raise
            except RuntimeError:
                if self._closed:
                    raise
                self._fail(RuntimeError("primary closed"))
            except Exception as exc:
                self._fail(exc)
        if key is not None:
            self._dirty.add(key)
        return await local(self.local)

    # -- Storage ----------------------------------------------------------------------------

    async def get(self, key: str) -> Any | None:
        if self._closed:
            raise RuntimeError("storage is closed")
        if not self.down:
            try:
                async with asyncio.timeout(self.timeout):
                    return await self.primary.get(key)
            except (ValueError, TypeError):
                raise
            except Exception as exc:
                self._fail(exc)
        return await self.local.get(key)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self._run(
            key, lambda: self.primary.set(key, value, ttl), lambda s: s.set(key, value, ttl)
        )

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return await self._run(
            key, lambda: self.primary.add(key, value, ttl), lambda s: s.add(key, value, ttl)
        )

    async def delete(self, key: str) -> None:
        await self._run(key, lambda: self.primary.delete(key), lambda s: s.delete(key))

    async def delete_prefix(self, prefix: str) -> int:
        async def local(store: MemoryStorage) -> int:
            # Keys of the prefix written before the outage are in the primary only: delete
            # them there on recovery, before replaying anything written since.
            self._wiped.append(prefix)
            self._dirty = {k for k in self._dirty if not k.startswith(prefix)}
            return await store.delete_prefix(prefix)

        return await self._run(None, lambda: self.primary.delete_prefix(prefix), local)

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return await self._run(
            key,
            lambda: self.primary.incr(key, amount, ttl),
            lambda s: s.incr(key, amount, ttl),
        )

    async def ping(self) -> bool:
        # Degraded but answering: /healthz stays green so a load balancer keeps this worker.
        return not self._closed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._probe is not None:
            self._probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe
        await self.local.close()
        await self.primary.close()


def open_app_storage(
    database_url: str,
    redis_url: str = "",
    workers: int = 1,
    *,
    hot_keys_max: int = HOT_KEYS_MAX,
    conversation_cache: int = CONVERSATION_CACHE,
) -> Storage:
    """The server's store for these settings (see the module docstring); cheap, connects lazily.

    ``DATABASE_URL`` alone keeps everything in that store, except in the default single
    SQLite worker, whose per-message state stays in this process (a SQLite file is one
    machine's; with ``workers == 1`` no other process reads that state): retry claims in a
    memory store of at most ``hot_keys_max`` keys, replies, counters and locks in another,
    conversations in an LRU of ``conversation_cache`` entries written behind to the file (at
    most four times as many writes wait while the file fails; the oldest beyond are dropped).
    PostgreSQL may be shared by processes on other machines, so without Redis its state stays
    in PostgreSQL.
    """
    from bot.storage import open_storage

    scheme = database_url.partition("://")[0].lower()
    durable = open_storage(database_url)
    if scheme in ("postgresql", "postgres", "redis", "rediss"):
        durable = FallbackStorage(durable, scheme)
    if redis_url:
        hot: Storage = FallbackStorage(open_storage(redis_url), "redis")
    elif scheme == "sqlite" and workers == 1:
        claims = MemoryStorage(max_keys=hot_keys_max)
        others = MemoryStorage(max_keys=hot_keys_max)
        conversations = WriteBehindStorage(
            durable, prefixes=_CACHED_PREFIXES, max_entries=conversation_cache
        )
        # dedup: → claims; reply:, csq:, lock:, … → others; conv: → the write-behind cache;
        # everything else passes through that cache straight to the file.
        rest = RoutedStorage(others, conversations, hot_prefixes=_OTHER_MEMORY_PREFIXES)
        return RoutedStorage(claims, rest, hot_prefixes=("dedup:",))
    else:
        return durable
    return RoutedStorage(hot, durable)
