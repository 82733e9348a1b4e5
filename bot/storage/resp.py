"""A small asyncio Redis client: RESP2 over one connection, with automatic pipelining.

Why not redis-py: its asyncio client spent 120-160 µs of CPU per command here (hiredis did
not help), the largest cost of a message in Redis mode. Here a command is a few bytes
appended to an output list and one future, ~5 µs of CPU:

* **Automatic pipelining.** Every command issued by any task during one event-loop iteration
  is written with a single ``transport.write`` (a ``call_soon`` flush), and its reply is
  matched to its future in order: Redis answers the commands of one connection in the order
  it received them. One connection serves any number of concurrent callers, so bursts never
  open more connections (there is one, plus at most one being opened). No Task per command.
* **Incremental parser.** :meth:`_RespProtocol.data_received` parses as many complete replies
  as the bytes hold and keeps the rest (a reply split over reads, a large bulk string) until
  enough has arrived; replies are bulk strings (``bytes``), integers, simple strings
  (``bytes``), nil (``None``), arrays (``list``) and errors (:class:`ReplyError`, raised when
  it is the whole reply, kept as a value inside an array such as an ``EXEC`` result).
* **Failures.** When the connection closes (server restart, ``CLIENT KILL``, idle timeout)
  every command already written fails with :class:`RedisConnectionError` (it may or may not
  have run, so it is never repeated) and the next command opens a new connection (connect +
  ``AUTH``/``SELECT``, bounded by ``connect_timeout``); commands queued but not yet written
  are sent once on that new connection. A reply outstanding for ``reply_timeout`` seconds
  with nothing received drops the connection (:class:`RedisTimeoutError`), so a half-open TCP
  connection does not hang callers for ever.

Blocking commands (``BLPOP``) work but hold up everything queued behind them on the shared
connection; there is no pub/sub and no RESP3: the storage needs none of them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeAlias
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "ConnectOptions",
    "ProtocolError",
    "RedisClient",
    "RedisConnectionError",
    "RedisTimeoutError",
    "Reply",
    "ReplyError",
    "pack",
    "parse_url",
]

Arg: TypeAlias = bytes | str | int
Reply: TypeAlias = "bytes | int | None | list[Reply] | ReplyError"


class ReplyError(Exception):
    """An error reply from the server (``-ERR ...``, ``-WRONGTYPE ...``)."""


class RedisConnectionError(ConnectionError):
    """No usable connection: refused, closed, handshake failed or the client is closed."""


class RedisTimeoutError(RedisConnectionError, TimeoutError):
    """Connecting, or waiting for a reply, took longer than allowed."""


class ProtocolError(RedisConnectionError):
    """The server sent something that is not RESP2, or a reply nobody asked for."""


# -- encoding ---------------------------------------------------------------------------------


def pack(args: Sequence[Arg]) -> bytes:
    """One command as a RESP array of bulk strings (``str`` as UTF-8, ``int`` as decimal)."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            data = arg.encode()
        elif isinstance(arg, int):
            data = b"%d" % arg
        else:
            data = arg
        out.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(out)


# -- decoding ---------------------------------------------------------------------------------


class _Incomplete(Exception):
    """The buffer ends inside a reply; ``need`` is the buffer length worth parsing again."""

    def __init__(self, need: int) -> None:
        self.need = need


def parse(buf: bytes, pos: int = 0) -> tuple[Reply, int]:
    """Parse one reply starting at ``buf[pos]``; return it and the position after it.

    Raises ``_Incomplete`` when the reply is not all there yet, :class:`ProtocolError` when
    the bytes are not RESP2.
    """
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise _Incomplete(len(buf) + 1)
    kind = buf[pos]
    if kind == 36:  # $: bulk string, $-1 is nil
        try:
            size = int(buf[pos + 1 : end])
        except ValueError:
            raise ProtocolError(f"bad bulk length {buf[pos:end]!r}") from None
        if size < 0:
            return None, end + 2
        start = end + 2
        stop = start + size
        if stop + 2 > len(buf):
            raise _Incomplete(stop + 2)
        return buf[start:stop], stop + 2
    if kind == 43:  # +: simple string
        return buf[pos + 1 : end], end + 2
    if kind == 58:  # :: integer
        try:
            return int(buf[pos + 1 : end]), end + 2
        except ValueError:
            raise ProtocolError(f"bad integer {buf[pos:end]!r}") from None
    if kind == 45:  # -: error
        return ReplyError(buf[pos + 1 : end].decode("utf-8", "replace")), end + 2
    if kind == 42:  # *: array, *-1 is nil
        try:
            count = int(buf[pos + 1 : end])
        except ValueError:
            raise ProtocolError(f"bad array length {buf[pos:end]!r}") from None
        if count < 0:
            return None, end + 2
        items: list[Reply] = []
        pos = end + 2
        for _ in range(count):
            item, pos = parse(buf, pos)
            items.append(item)
        return items, pos
    raise ProtocolError(f"unexpected reply type {buf[pos : pos + 1]!r}")


# -- the connection ---------------------------------------------------------------------------

# A queued command: packed payload, replies to skip before its own (a transaction's OK and
# QUEUEDs), the future for its reply, and how many connections it was queued on before.
_Item: TypeAlias = "tuple[bytes, int, asyncio.Future[Reply], int]"
# A pending reply: its future, or None for a reply to skip.
_Waiter: TypeAlias = "asyncio.Future[Reply] | None"


class _RespProtocol(asyncio.Protocol):
    """One Redis connection: queues commands, flushes them once per loop iteration, and
    resolves the waiting futures in order as replies arrive."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        reply_timeout: float | None,
        on_lost: Callable[[_RespProtocol, list[_Item]], None],
    ) -> None:
        self.loop = loop
        self.reply_timeout = reply_timeout
        self.on_lost = on_lost
        self.transport: asyncio.Transport | None = None
        self.usable = False  # connected, not closing: what is queued now will be written
        self.dead = False  # connection_lost has run
        self.installed = False  # the client's connection (not one still in its handshake)
        self.lost: asyncio.Future[None] = loop.create_future()
        self._waiters: collections.deque[_Waiter] = collections.deque()  # written, unanswered
        self._out: list[_Item] = []  # queued, not written yet
        self._chunks: list[bytes] = []  # an incomplete reply, until `_need` bytes are there
        self._have = 0
        self._need = 0
        self._progress = 0.0  # when the oldest pending reply started to wait, or bytes came
        self._idle = True  # no reply outstanding at the last look
        self._timer: asyncio.TimerHandle | None = None
        self.error: RedisConnectionError | None = None  # why we dropped the connection

    # -- asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.usable = True

    def data_received(self, data: bytes) -> None:
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return
            data = b"".join(self._chunks)
            self._chunks = []
        waiters = self._waiters
        pos = 0
        size = len(data)
        try:
            while pos < size:
                reply, pos = parse(data, pos)
                if not waiters:
                    # Redis says why before it hangs up (maxclients, protocol errors).
                    self.abort(ProtocolError(f"unexpected reply from redis: {reply!r}"))
                    return
                fut = waiters.popleft()
                if fut is not None and not fut.done():
                    if type(reply) is ReplyError:
                        fut.set_exception(reply)
                    else:
                        fut.set_result(reply)
        except _Incomplete as inc:
            self._chunks = [data[pos:]]
            self._have = size - pos
            self._need = inc.need - pos
        except ProtocolError as exc:
            self.abort(exc)
            return
        if self.reply_timeout is not None:
            self._progress = self.loop.time()
        if not waiters:
            self._idle = True

    def eof_received(self) -> bool | None:
        # Commands queued from now on wait for the next connection instead of this one.
        self.usable = False
        return None  # close the transport: connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self.dead = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        reason = self.error
        if reason is None:
            detail = f": {exc}" if exc is not None else " (closed by the server)"
            reason = RedisConnectionError(f"connection to redis lost{detail}")
        # Written commands may or may not have run: they fail. Unwritten ones are handed
        # back to the client, which may queue them on the next connection.
        waiters, self._waiters = self._waiters, collections.deque()
        for fut in waiters:
            if fut is not None and not fut.done():
                fut.set_exception(type(reason)(*reason.args))
        unsent, self._out = self._out, []
        self._chunks = []
        if not self.lost.done():
            self.lost.set_result(None)
        self.on_lost(self, unsent)

    # -- commands

    def send(self, payload: bytes, skip: int = 0) -> asyncio.Future[Reply]:
        """Queue ``payload`` (one or more packed commands); the future gets the last reply.

        ``skip`` replies before it are discarded (a transaction's ``OK`` and ``QUEUED``s).
        """
        fut: asyncio.Future[Reply] = self.loop.create_future()
        self.enqueue((payload, skip, fut, 0))
        return fut

    def enqueue(self, item: _Item) -> None:
        if self.dead:
            item[2].set_exception(self.error or RedisConnectionError("connection lost"))
            return
        if not self._out:
            self.loop.call_soon(self._flush)
        self._out.append(item)

    def _flush(self) -> None:
        out = self._out
        if not out or not self.usable or self.transport is None:
            return  # closing: connection_lost hands what is queued back to the client
        self._out = []
        waiters = self._waiters
        chunks = []
        for payload, skip, fut, _ in out:
            if fut.done():  # its caller gave up before it was sent: don't run it
                continue
            chunks.append(payload)
            if skip:
                waiters.extend(itertools.repeat(None, skip))
            waiters.append(fut)
        if not chunks:
            return
        self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))
        if self.reply_timeout is not None:
            if self._idle:
                self._progress = self.loop.time()
            if self._timer is None:
                self._timer = self.loop.call_at(
                    self._progress + self.reply_timeout, self._check_stall
                )
        self._idle = False

    def _check_stall(self) -> None:
        self._timer = None
        if not self._waiters or self.reply_timeout is None:
            return
        deadline = self._progress + self.reply_timeout
        if self.loop.time() >= deadline:
            self.abort(RedisTimeoutError(f"no reply from redis within {self.reply_timeout:g} s"))
        else:
            self._timer = self.loop.call_at(deadline, self._check_stall)

    def abort(self, reason: RedisConnectionError) -> None:
        """Drop the connection now; pending commands fail with ``reason``."""
        if self.error is None:
            self.error = reason
        self.usable = False
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        """Close after writing what is queued; pending commands fail."""
        if self.error is None:
            self.error = RedisConnectionError("redis client closed")
        self._flush()
        self.usable = False
        if self.transport is not None:
            self.transport.close()


# -- options ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectOptions:
    """Where and how to connect; :func:`parse_url` builds one from a URL."""

    host: str = "127.0.0.1"
    port: int = 6379
    path: str | None = None  # a unix socket instead of host:port
    username: str | None = None
    password: str | None = None
    db: int = 0
    ssl: ssl.SSLContext | None = None
    server_hostname: str | None = None
    connect_timeout: float = 5.0
    reply_timeout: float | None = 10.0
    client_name: str | None = None
    keepalive: bool = False

    def describe(self) -> str:
        return f"unix:{self.path}" if self.path else f"{self.host}:{self.port}"


def _bool(value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on", "y"):
        return True
    if text in ("0", "false", "no", "off", "n", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _timeout(value: str) -> float | None:
    text = value.strip().lower()
    if text in ("", "none", "0"):
        return None
    seconds = float(text)
    if not seconds > 0:
        raise ValueError(f"timeout must be positive: {value!r}")
    return seconds


# Query options redis-py accepted that mean nothing for one pipelined connection: connection
# pool sizing and waiting, retries (commands are never retried here), health checks (a dead
# connection is noticed by the event loop), read buffer size, and the wire protocol (the
# storage's results are the same over RESP2 as over RESP3).
_IGNORED = frozenset(
    {
        "max_connections",
        "timeout",
        "retry_on_timeout",
        "health_check_interval",
        "socket_read_size",
        "protocol",
        "legacy_responses",
        "decode_responses",
        "encoding",
        "encoding_errors",
    }
)
_SSL_OPTIONS = frozenset(
    {
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_path",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_check_hostname",
        "ssl_min_version",
        "ssl_ciphers",
    }
)


def _ssl_context(opts: dict[str, str]) -> ssl.SSLContext:
    # The defaults of redis-py's SSLConnection: verify the certificate and the host name.
    reqs = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
    mode = opts.get("ssl_cert_reqs", "required").lower()
    if mode not in reqs:
        raise ValueError(f"ssl_cert_reqs must be none, optional or required, got {mode!r}")
    ctx = ssl.create_default_context()
    check_hostname = _bool(opts.get("ssl_check_hostname", "true")) and mode != "none"
    ctx.check_hostname = check_hostname
    ctx.verify_mode = reqs[mode]
    if "ssl_certfile" in opts or "ssl_keyfile" in opts:
        ctx.load_cert_chain(
            certfile=opts.get("ssl_certfile", ""),
            keyfile=opts.get("ssl_keyfile"),
            password=opts.get("ssl_password"),
        )
    if {"ssl_ca_certs", "ssl_ca_path", "ssl_ca_data"} & opts.keys():
        ctx.load_verify_locations(
            cafile=opts.get("ssl_ca_certs"),
            capath=opts.get("ssl_ca_path"),
            cadata=opts.get("ssl_ca_data"),
        )
    if "ssl_min_version" in opts:
        ctx.minimum_version = ssl.TLSVersion(int(opts["ssl_min_version"]))
    if "ssl_ciphers" in opts:
        ctx.set_ciphers(opts["ssl_ciphers"])
    return ctx


def parse_url(url: str) -> ConnectOptions:
    """``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` (TLS), ``unix:///path``.

    Query options, as redis-py reads them: ``db``, ``password``, ``username``,
    ``socket_connect_timeout`` (default 5 s), ``socket_timeout`` (the reply timeout, default
    10 s; ``none`` waits for ever), ``socket_keepalive``, ``client_name``, and with
    ``rediss://`` ``ssl_cert_reqs`` (none/optional/required, default required),
    ``ssl_check_hostname`` (default true), ``ssl_ca_certs``, ``ssl_ca_path``, ``ssl_ca_data``,
    ``ssl_certfile``, ``ssl_keyfile``, ``ssl_password``, ``ssl_min_version``, ``ssl_ciphers``.
    Pool and retry options (``max_connections``, ``timeout``, ``retry_on_timeout``,
    ``health_check_interval``, ``protocol``, ...) are accepted and ignored; anything else is a
    ``ValueError`` (a typo should fail at startup, not be dropped).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"redis URL must start with redis://, rediss:// or unix://: {url!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = (
        query.keys()
        - _IGNORED
        - _SSL_OPTIONS
        - {
            "db",
            "password",
            "username",
            "socket_connect_timeout",
            "socket_timeout",
            "socket_keepalive",
            "client_name",
        }
    )
    if unknown:
        raise ValueError(f"unsupported redis URL option(s): {', '.join(sorted(unknown))}")
    ssl_opts = {k: v for k, v in query.items() if k in _SSL_OPTIONS}
    if ssl_opts and scheme != "rediss":
        raise ValueError(f"{', '.join(sorted(ssl_opts))} need a rediss:// URL")

    username = unquote(parts.username) if parts.username else query.get("username") or None
    password = unquote(parts.password) if parts.password else query.get("password") or None
    db = 0
    try:
        if "db" in query:
            db = int(query["db"])
        elif scheme != "unix" and parts.path.strip("/"):
            db = int(unquote(parts.path).strip("/"))
    except ValueError:
        raise ValueError(f"redis database must be a number: {url!r}") from None
    if db < 0:
        raise ValueError(f"redis database must not be negative: {url!r}")

    try:
        connect_timeout = _timeout(query.get("socket_connect_timeout", "5"))
        reply_timeout = _timeout(query.get("socket_timeout", "10"))
        keepalive = _bool(query.get("socket_keepalive", "false"))
    except ValueError as exc:
        raise ValueError(f"bad redis URL option: {exc}") from None

    if scheme == "unix":
        if not parts.path:
            raise ValueError(f"unix:// redis URL needs a socket path: {url!r}")
        host, port, path = "localhost", 6379, unquote(parts.path)
    else:
        try:
            port = parts.port or 6379
        except ValueError:
            raise ValueError(f"bad port in redis URL: {url!r}") from None
        host, path = (unquote(parts.hostname) if parts.hostname else "localhost"), None
    tls = scheme == "rediss"
    return ConnectOptions(
        host=host,
        port=port,
        path=path,
        username=username,
        password=password,
        db=db,
        ssl=_ssl_context(ssl_opts) if tls else None,
        server_hostname=host if tls else None,
        # Bounded even when asked for none: startup and /healthz must not hang.
        connect_timeout=connect_timeout if connect_timeout is not None else 30.0,
        reply_timeout=reply_timeout,
        client_name=query.get("client_name") or None,
        keepalive=keepalive,
    )


# -- the client -------------------------------------------------------------------------------


class RedisClient:
    """Commands over one lazily opened, automatically pipelined connection.

    ``execute(*args)`` returns an awaitable of the reply (an error reply raises
    :class:`ReplyError`); ``transaction(cmds)`` runs commands in ``MULTI``/``EXEC``. Create
    it anywhere; it connects on the first command, inside the running loop, and reconnects
    on the first command after the connection was lost. Use it from one event loop.
    """

    def __init__(self, options: ConnectOptions | None = None) -> None:
        self.options = options or ConnectOptions()
        self._proto: _RespProtocol | None = None
        self._connecting: asyncio.Task[_RespProtocol | Exception] | None = None
        self._closed = False
        self._resending: set[asyncio.Task[None]] = set()
        self.connections_made = 0  # for tests and diagnostics

    @classmethod
    def from_url(cls, url: str) -> RedisClient:
        return cls(parse_url(url))

    @property
    def closed(self) -> bool:
        return self._closed

    def execute(self, *args: Arg) -> Awaitable[Reply]:
        """Send one command; await the result for its reply."""
        proto = self._proto
        if proto is not None and proto.usable:
            return proto.send(pack(args))
        return self._send_later(pack(args), 0)

    def execute_packed(self, payload: bytes) -> Awaitable[Reply]:
        """Like :meth:`execute` for a command already encoded with :func:`pack`."""
        proto = self._proto
        if proto is not None and proto.usable:
            return proto.send(payload)
        return self._send_later(payload, 0)

    async def transaction(self, commands: Sequence[Sequence[Arg]]) -> list[Reply]:
        """Run ``commands`` atomically (``MULTI`` ... ``EXEC``); return their replies.

        An error reply of one command is returned in its place, as a :class:`ReplyError`,
        as Redis reports it; a command Redis refused to queue aborts the whole transaction
        (``EXECABORT``, raised).
        """
        payload = b"".join(
            [b"*1\r\n$5\r\nMULTI\r\n", *map(pack, commands), b"*1\r\n$4\r\nEXEC\r\n"]
        )
        proto = self._proto
        if proto is not None and proto.usable:
            reply = await proto.send(payload, skip=len(commands) + 1)
        else:
            reply = await self._send_later(payload, len(commands) + 1)
        if not isinstance(reply, list):
            raise ReplyError(f"transaction aborted: EXEC returned {reply!r}")
        return reply

    async def _send_later(self, payload: bytes, skip: int) -> Reply:
        proto = await self._connected()
        return await proto.send(payload, skip)

    async def _connected(self) -> _RespProtocol:
        if self._closed:
            raise RedisConnectionError("redis client closed")
        proto = self._proto
        if proto is not None and proto.usable:
            return proto
        task = self._connecting
        if task is None:
            # One connection attempt at a time, shared by every caller waiting for it.
            task = asyncio.get_running_loop().create_task(self._connect())
            self._connecting = task
        # Shielded: a caller giving up (its own timeout) must not cancel the attempt others
        # are waiting for.
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if task.cancelled() and (me is None or not me.cancelling()):
                raise RedisConnectionError("redis client closed") from None  # by close()
            raise
        if isinstance(result, Exception):
            raise type(result)(*result.args) from result
        return result

    async def _connect(self) -> _RespProtocol | Exception:
        """Open and prepare a connection; returns the error instead of raising it."""
        opts = self.options
        loop = asyncio.get_running_loop()
        try:
            try:
                async with asyncio.timeout(opts.connect_timeout):
                    proto = await self._open(loop)
            except TimeoutError:
                return RedisTimeoutError(
                    f"connecting to redis at {opts.describe()} timed out"
                    f" after {opts.connect_timeout:g} s"
                )
            except ReplyError as exc:
                return RedisConnectionError(f"redis at {opts.describe()} refused us: {exc}")
            except RedisConnectionError as exc:
                return exc
            except Exception as exc:  # OSError (refused, unreachable, TLS), bad address
                return RedisConnectionError(f"cannot connect to redis at {opts.describe()}: {exc}")
            if self._closed:
                proto.abort(RedisConnectionError("redis client closed"))
                return RedisConnectionError("redis client closed")
            self._proto = proto
            proto.installed = True
            self.connections_made += 1
            return proto
        finally:
            self._connecting = None

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _RespProtocol:
        opts = self.options

        def factory() -> _RespProtocol:
            return _RespProtocol(loop, opts.reply_timeout, self._lost)

        if opts.path is not None:
            _, proto = await loop.create_unix_connection(factory, opts.path)
        else:
            _, proto = await loop.create_connection(
                factory, opts.host, opts.port, ssl=opts.ssl, server_hostname=opts.server_hostname
            )
        try:
            if opts.keepalive and proto.transport is not None:
                sock = proto.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            handshake: list[list[Arg]] = []
            if opts.password is not None or opts.username is not None:
                creds = [opts.username] if opts.username is not None else []
                handshake.append(["AUTH", *creds, opts.password or ""])
            if opts.db:
                handshake.append(["SELECT", opts.db])
            if opts.client_name:
                handshake.append(["CLIENT", "SETNAME", opts.client_name])
            # Pipelined too; every reply is collected so none is left unretrieved.
            replies = await asyncio.gather(
                *(proto.send(pack(cmd)) for cmd in handshake), return_exceptions=True
            )
            for reply in replies:
                if isinstance(reply, BaseException):
                    raise reply
        except BaseException:
            proto.abort(RedisConnectionError("redis handshake failed"))
            raise
        return proto

    def _lost(self, proto: _RespProtocol, unsent: list[_Item]) -> None:
        if self._proto is proto:
            self._proto = None
        pending = [item for item in unsent if not item[2].done()]
        if not pending:
            return
        # Commands queued but never written are safe to run on the next connection (once):
        # a server closing an idle connection, or restarting, costs them nothing.
        if proto.installed and not self._closed:
            retry = [item for item in pending if item[3] == 0]
            failed = [item for item in pending if item[3] != 0]
        else:
            retry, failed = [], pending
        reason = proto.error or RedisConnectionError("connection to redis lost")
        for _, _, fut, _ in failed:
            fut.set_exception(type(reason)(*reason.args))
        if retry:
            task = proto.loop.create_task(self._resend(retry))
            self._resending.add(task)
            task.add_done_callback(self._resending.discard)

    async def _resend(self, items: list[_Item]) -> None:
        try:
            proto = await self._connected()
        except BaseException as exc:
            reason = exc if isinstance(exc, RedisConnectionError) else None
            for _, _, fut, _ in items:
                if not fut.done():
                    fut.set_exception(
                        type(reason)(*reason.args)
                        if reason is not None
                        else RedisConnectionError("redis client closed")
                    )
            if not isinstance(exc, Exception):
                raise
            return
        for payload, skip, fut, tries in items:
            if not fut.done():
                proto.enqueue((payload, skip, fut, tries + 1))

    def drop_connection(self) -> None:
        """Abort the current connection (pending commands fail); the next one reconnects.

        For a caller that timed out: whether the server or the connection is at fault, a
        fresh connection is the way back.
        """
        proto = self._proto
        if proto is not None:
            self._proto = None
            proto.abort(RedisConnectionError("connection dropped after a timeout"))

    async def close(self) -> None:
        """Close the connection (queued commands are written, pending ones fail). Idempotent."""
        self._closed = True
        for task in [self._connecting, *self._resending]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        proto = self._proto
        self._proto = None
        if proto is not None:
            proto.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await asyncio.shield(proto.lost)
