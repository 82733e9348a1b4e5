"""The scheduler: claim due jobs, send each through the first channel that takes it, record.

Delivery guarantee: **at least once, effectively once.** A job is leased before it is sent and
its result recorded right after, under the (subscription, day) key, and only by the lease
holder; a worker that dies loses its lease and the job is sent by another. So nothing is lost,
and a reminder is sent twice only when a worker dies *after* WeChat accepted the message and
*before* the result was written (a window of one database write), or stalls beyond its lease
in that same spot (a database outage there is waited out, but only while the lease holds).
WeChat's send APIs take no idempotency key, so that window cannot be closed from our side.

Error codes (``shared/spec/wechat.md`` §2) take these paths:

=====================  =========================================================================
43101, 43004           stop: subscription consumed / user gone (43004 stops all the user's jobs)
45009, 45011, -1       back off and retry later (an account's 45009/45011 pauses all its sends)
45015, 45047           next channel (outside the 48-hour window / its count used up)
47003, 40037, -2       alert (log ERROR with ``alert``), then the next channel; never retried
anything else          failed
=====================  =========================================================================

Transient failures are retried at most ``max_attempts`` times with exponential back-off; a job
past its deadline expires unsent. The send rate is shared by every scheduler on the storage
(a fixed one-second window counted in the key/value storage).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

from bot.dialog.figures import fmt_date
from bot.dialog.render import render_part
from bot.dialog.types import Part
from bot.reminders.channels import (
    NO_ROUTE,
    Channel,
    Channels,
    DeliveryError,
    Message,
    Target,
    describe,
    parse_target,
)
from bot.reminders.config import CHANNEL_NAMES
from bot.reminders.jobs import Job, JobState, JobStore
from bot.reminders.records import MONTHLY_KIND, advance_monthly, find_subscription, job_specs
from bot.settings import TZ, Settings
from bot.storage.base import Storage

__all__ = ["RateLimiter", "Route", "Scheduler", "route_for", "render_message"]

log = logging.getLogger(__name__)


class Route(StrEnum):
    STOP = "stop"
    BACKOFF = "backoff"
    NEXT = "next"
    ALERT = "alert"
    FAIL = "fail"


_ROUTES = {
    43101: Route.STOP,
    43004: Route.STOP,
    45009: Route.BACKOFF,
    45011: Route.BACKOFF,
    -1: Route.BACKOFF,
    # The client already refreshed the token and retried once; a second rejection is
    # treated as transient (bounded by max_attempts), not as a reason to drop the reminder.
    40001: Route.BACKOFF,
    40014: Route.BACKOFF,
    42001: Route.BACKOFF,
    45015: Route.NEXT,
    45047: Route.NEXT,
    47003: Route.ALERT,
    40037: Route.ALERT,
    NO_ROUTE: Route.ALERT,
}
RATE_LIMITED = frozenset({45009, 45011})


def route_for(code: int) -> Route:
    """Which way a failed send goes (module docstring table)."""
    return _ROUTES.get(code, Route.FAIL)


class RateLimiter:
    """About ``rate`` sends per second across processes: a counter per time slot in storage.

    Slots are a tenth of a second (longer below ten sends a second, so a slot allows a whole
    send): fixed one-second windows would let a full second's allowance through at the end of
    one window and another at the start of the next. With tenths, any one-second span holds
    about 1.1 × ``rate`` at most, and the average never exceeds it.
    """

    def __init__(
        self, storage: Storage, rate: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.clock = clock
        # A whole number of sends per slot, and the slot as long as that many take at ``rate``.
        self.allowance = max(1, math.ceil(rate / 10 - 1e-9))
        self.window = self.allowance / rate

    async def acquire(self) -> None:
        while True:
            now = self.clock()
            slot = int(now // self.window)
            try:
                used = await self.storage.incr(f"rl:reminders:{slot}", 1, ttl=self.window + 10)
            except Exception:
                # Without the shared counter, pace this process alone rather than stop sending.
                log.warning("rate counter unavailable; pacing locally", exc_info=True)
                await asyncio.sleep(self.window / self.allowance)
                return
            if used <= self.allowance:
                return
            await asyncio.sleep(max((slot + 1) * self.window - self.clock(), 0.001))


def render_message(payload: dict[str, object], today: date) -> Message:
    """The reminder's text (客服/group) and its three template fields."""
    due = date.fromisoformat(str(payload["due"]))
    title = str(payload["title"])
    city = str(payload.get("city") or "")
    days = (due - today).days
    if payload.get("kind") == "transfer":
        text = render_part(Part("remind_subscribe/push_transfer", {"due": fmt_date(due)}))
        note = render_part(Part("remind_subscribe/push_note_transfer", {}))
    else:
        left = (
            render_part(Part("remind_subscribe/push_left", {"days": days}))
            if days > 0
            else render_part(Part("remind_subscribe/push_today", {}))
        )
        text = render_part(
            Part(
                "remind_subscribe/push_deadline",
                {
                    "title": title,
                    "place_text": f"（{city}）" if city else "",
                    "due": fmt_date(due),
                    "left": left,
                },
            )
        )
        note = render_part(Part("remind_subscribe/push_note", {"left": left}))
    return Message(text=text, title=title, deadline=fmt_date(due), note=note)


class Scheduler:
    """One worker's loop over the jobs table; any number may run against one database."""

    def __init__(
        self,
        settings: Settings,
        jobs: JobStore,
        storage: Storage,
        channels: Channels,
        *,
        clock: Callable[[], float] = time.time,
        owner: str | None = None,
    ) -> None:
        self.rs = settings.reminders
        self.jobs = jobs
        self.storage = storage
        self.channels = channels
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.limiter = RateLimiter(storage, self.rs.rate, clock)
        self.stats: Counter[str] = Counter()
        self._pause_until = 0.0

    # -- loop -------------------------------------------------------------------------------

    def batch_size(self) -> int:
        # A batch must be sent well inside its lease at the configured rate.
        return max(1, min(self.rs.batch, int(self.rs.rate * self.rs.lease / 2)))

    async def run_once(self) -> int:
        """Claim one batch and process it; the number of jobs claimed."""
        now = self.clock()
        if now < self._pause_until:
            return 0
        batch = await self.jobs.claim(self.owner, now, self.batch_size(), self.rs.lease)
        if not batch:
            return 0
        gate = asyncio.Semaphore(self.rs.concurrency)

        async def one(job: Job) -> None:
            async with gate:
                try:
                    await self.process(job)
                except Exception:
                    # The lease runs out and another claim retries it; never kill the batch.
                    log.exception("reminder job crashed", extra={"attempts": job.attempts})
                    self.stats["crashed"] += 1

        await asyncio.gather(*(one(job) for job in batch))
        return len(batch)

    async def run(self, stop: asyncio.Event, *, drain: bool = False, once: bool = False) -> None:
        """Until ``stop`` is set; ``drain``: also stop once nothing is pending or leased."""
        log.info("reminder scheduler started", extra={"owner": self.owner})
        failures = 0
        while not stop.is_set():
            try:
                claimed = await self.run_once()
                failures = 0
            except Exception:
                # Database down or restarting: wait and try again, the jobs are still there.
                failures += 1
                log.exception("reminder scheduler pass failed", extra={"failures": failures})
                claimed = 0
            if claimed:
                continue
            if once:
                return
            if drain and failures == 0 and await self.jobs.unfinished() == 0:
                return
            delay = self.rs.poll * (2 ** min(failures, 6) if failures else 1)
            delay = max(delay, self._pause_until - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)

    # -- one job ----------------------------------------------------------------------------

    async def process(self, job: Job) -> None:
        payload = job.payload
        now = self.clock()
        today = datetime.fromtimestamp(now, TZ).date()
        if job.attempts > self.rs.max_attempts:
            # Claimed again and again without a result: a send that kills its worker.
            await self._complete(job, JobState.FAILED, error="too many claims")
            return
        kind, due = str(payload["kind"]), str(payload["due"])
        if kind == MONTHLY_KIND and payload.get("last"):
            # Roll over before sending: a crash after the send must not lose next month, and
            # rolling over twice is harmless. It also tells whether the record still exists
            # (a retry of this job finds the record already moved on to next month).
            sub = await find_subscription(self.storage, job.user, kind, due)
            if sub is not None and job.fire_on not in sub.remind_on:
                # The lead time was changed while this job was leased: the record's new days
                # have their own jobs, and the last of those rolls it over.
                alive = False
            else:
                alive = await self._roll_over(job, today)
        else:
            sub = await find_subscription(self.storage, job.user, kind, due)
            alive = sub is not None and job.fire_on in sub.remind_on
        if not alive:
            await self._complete(job, JobState.CANCELLED, error="subscription gone")
            return
        if today > date.fromisoformat(due):
            await self._complete(job, JobState.EXPIRED, error="deadline passed")
            return
        target = parse_target(job.user)
        channels = self.channels.for_target(target)
        if not channels:
            await self._complete(job, JobState.FAILED, error="no channel for this chat")
            return
        await self._deliver(job, target, channels, render_message(payload, today))

    async def _deliver(
        self, job: Job, target: Target, channels: list[Channel], message: Message
    ) -> None:
        last: DeliveryError | None = None
        for channel in channels:
            if not await self._may_send(job):
                return
            try:
                await channel.send(target, message)
            except DeliveryError as exc:
                last = exc
                route = route_for(exc.code)
                self.stats[f"error_{exc.code}"] += 1
                if route is Route.NEXT:
                    continue
                if route is Route.ALERT:
                    log.error(
                        "reminder channel misconfigured",
                        extra={"alert": True, "channel": channel.name, "errcode": exc.code,
                               "errmsg": exc.message},
                    )  # fmt: skip
                    self.stats["alerts"] += 1
                    continue
                if route is Route.STOP:
                    await self._complete(job, JobState.STOPPED, channel.name, str(exc))
                    if exc.code == 43004:
                        await self.jobs.stop_user(job.user, self.clock(), str(exc))
                    return
                if route is Route.BACKOFF:
                    await self._back_off(job, exc, pause=channel.name in CHANNEL_NAMES)
                    return
                await self._complete(job, JobState.FAILED, channel.name, str(exc))
                return
            except Exception as exc:
                # A bug or an unexpected answer in a channel: retry like a transport error.
                log.exception("reminder channel raised", extra={"channel": channel.name})
                await self._back_off(job, DeliveryError(-1, type(exc).__name__))
                return
            await self._complete(job, JobState.SENT, channel.name)
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "reminder sent", extra={"user": describe(target), "channel": channel.name}
                )
            return
        await self._complete(job, JobState.FAILED, error=f"no channel delivered: {last}")

    async def _may_send(self, job: Job) -> bool:
        """Wait for a rate slot; False (job handed back) if paused or the lease runs short."""
        await self.limiter.acquire()
        now = self.clock()
        margin = min(15.0, self.rs.lease / 4)
        if now < self._pause_until or (job.lease_until or 0.0) - now < margin:
            # Not a failed attempt: give the claim back so the job goes when it can.
            await self.jobs.reschedule(
                job.key, self.owner, max(now, self._pause_until), now, refund=True
            )
            self.stats["handed_back"] += 1
            return False
        return True

    async def _back_off(self, job: Job, exc: DeliveryError, pause: bool = False) -> None:
        if job.attempts >= self.rs.max_attempts:
            await self._complete(job, JobState.FAILED, error=f"gave up: {exc}")
            return
        delay = min(self.rs.retry_cap, self.rs.retry_base * 2 ** (job.attempts - 1))
        delay *= 1 + random.random() / 10  # spread the retries of one outage
        now = self.clock()
        if pause and exc.code in RATE_LIMITED:
            # The account's quota is spent: every send now would fail the same way. (A group
            # robot's 20 a minute concerns that robot only, so it does not pause the rest.)
            self._pause_until = max(self._pause_until, now + delay)
        self.stats["retries"] += 1
        if not await self.jobs.reschedule(job.key, self.owner, now + delay, now, str(exc)):
            self._lost(job)

    async def _complete(
        self, job: Job, state: JobState, channel: str = "", error: str = ""
    ) -> None:
        self.stats[state.value] += 1
        if state is JobState.SENT:
            recorded = await self._record_sent(job, channel)
        else:
            recorded = await self.jobs.complete(
                job.key, self.owner, state, self.clock(), channel, error
            )
        if not recorded:
            self._lost(job)

    async def _record_sent(self, job: Job, channel: str) -> bool:
        """``complete(SENT)``, retried through a database outage while the lease holds.

        Why: the user already has the message. Raising here used to leave the row leased, and
        once the lease ran out it was claimed and sent again, so any database blip between
        send and record duplicated the whole batch in flight (tests/test_resilience.py). While
        our lease holds nobody else may take the job, so waiting is safe; past it we give up
        (the row is re-claimed: at least once, as the module docstring says).
        """
        delay = 0.05
        while True:
            try:
                return await self.jobs.complete(
                    job.key, self.owner, JobState.SENT, self.clock(), channel
                )
            except Exception:
                left = (job.lease_until or 0.0) - self.clock()
                if left <= 0:
                    raise
                log.warning(
                    "reminder sent but not recorded; retrying while the lease holds",
                    extra={"key": job.key, "lease_left": round(left, 1)},
                    exc_info=delay == 0.05,  # the traceback once, not every retry
                )
                await asyncio.sleep(min(delay, left))
                delay = min(delay * 2, 1.0)

    def _lost(self, job: Job) -> None:
        # Our lease expired and another worker took the job: it may send it a second time.
        self.stats["lease_lost"] += 1
        log.warning("reminder lease lost before the result was recorded", extra={"key": job.key})

    async def _roll_over(self, job: Job, today: date) -> bool:
        """Move the monthly record on to next month and add its jobs; False if cancelled."""
        successor = await advance_monthly(self.storage, job.user, str(job.payload["due"]))
        if successor is None:
            return False
        specs = job_specs(job.user, [successor], today, self.rs.send_hour, TZ)
        self.stats["rolled_over"] += await self.jobs.add(specs, self.clock())
        return True
