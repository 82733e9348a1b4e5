"""Redis storage: shared by any number of bot processes and hosts.

Every key is stored under a prefix (default ``yb:``) so the bot can share a Redis database
with other applications and ``delete_prefix`` never strays outside our namespace. Redis owns
expiry, so there is nothing to purge.

Commands go through :mod:`bot.storage.resp`, our own small RESP2 client: one connection per
store, commands of concurrent tasks pipelined into one write per loop iteration. It costs a
fraction of redis-py's CPU per command (see README, "Performance") and needs no package.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.storage._codec import check_amount, check_ttl, decode, encode
from bot.storage.base import Storage
from bot.storage.resp import RedisClient, Reply, ReplyError, pack

__all__ = ["RedisStorage", "escape_glob"]

DEFAULT_PREFIX = "yb:"
_SCAN_COUNT = 500
_PING = pack(["PING"])


def escape_glob(text: str) -> str:
    """Escape Redis MATCH glob metacharacters so ``text`` matches only itself."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _ms(ttl: float) -> int:
    # Round up: a 0.0004 s TTL must still be >= 1 ms (Redis rejects PX 0) and never shorter
    # than asked.
    return max(1, math.ceil(ttl * 1000))


def _bulk(data: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(data), data)


class RedisStorage(Storage):
    """A :class:`~bot.storage.resp.RedisClient` under a key prefix; connects lazily."""

    def __init__(self, client: RedisClient, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._prefix = prefix.encode()
        self._closed = False

    @classmethod
    def from_url(cls, url: str, *, prefix: str | None = None) -> RedisStorage:
        """``redis://[[user]:password@]host:port/db[?prefix=yb:]``, ``rediss://``, ``unix://``.

        ``prefix`` may come from the URL query or the argument (the argument wins); the
        other query options are those of :func:`bot.storage.resp.parse_url`.
        """
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        url_prefix = next((v for k, v in query if k == "prefix"), None)
        rest = [(k, v) for k, v in query if k != "prefix"]
        client = RedisClient.from_url(urlunsplit(parts._replace(query=urlencode(rest))))
        chosen = prefix if prefix is not None else url_prefix
        return cls(client, prefix=DEFAULT_PREFIX if chosen is None else chosen)

    def _k(self, key: str) -> bytes:
        if self._closed:
            raise RuntimeError("storage is closed")
        return self._prefix + key.encode()

    # The hot commands are encoded here by hand: a generic `pack` costs a few µs more each.

    async def get(self, key: str) -> Any | None:
        name = self._k(key)
        raw = await self.client.execute_packed(b"*2\r\n$3\r\nGET\r\n" + _bulk(name))
        if raw is None:
            return None
        if not isinstance(raw, bytes):
            raise ReplyError(f"unexpected GET reply {raw!r}")
        return decode(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        ttl = check_ttl(ttl)
        name = self._k(key)
        data = encode(value).encode()
        if ttl is None:
            cmd = b"*3\r\n$3\r\nSET\r\n" + _bulk(name) + _bulk(data)
        else:
            ms = b"%d" % _ms(ttl)
            cmd = b"*5\r\n$3\r\nSET\r\n%b%b$2\r\nPX\r\n%b" % (_bulk(name), _bulk(data), _bulk(ms))
        await self.client.execute_packed(cmd)

    async def add(self, key: str, value: Any, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        name = self._k(key)
        data = encode(value).encode()
        if ttl is None:
            cmd = b"*4\r\n$3\r\nSET\r\n%b%b$2\r\nNX\r\n" % (_bulk(name), _bulk(data))
        else:
            ms = b"%d" % _ms(ttl)
            cmd = b"*6\r\n$3\r\nSET\r\n%b%b$2\r\nNX\r\n$2\r\nPX\r\n%b" % (
                _bulk(name),
                _bulk(data),
                _bulk(ms),
            )
        return await self.client.execute_packed(cmd) is not None

    async def delete(self, key: str) -> None:
        await self.client.execute(b"DEL", self._k(key))

    async def delete_prefix(self, prefix: str) -> int:
        self._k(prefix)  # raises once closed
        pattern = escape_glob(self.prefix + prefix) + "*"
        removed = 0
        batch: list[bytes] = []
        cursor: bytes = b"0"
        # SCAN, not KEYS: it never blocks the server. Deleting while scanning is safe; SCAN
        # guarantees every key present for the whole scan is returned at least once.
        while True:
            reply = await self.client.execute(
                b"SCAN", cursor, b"MATCH", pattern, b"COUNT", _SCAN_COUNT
            )
            cursor, names = _scan_page(reply)
            batch.extend(names)
            if len(batch) >= _SCAN_COUNT or (cursor == b"0" and batch):
                removed += _int(await self.client.execute(b"DEL", *batch))
                batch.clear()
            if cursor == b"0":
                return removed

    async def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        check_amount(amount)
        ttl = check_ttl(ttl)
        name = self._k(key)
        try:
            if ttl is None:
                return _int(await self.client.execute(b"INCRBY", name, amount))
            # MULTI/EXEC: "SET 0 NX PX" creates the counter with its TTL only when absent,
            # and INCRBY keeps an existing TTL, so the window starts at creation. No Lua
            # needed (some managed Redis deployments disable scripting).
            _, total = await self.client.transaction(
                [(b"SET", name, b"0", b"NX", b"PX", _ms(ttl)), (b"INCRBY", name, amount)]
            )
            if isinstance(total, ReplyError):
                raise total
            return _int(total)
        except ReplyError as exc:
            if "not an integer" in str(exc):
                raise ValueError(f"value at {key!r} is not an integer counter") from exc
            raise

    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            async with asyncio.timeout(5):
                return await self.client.execute_packed(_PING) == b"PONG"
        except asyncio.CancelledError:
            # The caller's own timeout (the fallback probe's): a connection that does not
            # answer a PING is not worth keeping; the next command opens a fresh one.
            self.client.drop_connection()
            raise
        except Exception:
            self.client.drop_connection()
            return False

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self.client.close()


def _int(reply: Reply) -> int:
    if not isinstance(reply, int):
        raise ReplyError(f"expected an integer reply, got {reply!r}")
    return reply


def _scan_page(reply: Reply) -> tuple[bytes, list[bytes]]:
    if (
        isinstance(reply, list)
        and len(reply) == 2
        and isinstance(reply[0], bytes)
        and isinstance(reply[1], list)
    ):
        return reply[0], [name for name in reply[1] if isinstance(name, bytes)]
    raise ReplyError(f"unexpected SCAN reply {reply!r}")
