"""Reminder delivery: the jobs table on every backend, the scheduler's paths, the chat side.

Real processes (two schedulers on one database, a SIGKILL mid-batch) and the 1,000-reminder
rate run are in ``test_reminder_processes.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from fake_wechat_api import FakeWeChatAPI
from reminder_helpers import drop_pg_table, pg_table, seed, subscription

from bot.channels.bridge import SIGNATURE_HEADER, sign
from bot.dialog.figures import fmt_date
from bot.dialog.render import MAX_BYTES
from bot.pipeline import Pipeline
from bot.policy import add_working_days, next_deadline
from bot.reminders.channels import (
    NO_ROUTE,
    DeliveryError,
    NoBridge,
    TargetKind,
    build_channels,
    parse_target,
)
from bot.reminders.config import ReminderSettings
from bot.reminders.jobs import JobState, JobStore, MemoryJobStore, open_job_store
from bot.reminders.records import (
    KEY_PREFIX,
    MONTHLY_KIND,
    JobSpec,
    advance_monthly,
    job_key,
    list_subscriptions,
)
from bot.reminders.scheduler import Route, Scheduler, route_for
from bot.reminders.service import Reminders, jobs_url
from bot.settings import TZ, Settings
from bot.storage import MemoryStorage, open_storage
from bot.wechat_api import WeChatAPI

BACKENDS = ("memory", "sqlite", "postgres")
OpenJobs = Callable[[], Awaitable[JobStore]]


# --- the jobs table, every backend ----------------------------------------------------------


@pytest.fixture(params=BACKENDS)
async def open_jobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[OpenJobs]:
    """Factory: each call opens another store on the same data (memory: the same store)."""
    backend = request.param
    table = pg_table()
    base = str(request.config.getoption("--postgres-url"))
    opened: list[JobStore] = []

    async def make() -> JobStore:
        if backend == "memory":
            if not opened:
                opened.append(open_job_store("memory://"))
            return opened[0]
        url = (
            f"sqlite:///{tmp_path}/jobs.sqlite3"
            if backend == "sqlite"
            else f"{base}?jobs_table={table}"
        )
        store = open_job_store(url)
        opened.append(store)
        if backend == "postgres" and len(opened) == 1:
            try:
                await store.counts()
            except OSError as exc:
                if os.environ.get("CI", "").lower() in ("true", "1"):
                    pytest.fail(f"postgres not reachable at {base}: {exc}")
                pytest.skip(f"postgres not reachable at {base}")
        return store

    yield make
    for store in opened:
        await store.close()
    if backend == "postgres" and opened:
        await drop_pg_table(base, table)


def spec(user: str, day: str, due_at: float = 100.0, kind: str = "collection_end") -> JobSpec:
    payload = {"kind": kind, "title": "t", "city": "", "due": "2026-12-31", "last": True}
    return JobSpec(job_key(user, kind, "2026-12-31", day), user, day, due_at, payload)


async def test_add_is_idempotent_per_key(open_jobs: OpenJobs) -> None:
    jobs = await open_jobs()
    assert await jobs.add([spec("u", "2026-12-24"), spec("u", "2026-12-30")], 1.0) == 2
    assert await jobs.add([spec("u", "2026-12-24"), spec("v", "2026-12-24")], 2.0) == 1
    assert await jobs.counts() == {"pending": 3}


async def test_claim_leases_due_jobs_once(open_jobs: OpenJobs) -> None:
    a, b = await open_jobs(), await open_jobs()
    await a.add([spec(f"u{i}", "2026-12-24", due_at=100.0 + i) for i in range(30)], 1.0)
    await a.add([spec("later", "2026-12-24", due_at=500.0)], 1.0)
    first, second = await asyncio.gather(
        a.claim("A", 200.0, 20, 60.0), b.claim("B", 200.0, 20, 60.0)
    )
    keys = [j.key for j in first + second]
    assert len(keys) == len(set(keys)) == 30  # every due job once; the later one not yet
    assert all(j.state is JobState.LEASED and j.attempts == 1 for j in first + second)
    assert await a.claim("C", 200.0, 20, 60.0) == []


async def test_expired_lease_is_claimed_again(open_jobs: OpenJobs) -> None:
    jobs = await open_jobs()
    await jobs.add([spec("u", "2026-12-24")], 1.0)
    (job,) = await jobs.claim("dead", 200.0, 10, 30.0)
    assert await jobs.claim("B", 229.0, 10, 30.0) == []
    (again,) = await jobs.claim("B", 230.0, 10, 30.0)
    assert again.key == job.key and again.lease_owner == "B" and again.attempts == 2
    # The dead worker's late result is refused: only the lease holder records.
    assert not await jobs.complete(job.key, "dead", JobState.SENT, 231.0)
    assert await jobs.complete(job.key, "B", JobState.SENT, 231.0, channel="template")
    (done,) = await jobs.jobs("u")
    assert (done.state, done.channel, done.sent_at) == (JobState.SENT, "template", 231.0)


async def test_reschedule_and_refund(open_jobs: OpenJobs) -> None:
    jobs = await open_jobs()
    await jobs.add([spec("u", "2026-12-24"), spec("v", "2026-12-24")], 1.0)
    u, v = sorted(await jobs.claim("A", 200.0, 10, 60.0), key=lambda j: j.user)
    assert await jobs.reschedule(u.key, "A", 300.0, 201.0, error="45009: busy")
    assert await jobs.reschedule(v.key, "A", 250.0, 201.0, refund=True)
    assert not await jobs.reschedule(v.key, "A", 250.0, 201.0)  # no longer held
    rows = {j.user: j for j in await jobs.jobs()}
    assert (rows["u"].state, rows["u"].due_at, rows["u"].attempts) == ("pending", 300.0, 1)
    assert rows["u"].error == "45009: busy"
    assert (rows["v"].due_at, rows["v"].attempts) == (250.0, 0)
    assert [j.user for j in await jobs.claim("A", 260.0, 10, 60.0)] == ["v"]


async def test_sync_forget_and_stop_user(open_jobs: OpenJobs) -> None:
    jobs = await open_jobs()
    a, b, c = spec("u", "2026-12-24"), spec("u", "2026-12-30"), spec("u", "2027-01-05")
    await jobs.add([a, b, spec("other", "2026-12-24")], 1.0)
    (claimed,) = await jobs.claim("A", 200.0, 1, 60.0)
    await jobs.complete(claimed.key, "A", JobState.SENT, 201.0)
    # The records now say b and c: a (sent) stays as history, b stays, c is new.
    await jobs.sync_user("u", [b, c], 202.0)
    assert {j.key: j.state for j in await jobs.jobs("u")} == {
        a.key: "sent", b.key: "pending", c.key: "pending",
    }  # fmt: skip
    await jobs.sync_user("u", [], 203.0)  # all cancelled: pending ones go, history stays
    assert [j.key for j in await jobs.jobs("u")] == [a.key]
    await jobs.add([b], 204.0)
    assert await jobs.stop_user("u", 205.0, "43004") == 1
    assert await jobs.forget_user("u") == 2
    assert await jobs.jobs("u") == []
    assert len(await jobs.jobs()) == 1  # the other user's job is untouched


# --- error codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "route"),
    [
        (43101, Route.STOP), (43004, Route.STOP),
        (45009, Route.BACKOFF), (45011, Route.BACKOFF), (-1, Route.BACKOFF),
        (45015, Route.NEXT), (45047, Route.NEXT),
        (47003, Route.ALERT), (40037, Route.ALERT),
        (40003, Route.FAIL), (45002, Route.FAIL),
    ],
)  # fmt: skip
def test_each_error_code_has_its_route(code: int, route: Route) -> None:
    assert route_for(code) is route


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


TODAY = date(2026, 12, 24)
NOON = datetime(2026, 12, 24, 12, tzinfo=TZ).timestamp()


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.close()


@dataclasses.dataclass
class Rig:
    fake: FakeWeChatAPI
    storage: MemoryStorage
    jobs: JobStore
    scheduler: Scheduler
    clock: Clock
    bridge: FakeBridge

    async def seed(self, *users: str) -> None:
        await seed(self.storage, self.jobs, users, TODAY, due_at=self.clock.now - 1)

    async def state(self, user: str) -> JobState:
        (job,) = await self.jobs.jobs(user)
        return job.state

    async def job(self, user: str):  # type: ignore[no-untyped-def]
        (job,) = await self.jobs.jobs(user)
        return job


BRIDGE_SECRET = "bridge-secret"


@dataclasses.dataclass
class FakeBridge:
    """A personal-account bridge on 127.0.0.1 receiving pushes; checks their signature."""

    sent: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    bad_signatures: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get(SIGNATURE_HEADER) != sign(BRIDGE_SECRET, body):
            self.bad_signatures += 1
            return web.json_response({"ok": False}, status=401)
        data = json.loads(body)
        self.sent.append((data["room_id"], data["text"]))
        return web.json_response({"ok": True})


@pytest.fixture
async def fake_bridge(aiohttp_server: Any) -> FakeBridge:
    bridge = FakeBridge()
    app = web.Application()
    app.router.add_post("/push", bridge.handle)
    server = await aiohttp_server(app)
    bridge.url = str(server.make_url("/push"))
    return bridge


@pytest.fixture
async def rig(fake: FakeWeChatAPI, fake_bridge: FakeBridge) -> AsyncIterator[Rig]:
    """Scheduler with channels custom → subscribe → template, a memory job store, fake API."""
    rs = ReminderSettings(
        channels=("custom", "subscribe", "template"),
        template_id="TPL-REMIND",
        subscribe_template_id="SUB-REMIND",
        rate=1000.0,
        retry_base=60.0,
        max_attempts=3,
        lease=60.0,
        wecom_webhook_base=fake.base_url + "webhook/",
    )
    settings = Settings(
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        reminders=rs,
    )
    storage = MemoryStorage()
    api = WeChatAPI(settings, storage)
    jobs = open_job_store("memory://")
    channels = build_channels(
        rs, api, storage, bridge_push_url=fake_bridge.url, bridge_secret=BRIDGE_SECRET
    )
    clock = Clock(NOON)
    scheduler = Scheduler(settings, jobs, storage, channels, clock=clock, owner="test")
    yield Rig(fake, storage, jobs, scheduler, clock, fake_bridge)
    await channels.close()
    await api.close()
    await storage.close()


async def test_sent_through_the_first_channel(rig: Rig) -> None:
    await rig.seed("alice")
    assert await rig.scheduler.run_once() == 1
    job = await rig.job("alice")
    assert (job.state, job.channel) == (JobState.SENT, "custom")
    (push,) = rig.fake.pushes
    assert push.to == "alice" and "2026年12月27日" in push.body["text"]["content"]
    assert "还有3天" in push.body["text"]["content"]
    assert await rig.scheduler.run_once() == 0  # recorded: never sent again


@pytest.mark.parametrize("code", [45015, 45047])
async def test_window_errors_try_the_next_channel(rig: Rig, code: int) -> None:
    rig.fake.fail_next("message/custom/send", code)
    await rig.seed("alice")
    await rig.scheduler.run_once()
    job = await rig.job("alice")
    assert (job.state, job.channel) == (JobState.SENT, "subscribe")
    (push,) = rig.fake.pushes
    assert push.path == "message/subscribe/bizsend"
    data = push.body["data"]
    assert data["thing1"]["value"] == "2027年度居民医保集中缴费截止"
    assert data["time2"]["value"] == "2026年12月27日"
    assert len(data["thing3"]["value"]) <= 20


async def test_43101_stops_the_job(rig: Rig) -> None:
    rig.fake.out_of_window.add("alice")
    rig.fake.subscribe_grants = {}  # alice never authorised (or used up) the one-time send
    await rig.seed("alice")
    await rig.scheduler.run_once()
    job = await rig.job("alice")
    assert (job.state, job.channel) == (JobState.STOPPED, "subscribe")
    assert "43101" in job.error
    assert rig.fake.pushes == []
    assert not rig.fake.calls_to("message/template/send")  # stop means stop, no fallback
    rig.clock.now += 86400
    assert await rig.scheduler.run_once() == 0


async def test_43004_stops_all_the_users_jobs(rig: Rig) -> None:
    rig.fake.unfollowed.add("alice")
    await rig.seed("alice")
    later = subscription(TODAY, kind="monthly_due")
    payload = {"kind": later.kind, "title": "x", "city": "", "due": later.due, "last": False}
    await rig.jobs.add(
        [JobSpec("alice|later", "alice", "2026-12-26", rig.clock.now + 86400, payload)], 1.0
    )
    await rig.scheduler.run_once()
    assert {j.state for j in await rig.jobs.jobs("alice")} == {JobState.STOPPED}
    assert rig.fake.pushes == []


@pytest.mark.parametrize("code", [45009, 45011])
async def test_rate_limit_backs_off_and_pauses(rig: Rig, code: int) -> None:
    rig.fake.fail_next("message/custom/send", code)
    await rig.seed("alice", "bob")
    rig.scheduler.rs = dataclasses.replace(rig.scheduler.rs, concurrency=1)
    await rig.scheduler.run_once()
    first, second = await rig.jobs.jobs("alice") + await rig.jobs.jobs("bob")
    assert first.state is second.state is JobState.PENDING
    assert first.due_at >= NOON + 60 and first.attempts == 1 and str(code) in first.error
    # The other job of the batch was handed back untouched, to go after the pause.
    assert second.attempts == 0 and second.due_at >= NOON + 60
    assert await rig.scheduler.run_once() == 0  # paused
    rig.clock.now += 3600
    assert await rig.scheduler.run_once() == 2
    assert {p.to for p in rig.fake.pushes} == {"alice", "bob"}


async def test_transport_error_retries_then_gives_up(rig: Rig) -> None:
    rig.fake.fail_next("message/custom/send", -1, times=10)
    await rig.seed("alice")
    for attempt in (1, 2):
        await rig.scheduler.run_once()
        job = await rig.job("alice")
        assert (job.state, job.attempts) == (JobState.PENDING, attempt)
        assert await rig.scheduler.run_once() == 0  # not before its back-off
        rig.clock.now += 3600
    await rig.scheduler.run_once()  # third attempt = max_attempts: no more retries
    job = await rig.job("alice")
    assert job.state is JobState.FAILED and "gave up" in job.error
    assert len(rig.fake.calls_to("message/custom/send")) == 3


async def test_transport_error_then_success(rig: Rig) -> None:
    rig.fake.fail_next("message/custom/send", -1)
    await rig.seed("alice")
    await rig.scheduler.run_once()
    rig.clock.now += 3600
    await rig.scheduler.run_once()
    assert (await rig.job("alice")).state is JobState.SENT
    assert len(rig.fake.pushes) == 1


@pytest.mark.parametrize("code", [47003, 40037])
async def test_config_errors_alert_and_are_not_retried(
    rig: Rig, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    rig.fake.out_of_window.add("alice")
    rig.fake.fail_next("message/subscribe/bizsend", code)
    rig.fake.fail_next("message/template/send", code)
    await rig.seed("alice")
    with caplog.at_level(logging.ERROR, logger="bot.reminders.scheduler"):
        await rig.scheduler.run_once()
    alerts = [r for r in caplog.records if getattr(r, "alert", False)]
    assert [r.errcode for r in alerts] == [code, code]  # type: ignore[attr-defined]
    job = await rig.job("alice")
    assert job.state is JobState.FAILED and str(code) in job.error
    rig.clock.now += 86400
    assert await rig.scheduler.run_once() == 0
    assert rig.fake.pushes == []


async def test_alert_falls_through_to_a_working_channel(rig: Rig) -> None:
    rig.fake.out_of_window.add("alice")
    rig.fake.templates.discard("SUB-REMIND")  # the bizsend template id is wrong: 40037
    await rig.seed("alice")
    await rig.scheduler.run_once()
    job = await rig.job("alice")
    assert (job.state, job.channel) == (JobState.SENT, "template")


async def test_cancelled_and_expired_jobs_are_not_sent(rig: Rig) -> None:
    await rig.seed("alice", "bob")
    await rig.storage.delete(KEY_PREFIX + "alice")  # cancelled after the job was made
    rig.clock.now += 4 * 86400  # bob's deadline (in 3 days) has passed
    await rig.scheduler.run_once()
    assert await rig.state("alice") is JobState.CANCELLED
    assert await rig.state("bob") is JobState.EXPIRED
    assert rig.fake.calls_to("message/custom/send") == []


async def test_group_and_bridge_targets(rig: Rig) -> None:
    await rig.storage.set("group:webhook:room%1", "ROBOT-KEY")
    group_user, bridge_user, web_user = "grp:wecom_robot:room%251:alice", "bridge:carol", "web:x"
    assert parse_target(group_user).address == "room%1"
    assert parse_target(web_user).kind is TargetKind.NONE
    await rig.seed(group_user, bridge_user, web_user)
    await rig.scheduler.run_once()
    (push,) = rig.fake.pushes
    assert push.path == "webhook/send" and push.body["text"]["mentioned_list"] == ["alice"]
    assert await rig.state(group_user) is JobState.SENT
    assert [room for room, _ in rig.bridge.sent] == ["carol"]  # pushed, signed, to the bridge
    assert rig.bridge.bad_signatures == 0
    assert await rig.state(bridge_user) is JobState.SENT
    assert await rig.state(web_user) is JobState.FAILED  # the chat page cannot be pushed to


async def test_group_robot_limit_backs_off(rig: Rig) -> None:
    rig.fake.webhook_per_minute = 2
    await rig.storage.set("group:webhook:r", rig.fake.webhook_url)  # a URL: its key is used
    users = [f"grp:wecom_robot:r:m{i}" for i in range(3)]
    await rig.seed(*users)
    rig.scheduler.rs = dataclasses.replace(rig.scheduler.rs, concurrency=1)
    await rig.scheduler.run_once()
    states = [await rig.state(u) for u in users]
    assert states.count(JobState.SENT) == 2 and states.count(JobState.PENDING) == 1


# --- monthly roll-over ----------------------------------------------------------------------


async def test_monthly_reminder_rolls_over_after_firing(rig: Rig) -> None:
    bot = Pipeline(Settings(), rig.storage)
    bot.reminders = Reminders(Settings(), rig.storage, store=rig.jobs)  # the rig's job store
    today = date(2026, 12, 1)
    answer = await bot.respond("alice", "每月15号提醒我交灵活就业医保", today=today)
    assert "2026年12月8日、2026年12月14日" in answer.text
    assert [j.fire_on for j in await rig.jobs.jobs("alice")] == ["2026-12-08", "2026-12-14"]
    for day in (8, 14):
        rig.clock.now = datetime(2026, 12, day, 9, 0, 5, tzinfo=TZ).timestamp()
        assert await rig.scheduler.run_once() == 1
    assert len(rig.fake.pushes) == 2
    (sub,) = await list_subscriptions(rig.storage, "alice")
    assert (sub.due, sub.remind_on) == ("2027-01-15", ("2027-01-08", "2027-01-14"))
    pending = [j for j in await rig.jobs.jobs("alice") if j.state is JobState.PENDING]
    assert [j.fire_on for j in pending] == ["2027-01-08", "2027-01-14"]
    assert pending[0].due_at == datetime(2027, 1, 8, 9, tzinfo=TZ).timestamp()
    listing = await bot.respond("alice", "我的提醒", today=date(2026, 12, 20))
    assert "2027年1月15日" in listing.text and "下次提醒2027年1月8日" in listing.text
    # A worker that crashed after rolling over and rolls over again changes nothing.
    again = await advance_monthly(rig.storage, "alice", "2026-12-15")
    assert again is not None and again.due == "2027-01-15"
    (sub,) = await list_subscriptions(rig.storage, "alice")
    assert sub.due == "2027-01-15"


@pytest.fixture
async def sqlite_rig(
    fake: FakeWeChatAPI, fake_bridge: FakeBridge, tmp_path: Path
) -> AsyncIterator[tuple[Rig, Pipeline]]:
    """The rig on one SQLite file (records and jobs), with the chat side on the same data."""
    settings = Settings(
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        reminders=ReminderSettings(channels=("custom",), rate=1000.0, lease=60.0),
    )
    url = f"sqlite:///{tmp_path}/bot.sqlite3"
    storage = open_storage(url)
    api = WeChatAPI(settings, storage)
    jobs = open_job_store(url)
    channels = build_channels(settings.reminders, api, storage)
    clock = Clock(NOON)
    scheduler = Scheduler(settings, jobs, storage, channels, clock=clock, owner="test")
    bot = Pipeline(Settings(), storage)
    bot.reminders = Reminders(Settings(), storage, store=jobs)
    yield Rig(fake, storage, jobs, scheduler, clock, fake_bridge), bot  # type: ignore[arg-type]
    await bot.close()
    await channels.close()
    await api.close()
    await jobs.close()
    await storage.close()


async def test_a_changed_lead_time_is_kept_when_the_month_rolls_over(
    sqlite_rig: tuple[Rig, Pipeline],
) -> None:
    rig, bot = sqlite_rig
    await bot.respond("alice", "每月15号提醒我交灵活就业医保", today=date(2026, 12, 1))
    answer = await bot.respond("alice", "改成提前3天提醒", today=date(2026, 12, 1))
    assert "我会在2026年12月12日提醒你" in answer.text
    assert [j.fire_on for j in await rig.jobs.jobs("alice")] == ["2026-12-12"]
    rig.clock.now = datetime(2026, 12, 12, 9, 0, 5, tzinfo=TZ).timestamp()
    assert await rig.scheduler.run_once() == 1
    assert len(rig.fake.pushes) == 1
    (sub,) = await list_subscriptions(rig.storage, "alice")
    assert (sub.due, sub.remind_on, sub.lead_days) == ("2027-01-15", ("2027-01-12",), (3,))
    states = {j.fire_on: j.state for j in await rig.jobs.jobs("alice")}
    assert states == {"2026-12-12": JobState.SENT, "2027-01-12": JobState.PENDING}


async def test_a_job_leased_before_a_lead_time_change_is_not_sent(
    sqlite_rig: tuple[Rig, Pipeline],
) -> None:
    """A worker holding the old last reminder while the user changes the lead time: the old
    one is cancelled (not sent, no roll-over); the new day is sent once and rolls over."""
    rig, bot = sqlite_rig
    await bot.respond("bob", "每月15号提醒我交灵活就业医保", today=date(2026, 12, 10))
    rig.clock.now = datetime(2026, 12, 14, 9, 0, 5, tzinfo=TZ).timestamp()
    (held,) = await rig.jobs.claim("test", rig.clock.now, 10, 60.0)
    assert held.fire_on == "2026-12-14" and held.payload["last"]
    answer = await bot.respond("bob", "改成当天提醒", today=date(2026, 12, 14))
    assert "我会在2026年12月15日提醒你" in answer.text
    await rig.scheduler.process(held)
    assert rig.fake.pushes == []
    (sub,) = await list_subscriptions(rig.storage, "bob")
    assert (sub.due, sub.remind_on) == ("2026-12-15", ("2026-12-15",))
    rig.clock.now = datetime(2026, 12, 15, 9, 0, 5, tzinfo=TZ).timestamp()
    assert await rig.scheduler.run_once() == 1
    assert await rig.scheduler.run_once() == 0
    assert len(rig.fake.pushes) == 1
    states = {j.fire_on: j.state for j in await rig.jobs.jobs("bob")}
    assert states == {
        "2026-12-14": JobState.CANCELLED,
        "2026-12-15": JobState.SENT,
        "2027-01-15": JobState.PENDING,
    }


async def test_month_end_reminder_rolls_to_the_last_day() -> None:
    storage = MemoryStorage()
    sub = dataclasses.replace(
        subscription(date(2027, 1, 24), kind="monthly_due"),
        due="2027-01-31", remind_on=("2027-01-24", "2027-01-30"), due_day=None, lead_days=(7, 1),
    )  # fmt: skip
    await storage.set(KEY_PREFIX + "u", [asdict(sub)])
    nxt = await advance_monthly(storage, "u", "2027-01-31")
    assert nxt is not None and (nxt.due, nxt.remind_on) == (
        "2027-02-28",
        ("2027-02-21", "2027-02-27"),
    )


# --- the chat side ----------------------------------------------------------------------------


async def test_subscribe_list_cancel_keeps_jobs_in_step(bot: Pipeline) -> None:
    today = date(2026, 11, 25)
    await bot.respond("u", "广州居民医保缴费截止前提醒我", today=today)
    await bot.respond("u", "每月15号提醒我交灵活就业医保", today=today)
    async with bot.reminders.jobs() as jobs:
        fire = sorted(j.fire_on for j in await jobs.jobs("u"))
        assert fire == ["2026-12-08", "2026-12-14", "2026-12-24", "2026-12-30"]
        due_at = {j.fire_on: j.due_at for j in await jobs.jobs("u")}
        # 09:00 in China, whatever the server's own time zone.
        assert due_at["2026-12-24"] == datetime(2026, 12, 24, 9, tzinfo=TZ).timestamp()
        assert "2026年12月24日" in (await bot.respond("u", "我的提醒", today=today)).text
        await bot.respond("u", "取消提醒", today=today)
        await bot.respond("u", "取消1", today=today)
        assert sorted(j.fire_on for j in await jobs.jobs("u")) == ["2026-12-08", "2026-12-14"]
        await bot.forget("u")
        assert await jobs.jobs("u") == []


async def test_a_short_correction_replaces_the_reminder_just_set(bot: Pipeline) -> None:
    today = date(2026, 11, 25)
    asked = await bot.respond("u", "提醒我交医保", today=today)  # the residents' yearly one
    assert asked.asks == "city"
    await bot.respond("u", "广州", today=today)  # the answer sets it, corrects nothing
    changed = await bot.respond("u", "每月15号", today=today)  # no: monthly, on the 15th
    assert changed.text.startswith("好的，刚才那个提醒已改成")
    (sub,) = await list_subscriptions(bot.storage, "u")
    assert sub.kind == MONTHLY_KIND and sub.due_day == 15
    async with bot.reminders.jobs() as jobs:  # the jobs follow: the yearly ones are gone
        assert sorted(j.fire_on for j in await jobs.jobs("u")) == ["2026-12-08", "2026-12-14"]
    # Asking for another one keeps both.
    await bot.respond("v", "广州提醒我交医保", today=today)
    await bot.respond("v", "再加一个每月15号的提醒", today=today)
    assert len(await list_subscriptions(bot.storage, "v")) == 2


async def test_transfer_follow_up_across_national_day(bot: Pipeline) -> None:
    # Applied Friday 26 Sep 2025; 15 working days: 28 Sep (Sunday, a make-up working day),
    # 29, 30 Sep; 1-8 Oct are the National Day holiday; 9, 10, 11 (Saturday, make-up), 13-17,
    # 20-23 Oct. So the follow-up is Thursday 23 Oct, not the naive 17 Oct.
    answer = await bot.respond("u", "转移办完了提醒我查一下", today=date(2025, 9, 26))
    assert "2025年10月23日" in answer.text
    async with bot.reminders.jobs() as jobs:
        (job,) = await jobs.jobs("u")
    assert job.fire_on == "2025-10-23"
    assert job.due_at == datetime(2025, 10, 23, 9, tzinfo=TZ).timestamp()


def test_jobs_share_the_storage_database(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert jobs_url(settings, open_storage(settings.storage_url)) == settings.storage_url
    pg = "postgresql://postgres@127.0.0.1:5432/test"
    assert jobs_url(settings, open_storage(pg)).startswith(pg)
    assert jobs_url(settings, MemoryStorage()) == "memory://"
    own = Settings(reminders=ReminderSettings(database_url="sqlite:///x.sqlite3"))
    assert jobs_url(own, MemoryStorage()) == "sqlite:///x.sqlite3"


def test_reminder_settings_from_env() -> None:
    rs = Settings.from_env(
        {
            "REMINDER_CHANNELS": "template, bogus ,custom",
            "REMINDER_TEMPLATE_ID": "T1",
            "REMINDER_RATE": "50",
            "REMINDER_SEND_HOUR": "30",
            "REMINDER_LEASE": "-5",
            "REMINDER_TEMPLATE_FIELDS": "first,keyword1,remark",
        }
    ).reminders
    assert rs.channels == ("template", "custom")
    assert (rs.template_id, rs.rate, rs.send_hour, rs.lease) == ("T1", 50.0, 9, 60.0)
    assert rs.template_fields == ("first", "keyword1", "remark")


async def test_serve_runs_the_scheduler(fake: FakeWeChatAPI, tmp_path: Path) -> None:
    """The scheduler inside the app (cleanup_ctx) sends a due reminder and stops cleanly."""
    from aiohttp.test_utils import TestServer

    from bot.app import create_app

    rs = ReminderSettings(channels=("template",), template_id="TPL-REMIND", poll=0.05)
    settings = Settings(
        data_dir=tmp_path,
        wechat_token="t",
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        reminders=rs,
    )
    storage = open_storage(settings.storage_url)
    jobs = open_job_store(settings.storage_url)
    await seed(storage, jobs, ["alice"], datetime.now(TZ).date(), due_at=time.time())
    await jobs.close()
    server = TestServer(create_app(settings, storage=storage))
    await server.start_server()
    try:
        for _ in range(100):
            if fake.pushes:
                break
            await asyncio.sleep(0.05)
    finally:
        await server.close()
        await storage.close()
    assert [p.to for p in fake.pushes] == ["alice"]
    reopened = open_job_store(settings.storage_url)
    try:
        assert (await reopened.counts()) == {"sent": 1}
    finally:
        await reopened.close()


def test_jobs_fire_in_china_time_even_near_midnight() -> None:
    from bot.reminders.records import job_specs

    sub = subscription(date(2026, 12, 24))
    (only,) = job_specs("u", [sub], date(2026, 12, 24), 9, TZ)
    assert datetime.fromtimestamp(only.due_at, TZ) == datetime(2026, 12, 24, 9, tzinfo=TZ)
    assert job_specs("u", [sub], date(2026, 12, 24) + timedelta(days=1), 9, TZ) == []


async def test_retry_of_a_rolled_over_monthly_reminder_is_still_sent(rig: Rig) -> None:
    bot = Pipeline(Settings(), rig.storage)
    bot.reminders = Reminders(Settings(), rig.storage, store=rig.jobs)
    await bot.respond("alice", "每月15号提醒我交灵活就业医保", today=date(2026, 12, 10))
    rig.fake.fail_next("message/custom/send", -1)
    rig.clock.now = datetime(2026, 12, 14, 9, 0, 5, tzinfo=TZ).timestamp()
    await rig.scheduler.run_once()  # rolled over, then the send failed: retry later
    (sub,) = await list_subscriptions(rig.storage, "alice")
    assert sub.due == "2027-01-15"
    rig.clock.now += 3600
    await rig.scheduler.run_once()
    states = {j.fire_on: j.state for j in await rig.jobs.jobs("alice")}
    assert states == {"2026-12-14": "sent", "2027-01-08": "pending", "2027-01-14": "pending"}
    (sub,) = await list_subscriptions(rig.storage, "alice")
    assert sub.due == "2027-01-15"  # rolled over once, not twice


class FlakyJobs(MemoryJobStore):
    """A jobs database that is down for the first ``failures`` calls."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def sync_user(self, user: str, specs, now: float) -> None:  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        await super().sync_user(user, specs, now)


async def test_chat_answers_while_the_jobs_database_is_down() -> None:
    storage = MemoryStorage()
    jobs = FlakyJobs(failures=2)
    bot = Pipeline(Settings(), storage)
    bot.reminders = Reminders(Settings(), storage, store=jobs)
    bot.reminders.retry_delays = (0.01, 0.01, 0.01)
    answer = await bot.respond("u", "广州居民医保缴费截止前提醒我", today=date(2026, 11, 25))
    assert "2026年12月24日" in answer.text  # answered, record kept
    assert await jobs.jobs("u") == []
    for _ in range(100):
        if await jobs.jobs("u"):
            break
        await asyncio.sleep(0.01)
    assert [j.fire_on for j in await jobs.jobs("u")] == ["2026-12-24", "2026-12-30"]


class DownJobs(MemoryJobStore):
    """Claims fail while the database is down (the first ``failures`` passes)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def claim(self, owner: str, now: float, limit: int, lease: float):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        return await super().claim(owner, now, limit, lease)


async def test_scheduler_waits_out_a_database_outage(rig: Rig) -> None:
    jobs = DownJobs(failures=3)
    rig.jobs = jobs
    rig.scheduler.jobs = jobs
    rig.scheduler.rs = dataclasses.replace(rig.scheduler.rs, poll=0.001)
    await rig.seed("alice")
    await asyncio.wait_for(rig.scheduler.run(asyncio.Event(), drain=True), timeout=10)
    assert jobs.failures == 0 and await rig.state("alice") is JobState.SENT


async def test_without_a_bridge_push_url_a_bridged_reminder_has_no_route() -> None:
    with pytest.raises(DeliveryError) as caught:
        await NoBridge().send_bridge("room", "text")
    assert caught.value.code == NO_ROUTE


def test_postgres_jobs_table_is_not_the_storage_table() -> None:
    """DATABASE_URL's ?table= names the key/value table; the jobs keep theirs apart."""
    from bot.reminders.pg_jobs import DEFAULT_TABLE, PostgresJobStore

    shared = PostgresJobStore.from_url("postgresql://u@h/db?table=kv_a&sslmode=disable")
    assert shared.table == DEFAULT_TABLE != "kv_a"
    assert "table" not in shared.dsn and "sslmode=disable" in shared.dsn
    own = PostgresJobStore.from_url("postgresql://u@h/db?table=kv_a&jobs_table=jobs_b")
    assert own.table == "jobs_b" and "jobs_table" not in own.dsn


# --- where a reminder can arrive -------------------------------------------------------------

# Chats nothing can be pushed to (parse_target: TargetKind.NONE): the chat page, WeCom 1:1.
UNPUSHABLE = ("web:page-7", "wecom_robot:bob", "wecom_aibot:dave")
ASKED_ON = date(2026, 11, 25)  # the chat-side tests' day


async def stored(bot: Pipeline, user: str) -> tuple[list[str], list[str]]:
    """The user's reminder records (titles) and jobs (fire days), as really stored."""
    titles = [s.title for s in await list_subscriptions(bot.storage, user)]
    async with bot.reminders.jobs() as jobs:
        fire = sorted(j.fire_on for j in await jobs.jobs(user))
    return titles, fire


def fits(text: str) -> bool:
    return len(text.encode("utf-8")) <= MAX_BYTES and "${" not in text


@pytest.mark.parametrize(
    ("user", "said", "not_said"),
    [
        ("oOfficial1", "本公众号推送", "收不到"),
        ("bridge:alice", "这个对话里", "公众号推送"),
        ("grp:bridge:room1:alice", "这个对话里", "公众号推送"),
    ],
)
async def test_the_confirmation_says_where_the_reminder_will_arrive(
    user: str, said: str, not_said: str
) -> None:
    from bot.channels.config import GroupSettings

    # The bridge can push back (BRIDGE_PUSH_URL): bridged chats get their reminders.
    settings = Settings(groups=GroupSettings(bridge_push_url="https://bridge.invalid/push"))
    bot = Pipeline(settings, MemoryStorage())
    answer = await bot.respond(user, "广州居民医保缴费截止前提醒我", today=ASKED_ON)
    due = next_deadline(ASKED_ON, city=None).due
    assert "已记下" in answer.text and fmt_date(due) in answer.text
    assert said in answer.text and not_said not in answer.text
    titles, fire = await stored(bot, user)
    assert len(titles) == 1
    assert fire == [(due - timedelta(days=d)).isoformat() for d in (7, 1)]
    await bot.close()


@pytest.mark.parametrize("user", UNPUSHABLE)
async def test_a_chat_that_cannot_be_pushed_to_gets_the_date_but_no_reminder(
    bot: Pipeline, user: str
) -> None:
    assert parse_target(user).kind is TargetKind.NONE
    answer = await bot.respond(user, "居民医保缴费截止前提醒我", today=ASKED_ON)
    assert answer.intent == "remind_subscribe" and fits(answer.text)
    deadline = next_deadline(ASKED_ON, city=None)
    lead = [deadline.due - timedelta(days=d) for d in (7, 1)]
    assert answer.text.startswith(
        f"“{deadline.basis.split('：')[0]}”：截止日是{fmt_date(deadline.due)}"
    )
    assert deadline.basis in answer.text  # the figure and its source, as for anyone else
    assert [f["name"] for f in answer.figures] == ["deadline"]
    assert "收不到主动推送" in answer.text and "没有在这里设提醒" in answer.text
    assert "“医保小助手”公众号" in answer.text and "“提醒我”" in answer.text
    assert "、".join(fmt_date(d) for d in lead) in answer.text  # days for the phone's calendar
    assert "已记下" not in answer.text and "我会在" not in answer.text
    assert await bot.storage.get(KEY_PREFIX + user) is None
    assert await stored(bot, user) == ([], [])
    listing = await bot.respond(user, "我的提醒", today=ASKED_ON)
    assert "没有设置提醒" in listing.text and "公众号" in listing.text
    assert "还没有设置提醒" not in listing.text  # not the invitation to set one here
    cancel = await bot.respond(user, "取消提醒", today=ASKED_ON)
    assert cancel.intent == "remind_cancel" and "没有设置任何提醒" in cancel.text


@pytest.mark.parametrize("user", [*UNPUSHABLE, "oOfficial1"])
async def test_collection_start_reminder_is_stored_only_where_it_can_arrive(
    bot: Pipeline, user: str
) -> None:
    from bot.policy import resident_collection_period

    answer = await bot.respond(user, "居民医保缴费开始时通知我", today=ASKED_ON)
    assert answer.intent == "remind_subscribe" and fits(answer.text)
    assert resident_collection_period(2027, city=None).opens_by < ASKED_ON  # open: the next one
    period = resident_collection_period(2028, city=None)
    opens = [period.opens_on, period.opens_by]
    assert opens[0] < opens[1]  # a national estimate: a range, reminded at both ends
    when = f"{fmt_date(opens[0])}至{fmt_date(opens[1])}之间"
    assert f"集中缴费期一般在{when}开始" in answer.text
    assert [f["name"] for f in answer.figures] == ["collection_start"]
    assert "按全国通行规则估算" in answer.text
    titles, fire = await stored(bot, user)
    if parse_target(user).kind is TargetKind.NONE:
        assert "收不到主动推送" in answer.text and "已记下" not in answer.text
        assert "、".join(fmt_date(d) for d in opens) in answer.text
        assert (titles, fire) == ([], [])
    else:
        assert "已记下" in answer.text and "本公众号推送" in answer.text
        assert titles == ["2028年度居民医保开始缴费"]
        assert fire == [d.isoformat() for d in opens]


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("每月15号提醒我交灵活就业医保", date(2026, 12, 15)),
        ("转移办完了提醒我查一下", add_working_days(ASKED_ON, 15).day),
    ],
)
async def test_monthly_and_transfer_reminders_are_not_stored_for_the_chat_page(
    bot: Pipeline, text: str, due: date
) -> None:
    answer = await bot.respond("web:page-8", text, today=ASKED_ON)
    assert answer.intent == "remind_subscribe" and fits(answer.text)
    assert fmt_date(due) in answer.text and "收不到主动推送" in answer.text
    assert await stored(bot, "web:page-8") == ([], [])
    official = await bot.respond("oOfficial2", text, today=ASKED_ON)
    assert fmt_date(due) in official.text and "已记下" in official.text
    titles, fire = await stored(bot, "oOfficial2")
    assert len(titles) == 1 and fire


async def test_an_old_record_of_the_chat_page_is_listed_with_a_note_and_can_be_cancelled(
    bot: Pipeline,
) -> None:
    """Records made before such chats stopped getting reminders: shown, flagged, removable."""
    user = "web:page-9"
    sub = subscription(ASKED_ON)
    await bot.storage.set(KEY_PREFIX + user, [asdict(sub)])
    listing = await bot.respond(user, "我的提醒", today=ASKED_ON)
    assert "1. " + sub.title in listing.text and "收不到主动推送" in listing.text
    done = await bot.respond(user, "取消提醒", today=ASKED_ON)
    assert "已取消" in done.text and await stored(bot, user) == ([], [])


async def test_a_day_the_user_names_is_the_reminder_day(bot: Pipeline) -> None:
    today = date(2026, 11, 25)
    answer = await bot.respond("u", "提醒我12月20日交医保", today=today)
    first = answer.text.splitlines()[0]  # not a deadline: the user's own day
    assert "2026年12月20日提醒你交医保" in first and "截止日" not in first
    (sub,) = await list_subscriptions(bot.storage, "u")
    assert sub.kind == "user_date" and sub.due == "2026-12-20"
    async with bot.reminders.jobs() as jobs:
        assert [j.fire_on for j in await jobs.jobs("u")] == ["2026-12-20"]
