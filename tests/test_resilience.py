"""Outages: Redis down or restarted, PostgreSQL down (chat and reminder jobs), a worker killed
under load.

Each test runs its own throw-away server on a free 127.0.0.1 port (a ``redis-server`` child,
or a TCP proxy in front of the shared PostgreSQL that the test can cut), so killing it never
disturbs the shared services or other tests. Skipped with the reason when the tool or server
is missing (``CI=true`` turns those skips into failures, as in the storage contract tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from fake_wechat_api import FakeWeChatAPI
from reminder_helpers import drop_pg_table, pg_table, seed
from server_process import ServerProcess, free_port

from bot.app import STORAGE_KEY, create_app
from bot.reminders.channels import Channel, Message, Target, build_channels
from bot.reminders.config import ReminderSettings
from bot.reminders.jobs import Job, JobState, JobStore
from bot.reminders.pg_jobs import PostgresJobStore
from bot.reminders.scheduler import Scheduler
from bot.settings import TZ, Settings
from bot.storage import MemoryStorage
from bot.storage.tiered import FallbackStorage, RoutedStorage
from bot.wechat_api import WeChatAPI

TOKEN = "resilience-token"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def signed_query() -> dict[str, str]:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:8]
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": ts, "nonce": nonce, "openid": "o"}


def text_xml(user: str, text: str, msg_id: int) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
        f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}"
        f"</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )


_ids = iter(range(10**15 + int(time.time()) % 10**6 * 1000, 10**16))


async def ask(client: TestClient, user: str, text: str = "医保断缴了怎么补") -> tuple[int, str]:
    resp = await client.post(
        "/wechat", params=signed_query(), data=text_xml(user, text, next(_ids)).encode()
    )
    return resp.status, await resp.text()


# -- throw-away servers ---------------------------------------------------------------------------


class RedisServer:
    """A redis-server child on a fixed free port: stop() and start() it at will."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not shutil.which("redis-server"):
        _unavailable("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Proxy:
    """A TCP forwarder to a real server that the test can cut and restore (PostgreSQL down)."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()
        # The server still gets (and runs) every query, but its answers are dropped: a
        # connection that dies after the server committed and before the client heard of it.
        self.swallow_replies = False

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones, as a crashed server would."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.pipes):
            writer.transport.abort()
        self.pipes.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            writer.transport.abort()
            return
        self.pipes |= {writer, up_writer}

        async def pump(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, replies: bool
        ) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    if replies and self.swallow_replies:
                        continue
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))
        self.pipes -= {writer, up_writer}


async def until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``predicate`` (which may return an awaitable) until it is true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@contextlib.asynccontextmanager
async def bot_client(settings: Settings) -> AsyncIterator[TestClient]:
    client = TestClient(TestServer(create_app(settings)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


# -- Redis ------------------------------------------------------------------------------------------


async def test_redis_down_and_restarted_answers_keep_flowing(
    redis_server: RedisServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.from_env(
        {"WECHAT_TOKEN": TOKEN, "BOT_DATA_DIR": str(tmp_path), "REDIS_URL": redis_server.url}
    )
    async with bot_client(settings) as client:
        store = client.app[STORAGE_KEY]
        assert isinstance(store, RoutedStorage) and isinstance(store.hot, FallbackStorage)
        hot = store.hot
        hot.retry_every = 0.2
        status, text = await ask(client, "oRedisUser1")
        assert status == 200 and "<Content>" in text
        assert await hot.primary.get("conv:oRedisUser1") is not None  # state is in Redis

        redis_server.stop()
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="bot.storage.tiered"):
            for i in range(20):
                status, text = await ask(client, f"oRedisDown{i % 3}")
                assert status == 200 and "<Content>" in text, text
        assert hot.down
        outage_logs = [r for r in caplog.records if "storage unavailable" in r.getMessage()]
        assert len(outage_logs) == 1  # logged once, not per request

        redis_server.start()
        await until(lambda: not hot.down)
        status, text = await ask(client, "oRedisUser2")
        assert status == 200 and "<Content>" in text
        # Written during the outage, replayed when Redis came back.
        assert await hot.primary.get("conv:oRedisDown0") is not None
        assert await hot.primary.get("conv:oRedisUser2") is not None


async def test_redis_unreachable_from_the_start(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "WECHAT_TOKEN": TOKEN,
            "BOT_DATA_DIR": str(tmp_path),
            "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        }
    )
    async with bot_client(settings) as client:
        for i in range(3):
            status, text = await ask(client, f"oNoRedis{i}")
            assert status == 200 and "<Content>" in text
        health = await client.get("/healthz")
        assert health.status == 200  # degraded, still serving: keep it in the balancer


# -- PostgreSQL -------------------------------------------------------------------------------------


@pytest.fixture
async def postgres_base(request: pytest.FixtureRequest) -> str:
    """The real PostgreSQL (``--postgres-url``), checked to answer."""
    base = str(request.config.getoption("--postgres-url"))
    import asyncpg

    try:
        conn = await asyncpg.connect(base, timeout=3)
        await conn.close()
    except Exception as exc:
        _unavailable(f"postgres not reachable at {base}: {exc}")
    return base


@pytest.fixture
async def pg_proxy(postgres_base: str) -> AsyncIterator[Proxy]:
    parts = urlsplit(postgres_base)
    proxy = Proxy(parts.port or 5432, parts.hostname or "127.0.0.1")
    await proxy.start()
    yield proxy
    await proxy.cut()


def via_proxy(base: str, proxy: Proxy, **params: str) -> str:
    """``base`` (user, password, database kept) reached through ``proxy``, plus ``params``."""
    parts = urlsplit(base)
    auth, _, _ = parts.netloc.rpartition("@")
    netloc = f"{auth}@127.0.0.1:{proxy.port}" if auth else f"127.0.0.1:{proxy.port}"
    query = urlencode([*parse_qsl(parts.query), *params.items()])
    return urlunsplit(parts._replace(netloc=netloc, query=query))


async def test_postgres_down_chat_keeps_answering(
    tmp_path: Path, postgres_base: str, pg_proxy: Proxy
) -> None:
    import asyncpg

    proxy = pg_proxy
    table = f"kv_test_{uuid.uuid4().hex[:12]}"
    settings = Settings.from_env(
        {
            "WECHAT_TOKEN": TOKEN,
            "BOT_DATA_DIR": str(tmp_path),
            "DATABASE_URL": via_proxy(postgres_base, proxy, table=table),
            # Reminder jobs with PostgreSQL down: the tests below.
            "REMINDERS_DATABASE_URL": f"sqlite:///{tmp_path}/jobs.sqlite3",
            "REMINDERS_IN_SERVE": "0",
        }
    )
    try:
        async with bot_client(settings) as client:
            store = client.app[STORAGE_KEY]
            assert isinstance(store, FallbackStorage)  # no Redis: everything in PostgreSQL
            store.retry_every = 0.2
            status, text = await ask(client, "oPgUser1")
            assert status == 200 and "<Content>" in text
            assert await store.primary.get("conv:oPgUser1") is not None

            await proxy.cut()
            for i in range(10):
                status, text = await ask(client, f"oPgDown{i % 2}")
                assert status == 200 and "<Content>" in text
            await store.set("sub:oPgDown0", [{"kept": True}])  # a durable write in the outage
            assert store.down

            await proxy.start()
            await until(lambda: not store.down, timeout=20)
            assert await store.primary.get("sub:oPgDown0") == [{"kept": True}]  # nothing lost
            assert await store.primary.get("conv:oPgDown1") is not None
            status, text = await ask(client, "oPgUser2")
            assert status == 200 and "<Content>" in text
    finally:
        await proxy.cut()
        conn = await asyncpg.connect(postgres_base)
        try:
            await conn.execute(f'DROP TABLE IF EXISTS "{table}"')
            await conn.execute("DELETE FROM storage_schema_version WHERE tbl = $1", table)
        finally:
            await conn.close()


# -- PostgreSQL down: reminder jobs -----------------------------------------------------------------
#
# The scheduler runs in this event loop on the real PostgreSQL job store (a fresh jobs table per
# test), reached through the proxy; its pushes go to the fake WeChat API, which records what a
# user would receive. A second job store straight to the server reads what the table really holds.
# The subscription records are in memory: only the jobs database goes down here.

PASS_FAILED = "reminder scheduler pass failed"
NOT_RECORDED = "reminder sent but not recorded"


@dataclass
class PgJobs:
    url: str  # the jobs table through the proxy: what the scheduler uses
    direct: PostgresJobStore  # the same table, straight to the server


@pytest.fixture
async def pg_jobs(postgres_base: str, pg_proxy: Proxy) -> AsyncIterator[PgJobs]:
    table = pg_table()
    sep = "&" if "?" in postgres_base else "?"
    direct = PostgresJobStore.from_url(f"{postgres_base}{sep}jobs_table={table}")
    try:
        await direct.counts()  # creates the table
        yield PgJobs(via_proxy(postgres_base, pg_proxy, jobs_table=table), direct)
    finally:
        await direct.close()
        await drop_pg_table(postgres_base, table)


@pytest.fixture
async def fake_wechat() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.close()


class CutAfterSend:
    """A channel that cuts PostgreSQL once, right after WeChat accepted a push: the outage
    falls between the send and the write that records it."""

    def __init__(self, inner: Channel, proxy: Proxy) -> None:
        self.inner = inner
        self.name = inner.name
        self.proxy = proxy
        self.armed = True

    def accepts(self, target: Target) -> bool:
        return self.inner.accepts(target)

    async def send(self, target: Target, message: Message) -> None:
        await self.inner.send(target, message)
        if self.armed:
            self.armed = False
            await self.proxy.cut()


class ReminderRig:
    """A running :class:`Scheduler` on ``jobs_url``; ``offset`` moves its clock forward (to
    expire leases without waiting them out)."""

    def __init__(
        self, jobs_url: str, fake: FakeWeChatAPI, caplog: pytest.LogCaptureFixture
    ) -> None:
        self.fake = fake
        self.caplog = caplog
        self.offset = 0.0
        rs = ReminderSettings(
            channels=("template",), template_id="TPL-REMIND", rate=1000.0, concurrency=1,
            batch=20, lease=60.0, poll=0.02,
        )  # fmt: skip
        self.settings = Settings(
            wechat_app_id=fake.app_id, wechat_app_secret=fake.secret,
            wechat_api_base=fake.base_url, reminders=rs,
        )  # fmt: skip
        self.storage = MemoryStorage()
        self.jobs = PostgresJobStore.from_url(jobs_url)
        self.api = WeChatAPI(self.settings, self.storage)
        self.channels = build_channels(rs, self.api, self.storage)
        self.scheduler = Scheduler(
            self.settings, self.jobs, self.storage, self.channels, clock=self.clock
        )
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def clock(self) -> float:
        return time.time() + self.offset

    async def seed(self, users: list[str], direct: JobStore, due_in: float = 0.0) -> None:
        """Records in the scheduler's storage, jobs straight into the table."""
        today = datetime.fromtimestamp(time.time(), TZ).date()
        await seed(self.storage, direct, users, today, self.clock() + due_in)

    def start(self) -> None:
        self.task = asyncio.create_task(self.scheduler.run(self.stopping))

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done()

    def pushes(self) -> Counter[str]:
        return Counter(p.to for p in self.fake.pushes)

    def logged(self, message: str) -> int:
        return sum(message in r.getMessage() for r in self.caplog.records)

    async def close(self, proxy: Proxy) -> None:
        self.stopping.set()
        if self.task is not None:
            done, _ = await asyncio.wait({self.task}, timeout=10)
            if not done:  # a test failed with a query hanging (swallowed): free it
                await proxy.cut()
            await asyncio.wait_for(self.task, timeout=30)
        await self.channels.close()
        await self.api.close()
        await self.jobs.close()
        await self.storage.close()


@pytest.fixture
async def rig(
    pg_jobs: PgJobs, pg_proxy: Proxy, fake_wechat: FakeWeChatAPI, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[ReminderRig]:
    caplog.set_level(logging.INFO, logger="bot.reminders")
    rig = ReminderRig(pg_jobs.url, fake_wechat, caplog)
    try:
        yield rig
    finally:
        pg_proxy.swallow_replies = False
        await rig.close(pg_proxy)


async def all_sent(direct: JobStore, users: list[str]) -> bool:
    states = {r.user: r.state for r in await direct.jobs()}
    return all(states.get(u) is JobState.SENT for u in users)


def assert_recorded_sent(rows: list[Job], users: list[str]) -> None:
    assert sorted(r.user for r in rows) == sorted(users)
    for row in rows:
        assert row.state is JobState.SENT, row
        assert row.sent_at is not None and row.lease_owner is None and row.channel == "template"


async def test_postgres_down_reminders_wait_and_resume(
    rig: ReminderRig, pg_jobs: PgJobs, pg_proxy: Proxy
) -> None:
    """Jobs that fall due while the database is down are sent, once each, when it is back."""
    before = [f"oPgEarly{i}" for i in range(3)]
    during = [f"oPgLate{i}" for i in range(5)]
    await rig.seed(before, pg_jobs.direct)
    await rig.seed(during, pg_jobs.direct, due_in=600)
    rig.start()
    await until(lambda: all_sent(pg_jobs.direct, before))  # the pool is connected by now
    assert rig.pushes() == Counter(before)

    await pg_proxy.cut()  # the pool's open connections die; new ones are refused
    rig.offset = 600  # the other jobs fall due during the outage
    failed = rig.logged(PASS_FAILED)
    await until(lambda: rig.logged(PASS_FAILED) >= failed + 3)
    assert rig.alive  # the loop waits it out instead of crashing
    assert rig.pushes() == Counter(before)  # nothing sent blind, nothing sent again
    rows = {r.user: r for r in await pg_jobs.direct.jobs()}
    assert all(rows[u].state is JobState.PENDING for u in during)  # still there, waiting

    await pg_proxy.start()
    await until(lambda: all_sent(pg_jobs.direct, before + during), timeout=20)
    assert rig.alive
    assert rig.pushes() == Counter(before + during)  # every reminder exactly once
    rows_after = await pg_jobs.direct.jobs()
    assert_recorded_sent(rows_after, before + during)
    assert all(r.attempts == 1 for r in rows_after)
    assert rig.scheduler.stats["sent"] == len(before + during)


async def test_postgres_down_between_send_and_record(
    rig: ReminderRig, pg_jobs: PgJobs, pg_proxy: Proxy
) -> None:
    """WeChat accepted the push, then the write that records it failed: the scheduler keeps
    the job (its lease still holds) and records it when the database is back, no re-send."""
    users = [f"oPgMark{i}" for i in range(3)]
    rig.channels.items[0] = CutAfterSend(rig.channels.items[0], pg_proxy)
    await rig.seed(users, pg_jobs.direct)
    rig.start()
    # It keeps trying to record that push through the outage (or, the bug this guards
    # against, goes on pushing the batch with nothing recorded, to send it all again later).
    await until(lambda: rig.logged(NOT_RECORDED) >= 2 or rig.pushes().total() > 1)
    assert rig.alive
    assert rig.pushes().total() == 1, rig.pushes()  # the batch waits for the record
    await pg_proxy.start()
    await until(lambda: all_sent(pg_jobs.direct, users), timeout=20)
    assert rig.alive
    assert rig.pushes() == Counter(users)  # exactly once each, the cut-off one included
    rows = await pg_jobs.direct.jobs()
    assert_recorded_sent(rows, users)
    assert all(r.attempts == 1 for r in rows)
    assert rig.scheduler.stats["lease_lost"] == 0


async def test_postgres_down_past_the_lease_between_send_and_record(
    rig: ReminderRig, pg_jobs: PgJobs, pg_proxy: Proxy
) -> None:
    """The design's limit (scheduler docstring: at least once): when the outage outlasts the
    lease of a job already pushed, the job is claimed again and pushed a second time. Only
    that job: nothing is lost, and the rest of its batch goes out once."""
    users = [f"oPgLong{i}" for i in range(3)]
    rig.channels.items[0] = CutAfterSend(rig.channels.items[0], pg_proxy)
    await rig.seed(users, pg_jobs.direct)
    rig.start()
    await until(lambda: rig.logged(NOT_RECORDED) >= 1)
    first = next(iter(rig.pushes()))
    rig.offset = rig.settings.reminders.lease + 1  # the outage outlasts the lease
    failed = rig.logged(PASS_FAILED)
    await until(lambda: rig.logged(PASS_FAILED) >= failed + 2)  # gave up the record, waits
    assert rig.alive
    assert rig.pushes() == Counter([first])  # the rest of the batch: lease gone, not sent
    await pg_proxy.start()
    await until(lambda: all_sent(pg_jobs.direct, users), timeout=20)
    assert rig.alive
    assert rig.pushes() == Counter(users) + Counter([first])  # that one twice, the rest once
    rows = {r.user: r for r in await pg_jobs.direct.jobs()}
    assert_recorded_sent(list(rows.values()), users)
    assert all(r.attempts == 2 for r in rows.values())  # claimed again: leases ran out


async def test_postgres_claim_answer_lost_lease_expires_and_job_is_retried(
    rig: ReminderRig, pg_jobs: PgJobs, pg_proxy: Proxy
) -> None:
    """The connection dies after PostgreSQL committed a claim and before the scheduler heard of
    it: the jobs are leased to a worker that never got them. They wait out the lease (not sent,
    not lost), then are claimed again and sent once."""
    # Pass by pass (run_once), so no claim is in flight when the answers start to vanish. A
    # first reminder goes out normally: the pool's one connection is open and has the claim
    # prepared (asyncpg prepares a statement first, and would hang there, before running it).
    warm, lost = ["oPgWarm"], [f"oPgLost{i}" for i in range(3)]
    await rig.seed(warm, pg_jobs.direct)
    assert await rig.scheduler.run_once() == 1
    assert rig.pushes() == Counter(warm)

    pg_proxy.swallow_replies = True
    await rig.seed(lost, pg_jobs.direct)
    claiming = asyncio.create_task(rig.scheduler.run_once())

    async def leased_to_us() -> bool:
        rows = [r for r in await pg_jobs.direct.jobs() if r.user in lost]
        return all(r.state is JobState.LEASED and r.lease_owner == rig.scheduler.owner
                   for r in rows)  # fmt: skip

    await until(leased_to_us)  # committed in the database, its answer never arrived
    assert not claiming.done()
    await pg_proxy.cut()
    pg_proxy.swallow_replies = False
    await asyncio.wait({claiming}, timeout=10)
    assert claiming.done() and claiming.exception() is not None  # what run() waits out
    assert rig.pushes() == Counter(warm)

    rig.start()  # the loop, from now on
    await pg_proxy.start()
    canary = ["oPgCanary"]
    await rig.seed(canary, pg_jobs.direct)
    await until(lambda: rig.pushes() == Counter(warm + canary))  # it claims again ...
    rows = {r.user: r for r in await pg_jobs.direct.jobs()}
    assert all(rows[u].state is JobState.LEASED for u in lost)  # ... but not leased jobs

    rig.offset = rig.settings.reminders.lease + 1  # the orphaned leases run out
    await until(lambda: all_sent(pg_jobs.direct, lost), timeout=20)
    assert rig.alive
    assert rig.pushes() == Counter(warm + lost + canary)  # each exactly once
    rows = {r.user: r for r in await pg_jobs.direct.jobs()}
    assert_recorded_sent(list(rows.values()), warm + lost + canary)
    assert [rows[u].attempts for u in lost] == [2] * len(lost)  # the lost claim, then ours
    assert rows["oPgCanary"].attempts == rows["oPgWarm"].attempts == 1


# -- a worker killed under load -------------------------------------------------------------------


def _worker_pids(supervisor: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


async def test_worker_killed_under_load(redis_server: RedisServer, tmp_path: Path) -> None:
    env = {
        "WECHAT_TOKEN": TOKEN,
        "REDIS_URL": redis_server.url,
        "REMINDERS_IN_SERVE": "0",
        "LOG_LEVEL": "WARNING",
    }
    server = ServerProcess(
        tmp_path, env, command=["python", "-m", "bot", "serve", "--host", "127.0.0.1",
                                "--workers", "2"],
    )  # fmt: skip
    await asyncio.to_thread(server.start)
    try:
        assert server.proc is not None
        await until(lambda: len(_worker_pids(server.proc.pid)) == 2)  # type: ignore[union-attr]
        victim = _worker_pids(server.proc.pid)[0]
        url = f"{server.url}/wechat"
        results: list[tuple[int, str, bytes]] = []
        failed: list[bytes] = []
        killed = asyncio.Event()

        async def one(http: aiohttp.ClientSession, i: int) -> None:
            body = text_xml(f"oLoad{i % 50}", "异地就医怎么报销", next(_ids)).encode()
            try:
                async with http.post(url, params=signed_query(), data=body) as resp:
                    results.append((resp.status, await resp.text(), body))
            except aiohttp.ClientError:
                failed.append(body)  # its connection died with the worker: WeChat retries

        # A fresh connection per request, so the kernel spreads them over both workers.
        connector = aiohttp.TCPConnector(force_close=True, limit=16)
        async with aiohttp.ClientSession(connector=connector) as http:
            batch = []
            for i in range(300):
                batch.append(asyncio.create_task(one(http, i)))
                if i == 100:
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                await asyncio.sleep(0.005)
            await asyncio.gather(*batch)
            assert all(status == 200 for status, _, _ in results)
            after_kill = results[-100:]
            assert after_kill and all("<Content>" in text for _, text, _ in after_kill)
            # WeChat's retries of the requests cut off with the worker, ~5 s later: answered
            # (by a live worker; a message the dead one had claimed is taken over).
            await asyncio.sleep(3.5)
            for body in failed:
                async with http.post(url, params=signed_query(), data=body) as resp:
                    assert resp.status == 200
                    assert "<Content>" in await resp.text()
        await until(lambda: len(_worker_pids(server.proc.pid)) == 2, timeout=15)  # type: ignore[union-attr]
    finally:
        code = await asyncio.to_thread(server.stop)
    assert code == 0, server.stderr()[-2000:]


async def test_retry_of_a_message_claimed_by_a_dead_worker_is_answered(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    settings = Settings.from_env(
        {
            "WECHAT_TOKEN": TOKEN,
            "BOT_DATA_DIR": str(tmp_path),
            "REDIS_URL": redis_server.url,
            "REPLY_DEADLINE": "1.5",
        }
    )
    async with bot_client(settings) as client:
        store = client.app[STORAGE_KEY]
        msg_id = next(_ids)
        # What a worker leaves behind when it is killed between claiming and replying.
        await store.add(f"dedup:m:{msg_id}", {"at": int(time.time()), "w": "gone:1:abc"}, ttl=600)
        resp = await client.post(
            "/wechat", params=signed_query(), data=text_xml("oOrphan", "异地就医怎么报销", msg_id)
        )
        assert resp.status == 200 and "<Content>" in await resp.text()
        # A live owner, though, is waited for, not overtaken.
        other = next(_ids)
        await store.set("worker:alive:2:def", 1, ttl=60)
        await store.add(f"dedup:m:{other}", {"at": int(time.time()), "w": "alive:2:def"}, ttl=600)
        started = time.monotonic()
        resp = await client.post(
            "/wechat", params=signed_query(), data=text_xml("oWaits", "异地就医怎么报销", other)
        )
        assert resp.status == 200 and await resp.text() == "success"
        assert time.monotonic() - started > 1.0  # it polled for the owner's reply
