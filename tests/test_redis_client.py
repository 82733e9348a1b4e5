"""The RESP2 client under RedisStorage (bot/storage/resp.py): parser, pipelining, failures.

Parser and protocol tests feed bytes straight into the connection's protocol object (every
split of a reply stream, byte by byte). Everything else runs against real ``redis-server``
children started on free ports (plain, with ``--requirepass``, on a unix socket, with TLS),
so the tests can kill connections and servers without disturbing shared services.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from server_process import free_port

from bot.storage import open_storage
from bot.storage.redis import RedisStorage
from bot.storage.resp import (
    ProtocolError,
    RedisClient,
    RedisConnectionError,
    RedisTimeoutError,
    Reply,
    ReplyError,
    _Incomplete,
    _RespProtocol,
    pack,
    parse,
    parse_url,
)
from bot.storage.tiered import FallbackStorage

# -- throw-away servers ------------------------------------------------------------------------


class Server:
    """A redis-server child; ``stop()`` and ``start()`` it at will (same port and options)."""

    def __init__(self, workdir: Path, *extra: str, tls: bool = False) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.extra = list(extra)
        self.tls = tls
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, path: str = "/0", auth: str = "") -> str:
        return f"{'rediss' if self.tls else 'redis'}://{auth}127.0.0.1:{self.port}{path}"

    def start(self) -> None:
        ports = ["--port", "0", "--tls-port", str(self.port)] if self.tls else ["--port", str(self.port)]  # fmt: skip
        self.proc = subprocess.Popen(
            ["redis-server", *ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        end = time.monotonic() + 10
        while time.monotonic() < end:
            assert self.proc.poll() is None, "redis-server exited at start"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Factory: ``servers("--requirepass", "x")`` starts one; all are stopped afterwards."""
    if not shutil.which("redis-server"):
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("redis-server is not installed (CI=true)", pytrace=False)
        pytest.skip("redis-server is not installed")
    started: list[Server] = []

    def start(*extra: str, tls: bool = False) -> Server:
        workdir = tmp_path / f"redis{len(started)}"
        workdir.mkdir()
        server = Server(workdir, *extra, tls=tls)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(servers: Callable[..., Server]) -> Server:
    return servers()


@contextlib.asynccontextmanager
async def client_for(url: str) -> AsyncIterator[RedisClient]:
    client = RedisClient.from_url(url)
    try:
        yield client
    finally:
        await client.close()


async def admin(url: str, *command: str | int | bytes) -> Reply:
    """One command on a connection of its own."""
    async with client_for(url) as client:
        return await client.execute(*command)


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll ``predicate`` (sync, or returning an awaitable) until it is truthy."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if time.monotonic() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def blocked_clients(url: str) -> int:
    info = await admin(url, "INFO", "clients")
    assert isinstance(info, bytes)
    line = next(x for x in info.decode().splitlines() if x.startswith("blocked_clients:"))
    return int(line.partition(":")[2])


# -- encoding and parsing ------------------------------------------------------------------------


def test_pack() -> None:
    assert pack(["SET", "键", 12, b"\x00\r\n"]) == (
        b"*4\r\n$3\r\nSET\r\n$3\r\n\xe9\x94\xae\r\n$2\r\n12\r\n$3\r\n\x00\r\n\r\n"
    )
    assert pack([b""]) == b"*1\r\n$0\r\n\r\n"


@pytest.mark.parametrize(
    ("wire", "value"),
    [
        (b"+OK\r\n", b"OK"),
        (b":0\r\n", 0),
        (b":-9223372036854775808\r\n", -(2**63)),
        (b"$5\r\nhello\r\n", b"hello"),
        (b"$0\r\n\r\n", b""),
        (b"$4\r\na\r\nb\r\n", b"a\r\nb"),  # CRLF inside a bulk string is data
        (b"$-1\r\n", None),
        (b"*-1\r\n", None),
        (b"*0\r\n", []),
        (b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nk1\r\n$-1\r\n", [b"0", [b"k1", None]]),  # SCAN-like
    ],
)
def test_parse_types(wire: bytes, value: Reply) -> None:
    assert parse(wire + b"+next\r\n") == (value, len(wire))


def test_parse_error_reply() -> None:
    reply, end = parse(b"-ERR value is not an integer or out of range\r\n")
    assert isinstance(reply, ReplyError)
    assert str(reply) == "ERR value is not an integer or out of range"
    # Inside an array (an EXEC result) an error is a value next to the others.
    reply, _ = parse(b"*2\r\n+OK\r\n-WRONGTYPE no\r\n")
    assert isinstance(reply, list) and reply[0] == b"OK"
    assert isinstance(reply[1], ReplyError) and str(reply[1]) == "WRONGTYPE no"


def test_parse_incomplete_at_every_cut() -> None:
    wire = b"*3\r\n$5\r\nhello\r\n:42\r\n*1\r\n-ERR x\r\n"
    for cut in range(len(wire)):
        with pytest.raises(_Incomplete) as info:
            parse(wire[:cut])
        assert cut < info.value.need <= len(wire)
    assert parse(wire)[1] == len(wire)


@pytest.mark.parametrize("wire", [b"!3\r\nabc\r\n", b"$x\r\n", b":1.5\r\n", b"*?\r\n"])
def test_parse_rejects_what_is_not_resp2(wire: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse(wire)


# -- the protocol object, fed by hand ------------------------------------------------------------


class RecordingTransport(asyncio.Transport):
    """Records writes; closing it reports the connection lost, as a socket transport does."""

    def __init__(self, protocol: _RespProtocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()


def connected_protocol() -> tuple[_RespProtocol, RecordingTransport, list[Any]]:
    lost: list[Any] = []
    proto = _RespProtocol(asyncio.get_running_loop(), None, lambda p, unsent: lost.append(unsent))
    transport = RecordingTransport(proto)
    proto.connection_made(transport)
    return proto, transport, lost


REPLIES: list[tuple[bytes, Reply]] = [
    (b"+OK\r\n", b"OK"),
    (b"$-1\r\n", None),
    (b":7\r\n", 7),
    ('$9\r\n{"城":1}\r\n'.encode(), '{"城":1}'.encode()),
    (b"*2\r\n$1\r\n0\r\n*1\r\n$4\r\nyb:a\r\n", [b"0", [b"yb:a"]]),
    (b"$0\r\n\r\n", b""),
]


async def test_replies_split_at_every_byte_match_their_commands() -> None:
    stream = b"".join(wire for wire, _ in REPLIES)
    for cut in range(len(stream) + 1):
        proto, _, _ = connected_protocol()
        futures = [proto.send(pack(["PING"])) for _ in REPLIES]
        await asyncio.sleep(0)  # flushed
        proto.data_received(stream[:cut])
        proto.data_received(stream[cut:])
        assert [f.result() for f in futures] == [value for _, value in REPLIES], cut


async def test_large_bulk_string_byte_by_byte() -> None:
    proto, _, _ = connected_protocol()
    value = os.urandom(20_000).replace(b"\r", b"r")
    first, second = proto.send(pack(["GET", "a"])), proto.send(pack(["GET", "b"]))
    await asyncio.sleep(0)
    wire = b"$%d\r\n%b\r\n:5\r\n" % (len(value), value)
    for i in range(len(wire)):
        proto.data_received(wire[i : i + 1])
    assert first.result() == value
    assert second.result() == 5


async def test_commands_of_one_iteration_go_out_in_one_write() -> None:
    proto, transport, _ = connected_protocol()
    futures = [proto.send(pack(["GET", f"k{i}"])) for i in range(100)]
    assert transport.writes == []  # nothing written until the loop turns
    await asyncio.sleep(0)
    assert transport.writes == [b"".join(pack(["GET", f"k{i}"]) for i in range(100))]
    proto.data_received(b"".join(b":%d\r\n" % i for i in range(100)))
    assert [f.result() for f in futures] == list(range(100))


async def test_caller_gone_before_the_flush_is_not_sent() -> None:
    proto, transport, _ = connected_protocol()
    gone = proto.send(pack(["INCR", "n"]))
    kept = proto.send(pack(["GET", "n"]))
    gone.cancel()
    await asyncio.sleep(0)
    assert transport.writes == [pack(["GET", "n"])]
    proto.data_received(b"$1\r\n0\r\n")
    assert kept.result() == b"0"


async def test_error_reply_fails_only_its_own_command() -> None:
    proto, _, _ = connected_protocol()
    ok, bad, after = (proto.send(pack(["X"])) for _ in range(3))
    await asyncio.sleep(0)
    proto.data_received(b"+OK\r\n-ERR value is not an integer or out of range\r\n:1\r\n")
    assert ok.result() == b"OK"
    with pytest.raises(ReplyError, match="not an integer"):
        bad.result()
    assert after.result() == 1
    assert proto.usable


async def test_transaction_replies_are_skipped_up_to_exec() -> None:
    proto, _, _ = connected_protocol()
    exec_reply = proto.send(b"MULTI...EXEC", skip=3)
    after = proto.send(pack(["PING"]))
    await asyncio.sleep(0)
    proto.data_received(b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$-1\r\n:3\r\n+PONG\r\n")
    assert exec_reply.result() == [None, 3]
    assert after.result() == b"PONG"


@pytest.mark.parametrize("garbage", [b"?what\r\n", b"+OK\r\n+extra\r\n"])
async def test_garbage_or_unasked_reply_drops_the_connection(garbage: bytes) -> None:
    proto, transport, _ = connected_protocol()
    first = proto.send(pack(["PING"]))
    await asyncio.sleep(0)
    proto.data_received(garbage)
    await asyncio.sleep(0)
    assert transport.closing and not proto.usable and proto.dead
    if garbage.startswith(b"+OK"):
        assert first.result() == b"OK"
    else:
        with pytest.raises(ProtocolError):
            first.result()
    with pytest.raises(RedisConnectionError):
        await proto.send(pack(["PING"]))


async def test_connection_lost_fails_sent_and_hands_back_unsent() -> None:
    proto, transport, lost = connected_protocol()
    sent = proto.send(pack(["GET", "a"]))
    await asyncio.sleep(0)
    proto.eof_received()  # the server hung up; nothing queued from now on is written
    unsent = proto.send(pack(["GET", "b"]))
    transport.close()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    with pytest.raises(RedisConnectionError):
        sent.result()
    assert transport.writes == [pack(["GET", "a"])]
    assert not unsent.done()  # handed back for the next connection
    [[(payload, skip, fut, tries)]] = lost
    assert (payload, skip, fut, tries) == (pack(["GET", "b"]), 0, unsent, 0)
    unsent.cancel()


# -- URLs -----------------------------------------------------------------------------------


def test_parse_url_defaults_and_forms() -> None:
    opts = parse_url("redis://localhost")
    assert (opts.host, opts.port, opts.db, opts.password, opts.ssl) == (
        "localhost",
        6379,
        0,
        None,
        None,
    )
    assert (opts.connect_timeout, opts.reply_timeout) == (5.0, 10.0)
    opts = parse_url("redis://:p%40ss%3Aw%2Frd@10.0.0.2:6380/3")
    assert (opts.host, opts.port, opts.db, opts.username, opts.password) == (
        "10.0.0.2", 6380, 3, None, "p@ss:w/rd"
    )  # fmt: skip
    opts = parse_url("redis://bot:s3cret@h/1?db=4&socket_timeout=none&socket_connect_timeout=2")
    assert (opts.username, opts.password, opts.db) == ("bot", "s3cret", 4)
    assert (opts.reply_timeout, opts.connect_timeout) == (None, 2.0)
    opts = parse_url("redis://h?password=x&client_name=w1&socket_keepalive=true")
    assert (opts.password, opts.client_name, opts.keepalive) == ("x", "w1", True)
    opts = parse_url("unix:///run/redis/redis.sock?db=2&password=x")
    assert (opts.path, opts.db, opts.password) == ("/run/redis/redis.sock", 2, "x")
    # Pool and retry options of redis-py mean nothing with one pipelined connection.
    parse_url("redis://h/0?max_connections=50&timeout=10&health_check_interval=30&protocol=3")


def test_parse_url_tls() -> None:
    import ssl

    opts = parse_url("rediss://cache.example:6380/0")
    assert opts.ssl is not None and opts.server_hostname == "cache.example"
    assert opts.ssl.verify_mode == ssl.CERT_REQUIRED and opts.ssl.check_hostname
    opts = parse_url("rediss://h/0?ssl_cert_reqs=none")
    assert opts.ssl is not None
    assert opts.ssl.verify_mode == ssl.CERT_NONE and not opts.ssl.check_hostname
    opts = parse_url("rediss://h/0?ssl_check_hostname=false&ssl_min_version=771")
    assert opts.ssl is not None and not opts.ssl.check_hostname
    assert opts.ssl.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    "url",
    [
        "http://h/0",
        "redis://h/0?sockettimeout=1",  # a typo fails at startup instead of being ignored
        "redis://h/0?ssl_cert_reqs=none",  # TLS options without rediss://
        "rediss://h/0?ssl_cert_reqs=sometimes",
        "redis://h/x",
        "redis://h/0?db=-1",
        "redis://h/0?socket_timeout=-1",
        "redis://h:99999/0",
        "unix://",
    ],
)
def test_parse_url_rejects(url: str) -> None:
    with pytest.raises(ValueError):
        parse_url(url)


def test_storage_url_prefix_is_ours_and_the_rest_the_clients() -> None:
    store = RedisStorage.from_url("redis://:pw@h:1/2?prefix=bot:a:&socket_timeout=3")
    assert store.prefix == "bot:a:"
    opts = store.client.options
    assert (opts.host, opts.port, opts.db, opts.password, opts.reply_timeout) == (
        "h",
        1,
        2,
        "pw",
        3.0,
    )
    assert isinstance(open_storage("unix:///tmp/x.sock?prefix=p:"), RedisStorage)


# -- against a real server: pipelining -------------------------------------------------------


async def test_concurrent_callers_share_one_pipelined_connection(server: Server) -> None:
    name = f"t{uuid.uuid4().hex[:8]}"
    async with client_for(server.url("/0?client_name=" + name)) as client:

        async def one(i: int) -> Reply:
            assert await client.execute("SET", f"k{i}", f"v{i}") == b"OK"
            return await client.execute("GET", f"k{i}")

        # Many tasks, each with its own command in flight: a burst from the webhook.
        results = await asyncio.gather(*(one(i) for i in range(2000)))
        assert results == [f"v{i}".encode() for i in range(2000)]
        ids = await asyncio.gather(*(client.execute("CLIENT", "ID") for _ in range(50)))
        assert len(set(ids)) == 1
        assert client.connections_made == 1
        listing = await admin(server.url(), "CLIENT", "LIST")
        assert isinstance(listing, bytes)
        assert listing.decode().count(f"name={name} ") == 1  # no connection per caller


async def test_burst_before_the_first_connection_opens_one(server: Server) -> None:
    async with client_for(server.url()) as client:
        replies = await asyncio.gather(*(client.execute("INCR", "n") for _ in range(500)))
        assert sorted(replies) == list(range(1, 501))
        assert client.connections_made == 1


async def test_transactions(server: Server) -> None:
    async with client_for(server.url()) as client:
        ok, err = await client.transaction([("SET", "t", "text"), ("INCRBY", "t", 1)])
        assert ok == b"OK" and isinstance(err, ReplyError) and "not an integer" in str(err)
        with pytest.raises(ReplyError, match="EXECABORT"):
            await client.transaction([("SET", "t", 1), ("NOSUCHCOMMAND",)])
        # Transactions of concurrent callers do not interleave; the connection stays in step.
        totals = await asyncio.gather(
            *(client.transaction([("SET", "c", 0, "NX"), ("INCRBY", "c", 2)]) for _ in range(200))
        )
        assert sorted(t[1] for t in totals) == list(range(2, 401, 2))
        assert await client.execute("PING") == b"PONG"


async def test_large_values_between_small_ones(server: Server) -> None:
    async with client_for(server.url()) as client:
        big = os.urandom(3_000_000)
        small = [client.execute("SET", f"s{i}", i) for i in range(300)]
        await asyncio.gather(client.execute("SET", "big", big), *small)
        got = await asyncio.gather(
            *(client.execute("GET", f"s{i}") for i in range(150)),
            client.execute("GET", "big"),
            *(client.execute("GET", f"s{i}") for i in range(150, 300)),
        )
        assert got[150] == big
        assert got[:150] + got[151:] == [str(i).encode() for i in range(300)]


async def test_a_caller_giving_up_does_not_shift_the_replies(server: Server) -> None:
    async with client_for(server.url()) as client:
        await client.execute("SET", "x", "mine")
        waiting = asyncio.ensure_future(client.execute("BLPOP", "queue", 0))
        await until(lambda: blocked_clients(server.url()))
        waiting.cancel()  # its reply is still to come, ahead of the next one
        after = asyncio.ensure_future(client.execute("GET", "x"))
        await admin(server.url(), "RPUSH", "queue", "item")
        assert await after == b"mine"
        assert client.connections_made == 1


# -- against a real server: connections dying --------------------------------------------------


async def test_client_kill_fails_pending_and_the_next_command_reconnects(server: Server) -> None:
    async with client_for(server.url()) as client:
        first_id = await client.execute("CLIENT", "ID")
        pending = asyncio.ensure_future(client.execute("BLPOP", "never", 0))
        await until(lambda: blocked_clients(server.url()))
        assert await admin(server.url(), "CLIENT", "KILL", "ID", first_id) == 1
        with pytest.raises(RedisConnectionError):
            await pending
        assert await client.execute("PING") == b"PONG"
        assert await client.execute("CLIENT", "ID") != first_id
        assert client.connections_made == 2


async def test_idle_connection_closed_by_the_server_is_replaced_silently(server: Server) -> None:
    store = RedisStorage.from_url(server.url("/0?prefix=t:"))
    fallback = FallbackStorage(store, "redis")
    try:
        await fallback.set("k", 1)
        for _ in range(3):
            victim = await store.client.execute("CLIENT", "ID")
            await admin(server.url(), "CLIENT", "KILL", "ID", victim)
            # Right after the kill, a burst: no command fails, so no fallback to memory.
            assert await asyncio.gather(*(fallback.get("k") for _ in range(50))) == [1] * 50
            assert not fallback.down
        assert store.client.connections_made == 4
    finally:
        await fallback.close()


async def test_commands_queued_when_the_server_hangs_up_run_on_the_next_connection(
    server: Server,
) -> None:
    async with client_for(server.url()) as client:
        await client.execute("PING")
        proto = client._proto
        assert proto is not None and proto.transport is not None
        queued = [client.execute("INCR", "n") for _ in range(10)]  # not written yet
        proto.eof_received()  # the server hangs up before this loop iteration ends
        proto.transport.close()
        assert await asyncio.gather(*queued) == list(range(1, 11))  # each ran exactly once
        assert client.connections_made == 2


async def test_server_restart_with_password_and_db(servers: Callable[..., Server]) -> None:
    server = servers("--requirepass", "pw")
    store = RedisStorage.from_url(server.url("/3?prefix=r:", auth=":pw@"))
    try:
        await store.set("before", 1)
        server.stop()
        with pytest.raises(ConnectionError):
            await store.get("before")
        assert await store.ping() is False
        server.start()  # empty again: nothing saved
        await store.set("after", 2)  # reconnected: AUTH and SELECT again
        assert await store.get("after") == 2
        assert await admin(server.url("/3", auth=":pw@"), "GET", "r:after") == b"2"
        assert await admin(server.url("/0", auth=":pw@"), "GET", "r:after") is None
    finally:
        await store.close()


async def test_close_fails_pending_and_is_final(server: Server) -> None:
    client = RedisClient.from_url(server.url())
    pending = asyncio.ensure_future(client.execute("BLPOP", "never", 0))
    await until(lambda: blocked_clients(server.url()))
    await client.close()
    with pytest.raises(RedisConnectionError):
        await pending
    with pytest.raises(RedisConnectionError):
        await client.execute("PING")
    await client.close()


# -- against a real server: auth, db, unix socket, TLS ------------------------------------------


async def test_password_and_db_selection(servers: Callable[..., Server]) -> None:
    secret = "p@ss:w/rd x"
    server = servers("--requirepass", secret)
    auth = f":{quote(secret, safe='')}@"
    store = RedisStorage.from_url(server.url("/2?prefix=t:", auth=auth))
    try:
        await store.set("k", {"v": 1})
        assert await store.get("k") == {"v": 1}
        assert await admin(server.url("/2", auth=auth), "GET", "t:k") == b'{"v":1}'
        assert await admin(server.url("/0", auth=auth), "EXISTS", "t:k") == 0
        query = f"/2?password={quote(secret, safe='')}"
        assert await admin(server.url(query), "GET", "t:k") == b'{"v":1}'
    finally:
        await store.close()

    wrong = RedisStorage.from_url(server.url("/0", auth=":nope@"))
    try:
        assert await wrong.ping() is False
        with pytest.raises(RedisConnectionError, match="WRONGPASS|invalid password"):
            await wrong.get("k")
    finally:
        await wrong.close()
    with pytest.raises(ReplyError, match="NOAUTH"):
        await admin(server.url(), "GET", "t:k")


async def test_acl_user(servers: Callable[..., Server]) -> None:
    server = servers("--requirepass", "root")
    root = server.url("/0", auth=":root@")
    await admin(root, "ACL", "SETUSER", "bot", "on", ">s3cret", "~yb:*", "+@all")
    store = RedisStorage.from_url(server.url("/0", auth="bot:s3cret@"))
    try:
        await store.set("k", 1)
        assert await store.client.execute("ACL", "WHOAMI") == b"bot"
        with pytest.raises(ReplyError, match="NOPERM"):
            await store.client.execute("SET", "not-ours", 1)
    finally:
        await store.close()


async def test_unix_socket(servers: Callable[..., Server]) -> None:
    with tempfile.TemporaryDirectory(prefix="rs") as short:  # sun_path is ~108 bytes at most
        path = f"{short}/redis.sock"
        server = servers("--unixsocket", path, "--unixsocketperm", "700", "--requirepass", "x")
        store = open_storage(f"unix://{path}?db=1&password=x&prefix=u:")
        try:
            await store.set("k", [1, "二"])
            assert await store.get("k") == [1, "二"]
            assert await admin(server.url("/1", auth=":x@"), "GET", "u:k") == '[1,"二"]'.encode()
            assert await store.delete_prefix("") == 1
        finally:
            await store.close()


def _self_signed(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def test_tls(servers: Callable[..., Server], tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server = servers(
        "--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(cert),
        "--tls-auth-clients", "no", tls=True,
    )  # fmt: skip
    store = RedisStorage.from_url(server.url(f"/0?ssl_ca_certs={cert}"))
    try:
        await store.set("k", "加密")
        assert await store.get("k") == "加密"
    finally:
        await store.close()
    unverified = RedisStorage.from_url(server.url("/0"))  # our CA is not in the system store
    try:
        assert await unverified.ping() is False
        with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await unverified.get("k")
    finally:
        await unverified.close()
    assert await admin(server.url("/0?ssl_cert_reqs=none"), "GET", "yb:k") == '"加密"'.encode()


# -- timeouts and unreachable servers ---------------------------------------------------------


@contextlib.asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never answers (a hung server, a half-open connection)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        with contextlib.suppress(ConnectionError):
            while await reader.read(65536):
                pass

    listener = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.transport.abort()
        listener.close()
        await listener.wait_closed()


async def test_connect_timeout_is_bounded() -> None:
    async with silent_server() as port:
        # The TCP connect succeeds; AUTH never gets an answer.
        store = RedisStorage.from_url(f"redis://:pw@127.0.0.1:{port}/0?socket_connect_timeout=0.2")
        try:
            with pytest.raises(RedisTimeoutError, match="timed out"):
                await store.get("k")
            assert await store.ping() is False
        finally:
            await store.close()


async def test_reply_timeout_drops_a_silent_connection(server: Server) -> None:
    async with (
        silent_server() as port,
        client_for(f"redis://127.0.0.1:{port}/0?socket_timeout=0.2") as client,
    ):
        with pytest.raises(RedisTimeoutError, match="no reply"):
            await client.execute("PING")
    async with client_for(server.url("/0?socket_timeout=0.3")) as client:
        with pytest.raises(RedisTimeoutError):
            await client.execute("BLPOP", "never", 0)  # looks like a hung server
        assert await client.execute("PING") == b"PONG"  # on a fresh connection
        assert client.connections_made == 2


async def test_refused_connection() -> None:
    store = RedisStorage.from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        results = await asyncio.gather(
            *(store.get("k") for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, RedisConnectionError) for r in results)
        assert await store.ping() is False
    finally:
        await store.close()


# -- the storage on top -------------------------------------------------------------------------


async def test_delete_prefix_scans_and_never_uses_keys(server: Server) -> None:
    store = RedisStorage.from_url(server.url("/0?prefix=p:"))
    try:
        await asyncio.gather(*(store.set(f"u:{i}", i) for i in range(1100)))
        await admin(server.url(), "SET", "other:u:1", 1)  # outside our prefix
        assert await store.delete_prefix("u:") == 1100
        stats = await admin(server.url(), "INFO", "commandstats")
        assert isinstance(stats, bytes)
        assert b"cmdstat_scan:" in stats and b"cmdstat_keys:" not in stats
        assert await admin(server.url(), "EXISTS", "other:u:1") == 1
    finally:
        await store.close()


async def test_incr_ttl_only_on_creation_and_non_integers(server: Server) -> None:
    store = RedisStorage.from_url(server.url("/0?prefix=c:"))
    try:
        assert await store.incr("n", 5, ttl=100) == 5
        first = await admin(server.url(), "PTTL", "c:n")
        assert isinstance(first, int) and 0 < first <= 100_000
        assert await store.incr("n", 1, ttl=10_000) == 6
        second = await admin(server.url(), "PTTL", "c:n")
        assert isinstance(second, int) and 0 < second <= first  # not extended
        await store.set("s", "text")
        with pytest.raises(ValueError, match="not an integer"):
            await store.incr("s", ttl=5)
        with pytest.raises(ValueError, match="not an integer"):
            await store.incr("s")
        await admin(server.url(), "LPUSH", "c:l", "x")
        with pytest.raises(ReplyError, match="WRONGTYPE"):  # not a contract error: as before
            await store.incr("l")
    finally:
        await store.close()
