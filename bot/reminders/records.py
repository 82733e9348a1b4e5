"""Reminder subscriptions a user set up in the chat: the records, the truth about what to send.

Records live in the key/value storage under ``sub:<user>`` as a JSON list, so every worker sees
them and ``unsubscribe`` removes them with the rest of the user's data. The jobs table
(:mod:`bot.reminders.jobs`) is derived from them: :func:`job_specs` turns records into jobs, and
the scheduler checks a job's record still exists before sending, so a record is never
outlived by its jobs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.storage.base import Storage

__all__ = [
    "DEFAULT_LEAD_DAYS",
    "KEY_PREFIX",
    "MAX_PER_USER",
    "MONTHLY_KIND",
    "JobSpec",
    "Subscription",
    "add_subscription",
    "advance_monthly",
    "cancel_subscriptions",
    "find_subscription",
    "forget_subscriptions",
    "job_key",
    "job_specs",
    "list_subscriptions",
    "monthly_successor",
    "update_subscription",
]

KEY_PREFIX = "sub:"
MAX_PER_USER = 10
MONTHLY_KIND = "monthly_due"
# A week ahead to plan, the day before as a last call (the handler's defaults too).
DEFAULT_LEAD_DAYS = (7, 1)


@dataclass(frozen=True)
class Subscription:
    """One reminder: what it is about, its deadline and the days it fires on."""

    id: int
    kind: str  # collection_end | back_payment_end | city_late_payment | monthly_due | transfer
    title: str
    city: str
    due: str  # ISO date
    remind_on: tuple[str, ...]  # ISO dates
    created: str
    # Monthly reminders only: the day of the month (None = the month's last day) and the lead
    # times, so the scheduler can roll the record over to next month after it fired.
    due_day: int | None = None
    lead_days: tuple[int, ...] = ()

    def next_date(self, today: date) -> date | None:
        upcoming = [
            date.fromisoformat(d) for d in self.remind_on if date.fromisoformat(d) >= today
        ]
        return min(upcoming) if upcoming else None

    @classmethod
    def from_json(cls, data: Any) -> Subscription | None:
        try:
            day = data.get("due_day")
            return cls(
                id=int(data["id"]),
                kind=str(data["kind"]),
                title=str(data["title"]),
                city=str(data.get("city", "")),
                due=str(data["due"]),
                remind_on=tuple(str(d) for d in data["remind_on"]),
                created=str(data.get("created", "")),
                due_day=int(day) if day is not None else None,
                lead_days=tuple(int(d) for d in data.get("lead_days", ())),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None  # a damaged record is skipped, never fatal


async def list_subscriptions(storage: Storage, user: str) -> list[Subscription]:
    raw = await storage.get(KEY_PREFIX + user)
    items = [Subscription.from_json(x) for x in raw] if isinstance(raw, list) else []
    return [s for s in items if s is not None]


async def _save(storage: Storage, user: str, subs: Sequence[Subscription]) -> None:
    if subs:
        await storage.set(KEY_PREFIX + user, [asdict(s) for s in subs])
    else:
        await storage.delete(KEY_PREFIX + user)


async def add_subscription(
    storage: Storage,
    user: str,
    kind: str,
    title: str,
    city: str,
    due: date,
    remind_on: list[date],
    today: date,
    *,
    due_day: int | None = None,
    lead_days: Sequence[int] = (),
    replaces: int | None = None,
) -> Subscription:
    """Record a reminder; the same deadline twice replaces the older record, and so does the
    record numbered ``replaces`` (a reminder the user just corrected). A monthly reminder
    replaces the user's monthly one: the contribution is paid once a month, so "每月20号"
    after "每月15号" moves the day rather than asking to be reminded twice a month."""
    subs = [
        s
        for s in await list_subscriptions(storage, user)
        if not _superseded(s, kind, due) and s.id != replaces
    ]
    new = Subscription(
        id=max((s.id for s in subs), default=0) + 1,
        kind=kind,
        title=title,
        city=city,
        due=due.isoformat(),
        remind_on=tuple(d.isoformat() for d in sorted(set(remind_on))),
        created=today.isoformat(),
        due_day=due_day,
        lead_days=tuple(lead_days),
    )
    await _save(storage, user, [*subs, new][-MAX_PER_USER:])
    return new


async def update_subscription(storage: Storage, user: str, new: Subscription) -> bool:
    """Put ``new`` in place of the record with its id (a changed day or lead time), keeping
    its place in the list, so "取消2" still means what "我的提醒" showed; False if it is gone.
    Another record for the same deadline gives way, as in :func:`add_subscription`."""
    subs = await list_subscriptions(storage, user)
    if all(s.id != new.id for s in subs):
        return False
    kept = [
        new if s.id == new.id else s
        for s in subs
        if s.id == new.id or not _superseded(s, new.kind, date.fromisoformat(new.due))
    ]
    await _save(storage, user, kept)
    return True


def _superseded(old: Subscription, kind: str, due: date) -> bool:
    """Whether a new (kind, due) reminder takes the place of ``old``."""
    if kind == MONTHLY_KIND:
        return old.kind == MONTHLY_KIND
    return (old.kind, old.due) == (kind, due.isoformat())


async def cancel_subscriptions(
    storage: Storage, user: str, number: int | None
) -> list[Subscription]:
    """Cancel the ``number``-th reminder as listed (1-based), or all when None; return them."""
    subs = await list_subscriptions(storage, user)
    if number is None:
        gone, kept = subs, []
    elif 1 <= number <= len(subs):
        gone, kept = [subs[number - 1]], subs[: number - 1] + subs[number:]
    else:
        return []
    await _save(storage, user, kept)
    return gone


async def forget_subscriptions(storage: Storage, user: str) -> None:
    await storage.delete(KEY_PREFIX + user)


async def find_subscription(
    storage: Storage, user: str, kind: str, due: str
) -> Subscription | None:
    """The record a job was made from, if the user still has it."""
    for sub in await list_subscriptions(storage, user):
        if (sub.kind, sub.due) == (kind, due):
            return sub
    return None


def monthly_successor(sub: Subscription) -> Subscription:
    """The same monthly reminder for the following month (dates only; id kept)."""
    # Imported here: bot.policy loads the city table, which the chat side has loaded anyway
    # but a plain records import (settings, storage tests) should not pay for.
    from bot.policy import next_monthly_due

    old_due = date.fromisoformat(sub.due)
    new_due = next_monthly_due(old_due + timedelta(days=1), due_day=sub.due_day).due
    leads = sub.lead_days or DEFAULT_LEAD_DAYS
    remind_on = sorted({new_due - timedelta(days=d) for d in leads})
    return replace(sub, due=new_due.isoformat(), remind_on=tuple(d.isoformat() for d in remind_on))


async def advance_monthly(storage: Storage, user: str, old_due: str) -> Subscription | None:
    """Roll the user's monthly record due ``old_due`` over to next month; idempotent.

    Returns the advanced record, also when an earlier call already advanced it (so a worker
    that crashed half-way can finish the job), or None when the user cancelled it.
    """
    subs = await list_subscriptions(storage, user)
    for n, sub in enumerate(subs):
        if sub.kind != MONTHLY_KIND:
            continue
        if sub.due == old_due:
            successor = monthly_successor(sub)
            subs[n] = successor
            await _save(storage, user, subs)
            return successor
    # Already advanced by an earlier attempt: the record now holds the following month.
    for sub in subs:
        if sub.kind == MONTHLY_KIND and sub.due > old_due:
            probe = replace(sub, due=old_due)
            if monthly_successor(probe).due == sub.due:
                return sub
    return None


# --- records → jobs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """One reminder to send: a subscription's fire date, keyed for idempotency."""

    key: str
    user: str
    fire_on: str  # ISO date
    due_at: float  # epoch seconds: the fire date at the send hour, Asia/Shanghai
    payload: dict[str, Any]


def job_key(user: str, kind: str, due: str, fire_on: str) -> str:
    """The idempotency key: one job, hence at most one recorded send, per subscription and day.

    A subscription is identified by (kind, due), as in :func:`add_subscription`; its list
    number changes when others are cancelled, so it cannot be part of the key.
    """
    return f"{user}|{kind}|{due}|{fire_on}"


def job_specs(
    user: str, subs: Sequence[Subscription], today: date, send_hour: int, tz: ZoneInfo
) -> list[JobSpec]:
    """Jobs for every reminder date from ``today`` on (past dates were sent or are moot)."""
    specs: list[JobSpec] = []
    for sub in subs:
        dates = sorted(sub.remind_on)
        for fire_on in dates:
            day = date.fromisoformat(fire_on)
            if day < today:
                continue
            at = datetime.combine(day, time(hour=send_hour), tzinfo=tz).timestamp()
            payload = {
                "kind": sub.kind,
                "title": sub.title,
                "city": sub.city,
                "due": sub.due,
                # The last reminder of a monthly subscription rolls it over to next month.
                "last": fire_on == dates[-1],
            }
            specs.append(
                JobSpec(job_key(user, sub.kind, sub.due, fire_on), user, fire_on, at, payload)
            )
    return specs
