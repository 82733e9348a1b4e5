"""Slots: what a message says about the user's situation, and what the conversation keeps.

``slots_from`` reads one message's slots (places and their roles in a move, numbers, dates,
scheme, cause); ``merge`` carries places over every turn and the situation within a topic;
the rest reads the short answers a conversation is made of: a bare "6000" or "5个月" fills the
slot its unit and size fit, "基数改成10000" replaces one, "吉林" answering "从哪转出" is an
end of the move. Pure functions of the message, its entities and the remembered slots.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.dialog.state import ConversationState
from bot.dialog.types import Slots
from bot.nlu.entities import Entities, place_roles
from bot.nlu.places import PlaceMention
from bot.nlu.understand import Understanding
from intents import BY_ID

# Topics whose situation (months, base, scheme…) stays meaningful for one another.
TOPIC_FAMILIES = (
    frozenset({"back_payment", "lapse_effects"}),
    frozenset({"transfer", "transfer_progress"}),
    frozenset({"balance", "contribution_years", "payment"}),
)
# The slots that ask for a city, and how much else an answer naming one may say ("在吉林").
CITY_SLOTS = frozenset({"city", "origin", "destination"})
ANSWER_SPARE_CHARS = 3
PROVINCE_SUFFIXES = ("省", "自治区", "特别行政区")


PLACE_SLOTS = (
    "city",
    "province",
    "origin",
    "origin_province",
    "destination",
    "destination_province",
    "provinces",
)


# The user's situation within one topic: how long the lapse, which base, which scheme, whose
# fault. Follow-ups and questions of the same topic keep it; a new question on another topic
# stands on its own ("居民医保断缴了" then "福州转北京" asks about the ordinary transfer).
SITUATION_SLOTS = (
    "months",
    "days",
    "years",
    "base",
    "arrears",
    "scheme",
    "cause",
    "date",
    "day_of_month",
)


# dataclasses.fields() rebuilds its tuple on every call; slots are merged and (de)serialised
# several times per message.
_SLOT_FIELDS = dataclasses.fields(Slots)


SLOT_NAMES = frozenset(f.name for f in _SLOT_FIELDS)


_SLOT_KINDS = tuple(
    (
        f.name,
        "place" if f.name in PLACE_SLOTS else "situation" if f.name in SITUATION_SLOTS else "",
    )
    for f in _SLOT_FIELDS
)


_BARE_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(元|块|年|个月|月|天|日)?")


_BARE_UNITS = {
    "base": ("", "元", "块"),
    "months": ("", "个月", "月"),
    "years": ("", "年"),
    "days": ("", "天", "日"),
}


# What a bare number can plausibly be: a base is a monthly wage, a lapse some months, a
# contribution record some years. "15" is never a base, nor "6000" a number of months.
PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "base": (Decimal(1000), Decimal(100000)),
    "months": (Decimal(1), Decimal(120)),
    "years": (Decimal(1), Decimal(60)),
    "days": (Decimal(1), Decimal(3650)),
}


# What a follow-up wraps around a number: "那8000呢", "如果是5个月的话", "要是按6000".
_FOLLOW_UP_WRAPPER = re.compile(
    r"^(那么?|那要是|那如果是?|如果是?|要是|假如)?(按|换成)?|(呢|的话|的话呢)$"
)


def _bare_value(text: str, e: Entities) -> tuple[Decimal, str] | None:
    """The number and unit of a message that is nothing but a number ("6000", "5个月",
    "6千"), also as a follow-up ("那8000呢", "如果是5个月的话"); None for anything with
    other words around it, which the entity parser reads."""
    stripped = _FOLLOW_UP_WRAPPER.sub("", text.strip(" .!?")).strip(" .!?")
    match = _BARE_NUMBER.fullmatch(stripped)
    if match is not None:
        return Decimal(match.group(1)), match.group(2) or ""
    unknown = [m for m in e.amounts if m.role == "unknown"]
    if len(unknown) == 1 and unknown[0].span[1] - unknown[0].span[0] >= len(stripped):
        return unknown[0].value, "元"  # "6千", "1万": an amount of money without a role
    return None


def bare_number(slots: tuple[str, ...], text: str, e: Entities, own: Slots) -> Slots:
    """A bare "6000" or "5" is the first of ``slots`` (the one we asked for, then those the
    last question uses) that its unit and size fit; it fills no slot it cannot be."""
    bare = _bare_value(text, e)
    if bare is None:
        return own
    value, unit = bare
    for slot in slots:
        low, high = PLAUSIBLE[slot]
        if unit not in _BARE_UNITS[slot] or not low <= value <= high:
            continue
        whole = slot in ("months", "days")
        if whole and value != int(value):
            continue
        # One number has one reading: the parser's ("15年" as 180 months) gives way to the
        # slot chosen by size and unit.
        cleared: dict[str, Any] = dict.fromkeys(PLAUSIBLE)
        return dataclasses.replace(own, **{**cleared, slot: int(value) if whole else value})
    return own


# "基数改成10000", "月数改为5", "不对，应该是8000": which number is changed, and to what.
_CHANGED_NUMBER = re.compile(
    r"^(?:不对|不是|错了|说错了|搞错了|更正|纠正)?[,.，。\s]*(?:我的)?"
    r"(基数|缴费基数|工资|月薪|月数|断缴月数|月份|年限|年数)?(?:改成|改为|换成|应该是|是|按)"
)


_CHANGED_SLOT = {
    "基数": "base",
    "缴费基数": "base",
    "工资": "base",
    "月薪": "base",
    "月数": "months",
    "断缴月数": "months",
    "月份": "months",
    "年限": "years",
    "年数": "years",
}


def changed_number(slots: tuple[str, ...], text: str, e: Entities, own: Slots) -> Slots:
    """A number given as a correction ("基数改成10000") is read as a bare one, the slot it
    names first."""
    match = _CHANGED_NUMBER.match(text.strip())
    if match is None or not match.group(0):
        return own
    named = _CHANGED_SLOT.get(match.group(1) or "")
    order = (named, *slots) if named else slots
    if named and named not in slots:
        order = (named,)
    return bare_number(tuple(dict.fromkeys(order)), text.strip()[match.end() :], e, own)


def number_slots(state: ConversationState) -> tuple[str, ...]:
    """The slots a bare number may fill, most expected first: the one we asked for, then the
    numbers the question it completes uses ("深圳断缴4个月要补多少" uses months and base),
    then those its topic family's other questions use ("6000" after a lapse answer)."""
    intent = state.pending_intent or state.last_intent
    used = BY_ID[intent].slots if intent in BY_ID else ()
    family = next((f for f in TOPIC_FAMILIES if intent in f), frozenset())
    siblings = [s for i in sorted(family - {intent}) for s in BY_ID[i].slots]
    ordered = (state.pending_slot, *used, *siblings)
    return tuple(dict.fromkeys(s for s in ordered if s in PLAUSIBLE))


def slot_user(slot: str, intent: str) -> str:
    """``intent`` if it uses ``slot``, else the one of its topic family that does."""
    if slot in BY_ID[intent].slots:
        return intent
    family = next((f for f in TOPIC_FAMILIES if intent in f), frozenset())
    return next((i for i in sorted(family) if slot in BY_ID[i].slots), intent)


def _is_route(mentions: list[PlaceMention]) -> bool:
    """Places of a move naming a province at one end and a city at another ("从四川转到重庆")."""
    return (
        len(mentions) >= 2
        and any(m.city for m in mentions)
        and any(m.city is None for m in mentions)
    )


def _without_refined_provinces(mentions: list[PlaceMention]) -> list[PlaceMention]:
    """A province written just before one of its own cities ("浙江宁波", "辽宁省鞍山市") only
    says where that city is: it is never the other end of a move. Apart from its city
    ("在吉林交的医保，现在去长春") it still may be."""
    refined = {
        id(p)
        for p, c in zip(mentions, mentions[1:], strict=False)
        if p.city is None and c.city and c.province == p.province and c.start - p.end <= 1
    }
    return [m for m in mentions if id(m) not in refined]


def slots_from(u: Understanding, e: Entities) -> Slots:
    """Slots stated in this message alone. A province at one end of a move to or from a city
    is that end, by its province name ("从四川转到重庆": 四川省 → 重庆市)."""
    mentions = _without_refined_provinces(u.places.mentions)
    cities = [m for m in mentions if m.city]
    if _is_route(mentions):
        cities = [m if m.city else dataclasses.replace(m, city=m.province) for m in mentions]
    origin = destination = city = None
    origin_p = destination_p = province = None
    if cities:
        roles = place_roles(u.text, [(m.start, m.end) for m in cities])
        for m, role in zip(cities, roles, strict=True):
            if role == "origin" and origin is None:
                origin, origin_p = m.city, m.province
            elif role == "destination" and destination is None:
                destination, destination_p = m.city, m.province
        if len(cities) >= 2 and origin is None and destination is None:
            origin, origin_p = cities[0].city, cities[0].province
            destination, destination_p = cities[1].city, cities[1].province
        elif len(cities) >= 2 and destination is None:
            other = next((m for m in cities if m.city != origin), None)
            if other is not None:
                destination, destination_p = other.city, other.province
        elif len(cities) >= 2 and origin is None:
            other = next((m for m in cities if m.city != destination), None)
            if other is not None:
                origin, origin_p = other.city, other.province
        first = next(m for m in mentions if m.city)  # a city, not a province end
        city, province = first.city, first.province
    elif u.provinces:
        province = u.provinces[0]
    return Slots(
        city=city,
        province=province,
        origin=origin,
        origin_province=origin_p,
        destination=destination,
        destination_province=destination_p,
        provinces=tuple(u.provinces),
        months=e.months,
        days=e.days,
        years=e.years,
        base=e.base,
        arrears=e.arrears,
        scheme=e.scheme,
        cause=e.cause,
        gender=e.gender,
        date=e.dates[0] if e.dates else None,
        day_of_month=e.day_of_month,
    )


def rough_day_as_asked(slot: str | None, e: Entities, own: Slots) -> Slots:
    """A rough day ("下个月初补") answering "哪天补缴？" is the day asked for, taken as said."""
    if slot != "date" or own.date is not None or not e.approx_dates:
        return own
    return dataclasses.replace(own, date=e.approx_dates[0].day)


def as_asked_end(slot: str | None, own: Slots) -> Slots:
    """A bare "南京" answering "从哪个城市转出？" is that end of the move."""
    if slot not in ("origin", "destination") or own.origin or own.destination or not own.city:
        return own
    if slot == "origin":
        return dataclasses.replace(own, origin=own.city, origin_province=own.province)
    return dataclasses.replace(own, destination=own.city, destination_province=own.province)


def province_end(slot: str | None, u: Understanding, own: Slots) -> Slots:
    """A province answering "从哪转到哪？" ("四川") is that end of the move, by its name."""
    if slot not in ("origin", "destination") or own.city or not own.province:
        return own
    if len(u.places.mentions) != 1:
        return own
    spare = len(u.text) - len(u.places.mentions[0].surface)
    if spare > ANSWER_SPARE_CHARS:
        return own
    name = own.province
    if slot == "origin":
        return dataclasses.replace(own, origin=name, origin_province=name)
    return dataclasses.replace(own, destination=name, destination_province=name)


def other_end_kept(old: Slots, new: Slots, merged: Slots) -> Slots:
    """A follow-up naming one end of a move keeps the other: "从福州转到北京" then
    "那转到上海呢" is 福州 → 上海, and "那从厦门转呢" is 厦门 → 北京; a place without a role
    ("那上海呢") after a move takes the destination's place. A lone place taken for the
    destination ("医保怎么转" → "四川") is the origin once another destination is named
    ("转到重庆")."""
    if (
        new.destination
        and not new.origin
        and old.destination
        and not old.origin
        and new.destination != old.destination
    ):
        old = dataclasses.replace(
            old, origin=old.destination, origin_province=old.destination_province
        )
    if new.city and not (new.origin or new.destination) and old.origin and old.destination:
        if new.city in (old.origin, old.destination):
            # "那南京的规定呢" on 南京 → 合肥: that end of the same move, not a new one.
            return dataclasses.replace(
                merged,
                **{name: getattr(old, name) for name in PLACE_SLOTS},
            )
        new = dataclasses.replace(new, destination=new.city, destination_province=new.province)
        merged = dataclasses.replace(
            merged, destination=new.city, destination_province=new.province
        )
    if new.destination and not new.origin and old.origin:
        return dataclasses.replace(
            merged,
            origin=old.origin,
            origin_province=old.origin_province,
            city=old.origin,
            province=old.origin_province,
            provinces=tuple(
                dict.fromkeys(p for p in (old.origin_province, new.destination_province) if p)
            ),
        )
    if new.origin and not new.destination and old.destination:
        return dataclasses.replace(
            merged,
            destination=old.destination,
            destination_province=old.destination_province,
            provinces=tuple(
                dict.fromkeys(p for p in (new.origin_province, old.destination_province) if p)
            ),
        )
    return merged


def merge(old: Slots, new: Slots, keep_situation: bool) -> Slots:
    """New values win; places (and gender) carry over; the situation only when
    ``keep_situation``."""
    values: dict[str, Any] = {}
    has_place = bool(new.city or new.province)
    for name, kind in _SLOT_KINDS:
        mine, theirs = getattr(new, name), getattr(old, name)
        if kind == "place":
            values[name] = mine if has_place else theirs
        elif kind == "situation":
            values[name] = mine if mine is not None or not keep_situation else theirs
        else:
            values[name] = mine if mine is not None else theirs
    return Slots(**values)


def slots_to_json(slots: Slots) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in _SLOT_FIELDS:
        value = getattr(slots, f.name)
        if value is None or value == ():
            continue
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def slots_from_json(data: dict[str, Any]) -> Slots:
    values: dict[str, Any] = {}
    for f in _SLOT_FIELDS:
        raw = data.get(f.name)
        if raw is None:
            continue
        try:
            if f.name in ("years", "base", "arrears"):
                values[f.name] = Decimal(str(raw))
            elif f.name == "date":
                values[f.name] = date.fromisoformat(str(raw))
            elif f.name == "provinces":
                values[f.name] = tuple(str(x) for x in raw)
            elif f.name in ("months", "days", "day_of_month"):
                values[f.name] = int(raw)
            else:
                values[f.name] = str(raw)
        except (ValueError, TypeError, InvalidOperation):
            continue  # a damaged value is forgotten, not fatal
    return Slots(**values)
