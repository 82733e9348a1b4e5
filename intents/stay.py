"""Reading "insured at one place, staying at another" from a message (shared by handlers).

A worker posted elsewhere, someone working or living away from home, a retiree who moved in
with a child, or a patient treated in another city keeps the insurance where it is: what they
need is 异地就医备案 at the insured place (or 异地安置 for retirees), not a transfer. This reads
who is where; the handlers decide what to say. A province named right before one of its cities
("浙江宁波", "老家湖南衡阳") only refines that city: it is never a place of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.nlu.places import PlaceMention, PlaceResolver
from bot.policy import Place

StayKind = Literal["posted", "retired", "working", "living", "treated"]

_POSTED = re.compile(r"派到|派去|派往|外派|派驻|派我|借调|常驻|驻外")
_RETIRED = re.compile(r"退休|退了休")
_WORKING = re.compile(r"打工|务工|上班|工作|干活|做生意")
_LIVING = re.compile(r"住|生活|养老|定居|安置|带孙|投靠")
_TREATED = re.compile(r"住院|看病|就医|治疗|手术|生病|门诊|急诊")
# Asking to move the insurance ("转到老家", "医保怎么转"); "要转吗" only asks whether to.
_MOVE = re.compile(
    r"转|迁|调到|调去|调往|调回|调动|调入|带走|带过去|带回|换工作|换单位|新单位|从\S{1,8}(?:到|去)"
)
_ASKS_WHETHER = re.compile(r"(?:要|需要|用|用不用|要不要|需不需要|得)转(?:吗|嘛|么|不|过去吗)?")
# Where the insurance is: "老家是X", "X的医保", "新农合是X的", "在X参保", "在X退休".
_INSURED_BEFORE = re.compile(
    r"(?:老家|户口|参保地|医保|社保|新农合|农合|医保关系|关系)(?:是|在)?(?:的)?$"
)
_INSURED_AFTER = re.compile(r"(?:的)?(?:医保|社保|新农合|农合|参保|交的|缴的|交医保|退休|人)")
# Where the person is: "在X打工", "去X住", "派到X", "在X住院".
_THERE_BEFORE = re.compile(r"(?:在|去|到|来|往|派到|派去|派往|派驻|搬到|搬去|跟.{0,3}去)$")


@dataclass(frozen=True)
class Stay:
    """``insured``: where the insurance is (参保地), ``there``: where the person works, lives or
    is treated; either may be unknown."""

    kind: StayKind
    insured: Place | None
    there: Place | None

    @property
    def cross_province(self) -> bool | None:
        if self.insured is None or self.there is None:
            return None
        return self.insured.province != self.there.province


def places(text: str) -> list[PlaceMention]:
    """The places of a message, a province before one of its own cities merged into that city
    (its span starting at the province)."""
    found = PlaceResolver.default().mentions(text)
    out: list[PlaceMention] = []
    for m in found:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.city is None
            and m.city is not None
            and m.province == prev.province
            and m.start - prev.end <= 1
        ):
            out[-1] = PlaceMention(
                text[prev.start : m.end], prev.start, m.end, m.city, m.province, m.level
            )
            continue
        out.append(m)
    return out


def _place(m: PlaceMention) -> Place:
    return Place(m.city, m.province)


def read(text: str) -> Stay | None:
    """Who is insured where and staying where, when the message says the person stays away
    from the insured place; None when it says nothing of the kind."""
    kind: StayKind | None
    if _POSTED.search(text):
        kind = "posted"
    elif _RETIRED.search(text) and _LIVING.search(text):
        kind = "retired"
    elif _WORKING.search(text):
        kind = "working"
    elif _TREATED.search(text):
        kind = "treated"
    elif _LIVING.search(text):
        kind = "living"
    else:
        kind = None
    insured = there = None
    for m in places(text):
        before, after = text[max(0, m.start - 6) : m.start], text[m.end : m.end + 4]
        if insured is None and (_INSURED_BEFORE.search(before) or _INSURED_AFTER.match(after)):
            insured = _place(m)
        elif there is None and _THERE_BEFORE.search(before):
            there = _place(m)
    if kind is None or (insured is None and there is None and kind not in ("posted", "retired")):
        return None
    if insured is not None and there is not None and insured == there:
        return None  # treated at home: no remote care
    return Stay(kind, insured, there)


def asks_to_move(text: str) -> bool:
    """Does the message ask to move the insurance itself ("转到老家", "怎么转"), rather than
    only whether it must be moved ("医保要转吗")?"""
    return bool(_MOVE.search(_ASKS_WHETHER.sub("", text)))


def same_named_city(province: str) -> Place | None:
    """The prefecture-level city sharing a province's short name (吉林省 → 吉林市), if any."""
    short = province.removesuffix("省")
    if short == province:
        return None
    found = PlaceResolver.default().mentions(f"{short}市")
    if len(found) != 1 or found[0].city is None or found[0].province != province:
        return None
    return Place(found[0].city, province)


def refine(place: Place | None, text: str) -> Place | None:
    """A province-only end refined by the one city of that province the message names
    ("转到老家 … 老家湖南衡阳": 湖南省 → 衡阳市)."""
    if place is None or (place.city is not None and place.city != place.province):
        return place
    cities = {
        m.city
        for m in PlaceResolver.default().mentions(text)
        if m.city and m.province == place.province and m.city != place.province
    }
    if len(cities) != 1:
        return place
    return Place(cities.pop(), place.province)


def name(place: Place) -> str:
    return place.city or place.province
