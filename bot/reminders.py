"""Reminder subscriptions a user set up in the chat (the records; delivery is a separate job).

Records live in the storage under ``sub:<user>`` as a JSON list, so every worker sees them and
``unsubscribe`` removes them with the rest of the user's data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from bot.storage.base import Storage

KEY_PREFIX = "sub:"
MAX_PER_USER = 10


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

    def next_date(self, today: date) -> date | None:
        upcoming = [
            date.fromisoformat(d) for d in self.remind_on if date.fromisoformat(d) >= today
        ]
        return min(upcoming) if upcoming else None

    @classmethod
    def from_json(cls, data: Any) -> Subscription | None:
        try:
            return cls(
                id=int(data["id"]),
                kind=str(data["kind"]),
                title=str(data["title"]),
                city=str(data.get("city", "")),
                due=str(data["due"]),
                remind_on=tuple(str(d) for d in data["remind_on"]),
                created=str(data.get("created", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None  # a damaged record is skipped, never fatal


async def list_subscriptions(storage: Storage, user: str) -> list[Subscription]:
    raw = await storage.get(KEY_PREFIX + user)
    items = [Subscription.from_json(x) for x in raw] if isinstance(raw, list) else []
    return [s for s in items if s is not None]


async def add_subscription(
    storage: Storage,
    user: str,
    kind: str,
    title: str,
    city: str,
    due: date,
    remind_on: list[date],
    today: date,
) -> Subscription:
    """Record a reminder; the same deadline twice replaces the older record."""
    subs = [
        s
        for s in await list_subscriptions(storage, user)
        if (s.kind, s.due) != (kind, due.isoformat())
    ]
    new = Subscription(
        id=max((s.id for s in subs), default=0) + 1,
        kind=kind,
        title=title,
        city=city,
        due=due.isoformat(),
        remind_on=tuple(d.isoformat() for d in sorted(set(remind_on))),
        created=today.isoformat(),
    )
    subs = [*subs, new][-MAX_PER_USER:]
    await storage.set(KEY_PREFIX + user, [asdict(s) for s in subs])
    return new


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
    if kept:
        await storage.set(KEY_PREFIX + user, [asdict(s) for s in kept])
    else:
        await storage.delete(KEY_PREFIX + user)
    return gone


async def forget_subscriptions(storage: Storage, user: str) -> None:
    await storage.delete(KEY_PREFIX + user)
