"""Value objects passed between the dialogue layer and the intent handlers.

Handlers never build text: they return a :class:`Reply` naming template blocks with fields, plus
the figures they computed. The dialogue layer renders, fits the WeChat size limit and remembers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bot.dialog.context import Context
    from bot.nlu.entities import Entities
    from bot.nlu.understand import Understanding
    from bot.reminders.channels import Routes
    from bot.storage.base import Storage


@dataclass(frozen=True)
class Answer:
    """What the bot says, plus what it understood (for logs, metrics and ``ask --json``)."""

    text: str
    intent: str
    cities: tuple[str, ...] = ()
    figures: tuple[dict[str, Any], ...] = ()
    confidence: float = 0.0
    asks: str | None = None  # the slot the bot asked for: a question back, not an answer


@dataclass(frozen=True)
class Part:
    """One template block (``"transfer/cross_province"``) and the fields it needs."""

    key: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """A computed number as the user sees it, with how it was computed and where it comes from."""

    name: str
    label: str
    value: str
    basis: str
    kind: Literal["city", "national"]
    source: str = ""
    as_of: str = ""
    mixed: bool = False  # a city figure computed with some national defaults

    def as_dict(self) -> dict[str, str]:
        return {
            "rest": "；其余参数按全国通行规则估算" if self.mixed else "",
            "name": self.name,
            "label": self.label,
            "value": self.value,
            "basis": self.basis,
            "kind": self.kind,
            "source": self.source,
            "as_of": self.as_of,
        }


@dataclass(frozen=True)
class Reply:
    """What a handler answers: the conclusion first, then optional sections, then figures."""

    answer: tuple[Part, ...]
    figures: tuple[Figure, ...] = ()
    steps: tuple[Part, ...] = ()
    materials: tuple[Part, ...] = ()
    check: tuple[Part, ...] = ()
    ask: str | None = None  # the slot this reply asks the user for
    remember: Mapping[str, Any] = field(default_factory=dict)  # slots worth keeping
    estimate: bool = False  # some content is a national default: add the standard caveat
    choices: Mapping[str, str] = field(default_factory=dict)  # numbered menu → question


@dataclass(frozen=True)
class Slots:
    """What is known for this turn, from the message and, where it fits, the conversation."""

    city: str | None = None
    province: str | None = None
    origin: str | None = None
    origin_province: str | None = None
    destination: str | None = None
    destination_province: str | None = None
    provinces: tuple[str, ...] = ()
    months: int | None = None
    days: int | None = None
    years: Decimal | None = None
    base: Decimal | None = None
    arrears: Decimal | None = None
    scheme: str | None = None
    cause: str | None = None
    gender: str | None = None
    date: date | None = None
    day_of_month: int | None = None


@dataclass(frozen=True)
class Turn:
    """One user message as a handler sees it."""

    intent: str
    text: str
    today: date
    slots: Slots
    asked: frozenset[str]  # slots already asked for in this exchange: ask each at most once
    understanding: Understanding
    entities: Entities
    ctx: Context
    user: str = ""
    storage: Storage | None = None  # for handlers that keep records (reminders)
    routes: Routes | None = None  # where reminders can be pushed (None: judge by the key alone)
