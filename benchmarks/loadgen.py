"""Load generator: signed WeChat text messages against a running server, with latencies.

    .venv/bin/python benchmarks/loadgen.py --url http://127.0.0.1:8080/wechat --token TOKEN \
        [--seconds 10] [--connections 32] [--rate 0] [--fresh 0.5] [--users 100000] \
        [--aes-key KEY --app-id wx…] [--json]

Every request is a plaintext (or, with ``--aes-key``, safe-mode encrypted) text message from
one of ``--users`` openids with a never-repeated MsgId, signed like WeChat signs it. Questions
are the held-out set (benchmarks/data/final_heldout.tsv, written independently of the bot);
``--fresh`` is the share of them prefixed with one of 300 city names, which makes most texts
new to the bot's understanding cache (a deadline burst repeats questions; not all of them).

``--rate 0`` (default) is closed-loop: each connection sends its next request when the last
answer arrives, which measures capacity. ``--rate R`` is open-loop at R requests/s; latency is
counted from when each request was *due*, so a stalled server shows as latency, not as fewer
requests (no coordinated omission). Each reply is checked: HTTP 200 and either ``success`` or
a reply XML (decrypted and parsed in safe mode with ``--check``).

Pure asyncio with raw HTTP/1.1 keep-alive connections: one core drives ~20-30k requests/s,
so pin it apart from the server (``taskset -c 1``). Traffic goes only where ``--url`` points;
use 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "benchmarks/data/final_heldout.tsv"


def questions(without: frozenset[str] = frozenset()) -> list[str]:
    """Held-out questions, less those labelled with an intent in ``without``."""
    texts = []
    for line in HELDOUT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label = line.split("|", 1)[0]
            if not set(label.split(",")) & without:
                texts.append(line.rsplit("|", 1)[-1].strip())
    return texts


# Reminder requests open the reminder jobs database per message (bot/reminders/service.py);
# ``--no-reminders`` leaves those 3% of the questions out to measure the rest apart.
REMINDER_INTENTS = frozenset({"remind_subscribe", "remind_cancel"})


def cities() -> list[str]:
    """Prefecture names from the region table (first 300): realistic, varied prefixes."""
    names: list[str] = []
    path = ROOT / "region_data/divisions.tsv"
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        name = next((p for p in parts if p.endswith("市") and len(p) <= 5), "")
        if name and name not in names:
            names.append(name)
        if len(names) >= 300:
            break
    return names or ["福州市", "北京市", "广州市"]


def sign(token: str, *parts: str) -> str:
    return hashlib.sha1("".join(sorted((token, *parts))).encode()).hexdigest()


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    bad_status: int = 0
    bad_body: int = 0
    conn_errors: int = 0
    started: float = 0.0
    ended: float = 0.0

    def summary(self) -> dict[str, float]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            if not lat:
                return math.nan
            return lat[min(len(lat) - 1, int(math.ceil(p / 100 * len(lat))) - 1)] * 1000

        elapsed = max(self.ended - self.started, 1e-9)
        return {
            "requests": len(lat),
            "rps": len(lat) / elapsed,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": lat[-1] * 1000 if lat else math.nan,
            "errors": self.bad_status + self.bad_body + self.conn_errors,
            "bad_status": self.bad_status,
            "bad_body": self.bad_body,
            "conn_errors": self.conn_errors,
        }


class Messages:
    """Builds signed request bytes: a fresh MsgId each, questions and users drawn at random."""

    def __init__(self, args: argparse.Namespace) -> None:
        split = urlsplit(args.url)
        self.host = split.hostname or "127.0.0.1"
        self.port = split.port or 80
        self.path = split.path or "/wechat"
        self.token = args.token
        self.users = args.users
        self.fresh = args.fresh
        self.questions = questions(REMINDER_INTENTS if args.no_reminders else frozenset())
        self.cities = cities()
        self.rng = random.Random(args.seed)
        # Unique across runs and processes: time-based high digits plus a counter.
        self.msg_id = int(time.time() * 1000) % 10**12 * 10**6 + os.getpid() % 1000 * 1000
        self.crypto = None
        if args.aes_key:
            from wechatpy.crypto import WeChatCrypto

            self.crypto = WeChatCrypto(args.token, args.aes_key, args.app_id)
        self._query_at = -1
        self._query = ""

    def query(self, nonce: str, encrypt: str = "") -> str:
        now = int(time.time())
        if self.crypto is None:
            if now != self._query_at:  # one signature per second, as cheap as WeChat's own
                self._query_at = now
                self._query = (
                    f"{self.path}?signature={sign(self.token, str(now), nonce)}"
                    f"&timestamp={now}&nonce={nonce}&openid=bench"
                )
            return self._query
        msg_sig = sign(self.token, str(now), nonce, encrypt)
        return (
            f"{self.path}?signature={sign(self.token, str(now), nonce)}&timestamp={now}"
            f"&nonce={nonce}&openid=bench&encrypt_type=aes&msg_signature={msg_sig}"
        )

    def next(self) -> bytes:
        self.msg_id += 1
        rng = self.rng
        text = rng.choice(self.questions)
        if self.fresh and rng.random() < self.fresh:
            text = rng.choice(self.cities) + text
        user = f"oBench{rng.randrange(self.users):08d}"
        xml = (
            f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{self.msg_id}</MsgId></xml>"
        )
        nonce = "1234567"
        if self.crypto is not None:
            envelope = self.crypto.encrypt_message(xml, nonce, str(int(time.time())))
            encrypt = envelope.split("<Encrypt><![CDATA[", 1)[1].split("]]>", 1)[0]
            xml = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            target = self.query(nonce, encrypt)
        else:
            target = self.query(nonce)
        body = xml.encode()
        return (
            f"POST {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, stats: Stats, check: Callable[[bytes], bool]) -> None:
        self.stats = stats
        self.check = check
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[None] | None = None
        self.sent_at = 0.0
        self.recording = False
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        if self.waiter is not None and not self.waiter.done():
            self.stats.conn_errors += 1
            self.waiter.set_exception(ConnectionError("connection lost"))

    def send(self, request: bytes, due: float, record: bool) -> asyncio.Future[None]:
        assert self.transport is not None
        self.sent_at, self.recording = due, record
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = self.buffer[:head_end]
        at = head.lower().find(b"content-length:")
        length = (
            int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
            if at >= 0
            else 0
        )
        end = head_end + 4 + length
        if len(self.buffer) < end:
            return
        status, body = head[9:12], self.buffer[head_end + 4 : end]
        self.buffer = self.buffer[end:]
        if self.recording:
            stats = self.stats
            stats.latencies.append(time.perf_counter() - self.sent_at)
            if status != b"200":
                stats.bad_status += 1
            elif not self.check(body):
                stats.bad_body += 1
            else:
                stats.ok += 1
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


def make_check(args: argparse.Namespace) -> Callable[[bytes], bool]:
    if not args.aes_key:
        return lambda body: (
            body == b"success" or (body.startswith(b"<xml>") and b"<Content><![CDATA[" in body)
        )
    if not args.check:
        return lambda body: body == b"success" or b"<Encrypt>" in body
    from bot.wechat import Crypto, parse_message, parse_xml

    crypto = Crypto(args.token, args.aes_key, args.app_id)

    def check(body: bytes) -> bool:
        if body == b"success":
            return True
        fields = parse_xml(body)
        plain = crypto.decrypt(
            fields, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
        )
        return bool(parse_message(plain).content)

    return check


async def run(args: argparse.Namespace) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    messages = Messages(args)
    stats = Stats()
    check = make_check(args)
    conns: list[Connection] = []
    for _ in range(args.connections):
        _, proto = await loop.create_connection(
            lambda: Connection(stats, check), messages.host, messages.port
        )
        conns.append(proto)
    start = time.perf_counter()
    measure_from = start + args.warmup
    stop_at = measure_from + args.seconds

    async def closed_loop(conn: Connection) -> None:
        while (now := time.perf_counter()) < stop_at:
            try:
                await conn.send(messages.next(), now, now >= measure_from)
            except ConnectionError:
                return

    async def open_loop() -> None:
        idle: asyncio.Queue[Connection] = asyncio.Queue()
        for conn in conns:
            idle.put_nowait(conn)
        interval = 1.0 / args.rate
        due = start
        pending: set[asyncio.Task[None]] = set()

        async def one(due_at: float) -> None:
            conn = await idle.get()  # waiting for a free connection counts as latency
            try:
                await conn.send(messages.next(), due_at, due_at >= measure_from)
                idle.put_nowait(conn)
            except ConnectionError:
                pass

        while due < stop_at:
            now = time.perf_counter()
            while due <= now and due < stop_at:
                task = asyncio.create_task(one(due))
                pending.add(task)
                task.add_done_callback(pending.discard)
                due += interval
            await asyncio.sleep(max(0.0, min(due - time.perf_counter(), 0.005)))
        if pending:
            await asyncio.wait(pending, timeout=30)

    if args.rate > 0:
        await open_loop()
    else:
        await asyncio.gather(*(closed_loop(c) for c in conns))
    stats.started, stats.ended = measure_from, min(time.perf_counter(), stop_at + 30)
    if args.rate <= 0:
        stats.ended = stop_at
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()
    return stats.summary()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080/wechat")
    parser.add_argument("--token", default=os.environ.get("WECHAT_TOKEN", "bench-token"))
    parser.add_argument("--aes-key", default="", help="safe mode: WECHAT_ENCODING_AES_KEY")
    parser.add_argument("--app-id", default="wx0000000000bench")
    parser.add_argument("--check", action="store_true", help="safe mode: decrypt every reply")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds sent, not counted")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=0.0, help="requests/s; 0 = closed loop")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--fresh", type=float, default=0.5, help="share of texts made new")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-reminders", action="store_true", help="leave reminder requests out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must point at this machine (127.0.0.1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(
            f"{result['rps']:.0f} req/s  p50 {result['p50_ms']:.1f} ms  p90 {result['p90_ms']:.1f} ms"
            f"  p99 {result['p99_ms']:.1f} ms  max {result['max_ms']:.1f} ms"
            f"  errors {result['errors']} of {result['requests']}\n"
        )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
