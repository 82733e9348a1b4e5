"""Redis storage (extra ``[redis]``): shared by any number of bot processes and hosts.

Every key is stored under a prefix (default ``yb:``) so the bot can share a Redis database
with other applications and ``delete_prefix`` never strays outside our namespace. Redis owns
expiry, so there is nothing to purge.
"""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisStorage", "escape_glob"]

DEFAULT_PREFIX = "yb:"
_SCAN_COUNT = 500


def escape_glob(text: str) -> str:
    """Escape Redis MATCH glob metacharacters so ``text`` matches only itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _ms(ttl: float) -> int:
    # Round up: a 0.0004 s TTL must still be >= 1 ms (Redis rejects PX 0) and never shorter
    # than asked.
    return max(1, math.ceil(ttl * 1000))


def _import_redis() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "redis:// storage needs the redis package: pip install 'yibao-assistant[redis]'"
        ) from exc
    return aioredis


class RedisStorage(Storage):
    """Wraps a ``redis.asyncio.Redis`` client; connections are opened lazily by redis-py."""

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, prefix: str | None = None) -> RedisStorage:
        """``redis://[:password@]host:port/db[?prefix=yb:]`` (also ``rediss://``, ``unix://``).

        ``prefix`` may come from the URL query or the argument (the argument wins); other
        query options are passed to redis-py unchanged.
        """
        aioredis = _import_redis()
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        url_prefix = next((v for k, v in query if k == "prefix"), None)
        rest = [(k, v) for k, v in query if k != "prefix"]
        clean = urlunsplit(parts._replace(query=urlencode(rest)))
        # A *blocking* pool: a burst of webhook calls waits (up to 10 s) for one of the
        # connections instead of failing with "Too many connections". Bounded connect
        # timeout so /healthz and startup fail fast. `?max_connections=` in the URL wins.
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError

        # One immediate retry on a fresh connection: after a Redis restart every pooled
        # connection is dead, and without it each would fail one command (and trip the
        # fallback again) before being replaced.
        pool = aioredis.BlockingConnectionPool.from_url(
            clean,
            max_connections=50,
            timeout=10,
            socket_connect_timeout=5,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError],
        )
        client = aioredis.Redis.from_pool(pool)  # the client owns (and closes) the pool
        chosen = prefix if prefix is not None else url_prefix
        return cls(client, prefix=DEFAULT_PREFIX if chosen is None else chosen)

    def _k(self, key: str) -> str:
        if self._closed:
            raise RuntimeError("storage is closed")
        return self.prefix + key

    async def get(self, key: str) -> Any | None:
        raw = await self.client.get(self._k(key))
        return decode(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        ttl = check_ttl(ttl)
        await self.client.set(self._k(key), encode(value), px=None if ttl is None else _ms(ttl))

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        created = await self.client.set(
            self._k(key), encode(value), nx=True, px=None if ttl is None else _ms(ttl)
        )
        return bool(created)

    async def delete(self, key: str) -> None:
        await self.client.delete(self._k(key))

    async def delete_prefix(self, prefix: str) -> int:
        pattern = escape_glob(self._k(prefix)) + "*"
        removed = 0
        batch: list[bytes] = []
        # SCAN, not KEYS: it never blocks the server. Deleting while scanning is safe; SCAN
        # guarantees every key present for the whole scan is returned at least once.
        async for name in self.client.scan_iter(match=pattern, count=_SCAN_COUNT):
            batch.append(name)
            if len(batch) >= _SCAN_COUNT:
                removed += int(await self.client.delete(*batch))
                batch.clear()
        if batch:
            removed += int(await self.client.delete(*batch))
        return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        check_amount(amount)
        ttl = check_ttl(ttl)
        name = self._k(key)
        from redis.exceptions import ResponseError

        try:
            if ttl is None:
                return int(await self.client.incrby(name, amount))
            # MULTI/EXEC: "SET 0 NX PX" creates the counter with its TTL only when absent,
            # and INCRBY keeps an existing TTL, so the window starts at creation. No Lua
            # needed (some managed Redis deployments disable scripting).
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, 0, nx=True, px=_ms(ttl))
                pipe.incrby(name, amount)
                _, total = await pipe.execute()
            return int(total)
        except ResponseError as exc:
            if "not an integer" in str(exc):
                raise ValueError(f"value at {key!r} is not an integer counter") from exc
            raise

    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            return bool(await asyncio.wait_for(self.client.ping(), timeout=5))
        except Exception:
            return False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.aclose()
