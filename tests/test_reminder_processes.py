"""Reminders under real failure: two scheduler processes, a SIGKILL mid-batch, 1,000 at a rate.

The schedulers are real ``python -m bot reminders run`` processes on one SQLite file or one
PostgreSQL database; the fake WeChat API runs in this test's event loop on 127.0.0.1 and
records every delivered push, so "exactly once" is counted where the user would see it.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fake_wechat_api import FakeWeChatAPI
from reminder_helpers import drop_pg_table, pg_table, scheduler_env, seed, start_scheduler

from bot.reminders.channels import build_channels
from bot.reminders.config import ReminderSettings
from bot.reminders.jobs import JobState, JobStore, open_job_store
from bot.reminders.scheduler import Scheduler
from bot.settings import TZ, Settings
from bot.storage import open_storage
from bot.storage.base import Storage
from bot.wechat_api import WeChatAPI


@dataclass
class Database:
    storage_url: str
    jobs_url: str
    storage: Storage
    jobs: JobStore


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """One database shared by this test and the scheduler processes."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/bot.sqlite3"
        db = Database(url, url, open_storage(url), open_job_store(url))
        yield db
        await db.jobs.close()
        await db.storage.close()
        return
    base = str(request.config.getoption("--postgres-url"))
    kv, table = f"kv_test_{uuid.uuid4().hex[:12]}", pg_table()
    storage_url, jobs_url = f"{base}?table={kv}", f"{base}?jobs_table={table}"
    db = Database(storage_url, jobs_url, open_storage(storage_url), open_job_store(jobs_url))
    if not await db.storage.ping():
        await db.storage.close()
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"postgres not reachable at {base}")
        pytest.skip(f"postgres not reachable at {base}")
    yield db
    await db.jobs.close()
    await db.storage.close()
    await drop_pg_table(base, table)
    import asyncpg

    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f'DROP TABLE IF EXISTS "{kv}"')
        await conn.execute("DELETE FROM storage_schema_version WHERE tbl = $1", kv)
    finally:
        await conn.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.close()


_drains: set[asyncio.Task[bytes]] = set()


async def wait_ready(proc: asyncio.subprocess.Process, timeout: float = 30.0) -> None:
    """Until the process logs that its scheduler loop runs (stderr, JSON lines)."""
    assert proc.stderr is not None
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = await asyncio.wait_for(proc.stderr.readline(), timeout=end - time.monotonic())
        if not line:
            raise AssertionError(f"scheduler exited early ({await proc.wait()})")
        if b"reminder scheduler started" in line:
            # Keep reading stderr so a chatty process never blocks on a full pipe.
            drain = asyncio.create_task(proc.stderr.read())
            _drains.add(drain)
            drain.add_done_callback(_drains.discard)
            return
    raise AssertionError("scheduler not ready")


async def wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def stop(proc: asyncio.subprocess.Process) -> dict[str, int]:
    """SIGTERM: the process finishes its batch, prints its counts and exits 0."""
    assert proc.stdout is not None
    proc.send_signal(signal.SIGTERM)
    out = await asyncio.wait_for(proc.stdout.read(), timeout=30)
    assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
    stats: dict[str, int] = json.loads(out.decode().splitlines()[-1])
    return stats


async def sent_count(jobs: JobStore) -> int:
    return (await jobs.counts()).get(JobState.SENT, 0)


async def test_two_schedulers_send_each_reminder_exactly_once(
    database: Database, fake: FakeWeChatAPI, tmp_path: Path
) -> None:
    users = [f"o{i:04d}" for i in range(300)]
    env = scheduler_env(
        tmp_path, fake.base_url, database.storage_url, database.jobs_url,
        LOG_LEVEL="INFO", REMINDER_RATE="1000", REMINDER_BATCH="10", REMINDER_CONCURRENCY="4",
    )  # fmt: skip
    procs = [await start_scheduler(env) for _ in range(2)]
    try:
        await asyncio.gather(*(wait_ready(p) for p in procs))
        # Due now, with both processes polling: they compete for every batch.
        await seed(database.storage, database.jobs, users, datetime.now(TZ).date(), time.time())
        await wait_until(lambda: _all_sent(database.jobs, len(users)))
    finally:
        stats = [await stop(p) for p in procs]
    per_user = Counter(p.to for p in fake.pushes)
    assert per_user == dict.fromkeys(users, 1)
    assert sum(s.get("sent", 0) for s in stats) == len(users)
    assert all(s.get("sent", 0) > 0 for s in stats), stats  # both really took part
    assert await database.jobs.counts() == {"sent": len(users)}


async def _all_sent(jobs: JobStore, n: int) -> bool:
    return await sent_count(jobs) >= n


async def test_sigkill_mid_batch_loses_nothing_and_duplicates_nothing(
    database: Database, fake: FakeWeChatAPI, tmp_path: Path
) -> None:
    users = [f"o{i:04d}" for i in range(60)]
    env = scheduler_env(
        tmp_path, fake.base_url, database.storage_url, database.jobs_url,
        LOG_LEVEL="INFO", REMINDER_RATE="5000", REMINDER_BATCH="60", REMINDER_CONCURRENCY="4",
        REMINDER_LEASE="2",
    )  # fmt: skip
    first = await start_scheduler(env)
    try:
        await wait_ready(first)
        # Ten pushes get through; the next ones hang in flight, as if WeChat were slow.
        fake.hold_after(10)
        await seed(database.storage, database.jobs, users, datetime.now(TZ).date(), time.time())
        await wait_until(lambda: _sent_and_holding(database.jobs, fake, 10))
    finally:
        first.kill()  # SIGKILL: no cleanup, no lease released, requests left in flight
        await first.wait()
    assert first.returncode == -signal.SIGKILL
    counts = await database.jobs.counts()
    assert counts.get("sent") == 10 and counts.get("leased", 0) > 0, counts  # mid-batch
    fake.release()  # the hung requests are refused: never delivered, as their sender died
    second = await start_scheduler(env)
    try:
        await wait_ready(second)
        await wait_until(lambda: _all_sent(database.jobs, len(users)))
    finally:
        stats = await stop(second)
    assert Counter(p.to for p in fake.pushes) == dict.fromkeys(users, 1)
    assert stats.get("sent") == len(users) - 10
    rows = await database.jobs.jobs()
    assert {r.state for r in rows} == {JobState.SENT}
    assert max(r.attempts for r in rows) == 2  # the killed worker's jobs, claimed again


async def _sent_and_holding(jobs: JobStore, fake: FakeWeChatAPI, n: int) -> bool:
    held = len(fake.calls_to("message/template/send")) > n
    return held and await sent_count(jobs) >= n


async def test_thousand_reminders_within_the_configured_rate(
    fake: FakeWeChatAPI, tmp_path: Path
) -> None:
    """1,000 due reminders at REMINDER_RATE=400/s: measured throughput and the peak second."""
    n, rate, concurrency = 1000, 400.0, 16
    url = f"sqlite:///{tmp_path}/bot.sqlite3"
    rs = ReminderSettings(
        channels=("template",), template_id="TPL-REMIND", rate=rate,
        concurrency=concurrency, batch=200, poll=0.05,
    )  # fmt: skip
    settings = Settings(
        wechat_app_id=fake.app_id, wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url, reminders=rs,
    )  # fmt: skip
    storage, jobs = open_storage(url), open_job_store(url)
    api = WeChatAPI(settings, storage)
    channels = build_channels(rs, api, storage)
    users = [f"o{i:04d}" for i in range(n)]
    try:
        await seed(storage, jobs, users, datetime.now(TZ).date(), time.time())
        scheduler = Scheduler(settings, jobs, storage, channels)
        started = time.monotonic()
        await scheduler.run(asyncio.Event(), drain=True)
        elapsed = time.monotonic() - started
        assert await jobs.counts() == {"sent": n}
    finally:
        await channels.close()
        await api.close()
        await jobs.close()
        await storage.close()
    times = sorted(p.at for p in fake.pushes)
    assert len(times) == n and len({p.to for p in fake.pushes}) == n
    peak = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times))
    span = times[-1] - times[0]
    print(f"\n1000 reminders at {rate:.0f}/s: {elapsed:.2f} s in all, {n / elapsed:.0f}/s; "
          f"first to last push {span:.2f} s; peak {peak} in any 1 s")  # fmt: skip
    # Slots of 0.1 s (40 sends each): the average stays at the rate, give or take the two
    # partial slots at the ends ...
    allowance = rate / 10
    assert span >= (n - 2 * allowance) / rate
    # ... any one second holds at most 11 slots' worth, plus requests still in flight ...
    assert peak <= rate * 1.1 + concurrency
    # ... and the rate is used, not wasted.
    assert elapsed < n / rate + 2.0
