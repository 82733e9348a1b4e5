"""One user message in, one answer out, in the context of that user's conversation.

The order of decisions, each a small function below:
1. "重新开始" clears the conversation; a bare number picks a follow-up section offered before.
2. A short answer to the question the bot asked ("福州", "4个月") resumes the pending intent.
3. An elliptical follow-up ("那要多久?", "滞纳金呢?") is understood with the previous topic.
4. Otherwise the message is a new question; places and the scheme carry over, numbers only
   within the same topic.
Then the intent's handler computes the reply, and the reply is rendered to fit one message.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.dialog.compact import (
    PRIVATE_ONLY_INTENTS,
    PRIVATE_ONLY_REPLY,
    private_amounts,
    render_compact,
)
from bot.dialog.context import Context
from bot.dialog.render import render_part, render_reply
from bot.dialog.state import ConversationState, clear_state, load_state, save_state
from bot.dialog.types import Answer, Part, Reply, Slots, Turn
from bot.logs import redact
from bot.memo import RepeatMemo
from bot.nlu.entities import Entities, extract, place_roles
from bot.nlu.normalize import normalize
from bot.nlu.understand import NLU, Understanding
from bot.storage.base import Storage
from intents import BY_ID

log = logging.getLogger(__name__)

RESET_WORDS = frozenset({"重新开始", "重来", "重置", "清空", "reset", "restart", "从头开始"})
# Topics whose numbers (months, base, arrears) stay meaningful for one another.
NUMBER_FAMILIES = (
    frozenset({"back_payment", "lapse_effects"}),
    frozenset({"transfer", "transfer_progress"}),
    frozenset({"balance", "contribution_years", "payment"}),
)
PLACE_SLOTS = (
    "city",
    "province",
    "origin",
    "origin_province",
    "destination",
    "destination_province",
    "provinces",
)
NUMBER_SLOTS = ("months", "days", "years", "base", "arrears", "cause", "date", "day_of_month")
_PRIVACY_NOTE = Part("common/privacy_note")
# Turns that pass without changing what the conversation is about.
_PASSING = frozenset({"greeting", "out_of_scope", "human"})
# Overall evidence (keywords, examples, Naive Bayes) with which a short message that also fills
# the slot we asked for is a question of its own ("福州转北京" while we wait for a city).
_NEW_QUESTION_SCORE = 4.0
_QUESTION_WORDS = (
    "什么",
    "怎么",
    "如何",
    "吗",
    "多少",
    "几",
    "哪",
    "影响",
    "能不能",
    "是不是",
    "?",
)
# Keyword evidence with which a follow-up like "那补缴呢" opens another topic.
_NEW_TOPIC_EVIDENCE = 3.0
# A follow-up that leans on the previous message: "那…", "…呢", "还有…".
_ELLIPTIC = re.compile(r"^(那|那么|那要|还有|另外|然后|如果|要是)|呢[?]?$")
# Understanding a text and reading its entities are pure, and a deadline burst repeats the same
# questions word for word: caching them saves ~100 µs per repeated message. Results are frozen
# and never mutated downstream, so sharing one between users is safe. Only texts seen twice
# are kept (see bot.memo: one-offs would fill the cache and slow every full GC).
UNDERSTANDING_CACHE = 2048
# dataclasses.fields() rebuilds its tuple on every call; slots are merged and (de)serialised
# several times per message.
_SLOT_FIELDS = dataclasses.fields(Slots)
_SLOT_NAMES = frozenset(f.name for f in _SLOT_FIELDS)
_SLOT_KINDS = tuple(
    (f.name, "place" if f.name in PLACE_SLOTS else "number" if f.name in NUMBER_SLOTS else "")
    for f in _SLOT_FIELDS
)


class Dialog:
    """Stateless itself: all per-user memory is in the storage, so any worker can answer."""

    def __init__(self, nlu: NLU, ctx: Context, storage: Storage, ttl: float = 1800.0) -> None:
        self.nlu = nlu
        self.ctx = ctx
        self.storage = storage
        self.ttl = ttl
        self._understand = RepeatMemo(nlu.understand, UNDERSTANDING_CACHE)
        self._extract = RepeatMemo(extract, UNDERSTANDING_CACHE)

    async def respond(self, user: str, text: str, today: date, *, compact: bool = False) -> Answer:
        """``compact``: a group-chat answer (short, nothing private; see ``bot.dialog.compact``)."""
        personal = redact(text) != text
        if personal:
            # An ID-card, phone or bank-card number is never a month count or a base: read
            # the message without it (and say so below).
            text = redact(text)
        unreadable = _unreadable(text)
        if unreadable:
            # "???", an emoji, English, a bare phone number: ask again, and keep whatever
            # question is pending.
            block = "common/privacy_note" if personal else unreadable
            return Answer(render_part(Part(block)), "out_of_scope")
        state = await load_state(self.storage, user)
        before = state.to_json()
        norm = normalize(text)
        if norm.strip(" .!?") in RESET_WORDS:
            await clear_state(self.storage, user)
            return Answer(render_part(Part("common/reset")), "greeting")
        entities = self._extract(norm, today)
        if entities.number_choice is not None and str(entities.number_choice) in state.followups:
            return Answer(state.followups[str(entities.number_choice)], state.last_intent or "")
        if entities.number_choice is not None and str(entities.number_choice) in state.choices:
            # A number picked from the menu stands for the question it lists.
            text = state.choices[str(entities.number_choice)]
            norm = normalize(text)
            entities = self._extract(norm, today)
        understanding = self._understand(text)
        intent, slots, leans_on = self._decide(state, understanding, entities)
        # The same topic again keeps what we asked already (never ask twice), but only an
        # answer to our question, or a follow-up leaning on the last one, is read with it:
        # a new question stands on its own.
        resumed = intent == state.pending_intent
        asked = frozenset(state.asked) if resumed else frozenset()
        context = state.pending_text if leans_on == "pending" else ""
        if leans_on == "last":
            context = state.last_text
        if context and context != norm:
            # "福州" alone says nothing about what was asked, nor "那北京呢" about what of
            # Beijing: read it with the question it completes (its places win in the slots).
            norm = f"{context} {norm}"
        turn = Turn(
            intent,
            norm,
            today,
            slots,
            asked,
            understanding,
            entities,
            self.ctx,
            user,
            self.storage,
        )
        if compact and intent in PRIVATE_ONLY_INTENTS:
            reply = PRIVATE_ONLY_REPLY  # records for a group member key could never be delivered
        else:
            reply = await self._handle(turn)
        if personal:
            # An ID-card, phone or bank-card number in the message: we never need one, say so.
            reply = dataclasses.replace(reply, answer=(*reply.answer, _PRIVACY_NOTE))
        if compact:
            hidden = private_amounts(turn.slots, entities)
            rendered = render_compact(reply, hidden, _focus(turn.text))
        else:
            rendered = render_reply(reply, _focus(turn.text))
        self._remember(state, turn, reply, rendered.followups)
        # A write that changes nothing is skipped (the same question again): it would only
        # extend the TTL, and it is the one storage write on the message's path.
        if state.to_json() != before:
            await save_state(self.storage, user, state, self.ttl)
        return Answer(
            text=rendered.text,
            intent=intent,
            cities=understanding.cities,
            # Group answers keep no figures: their bases would carry the asker's own amounts.
            figures=() if compact else tuple(f.as_dict() for f in reply.figures),
            confidence=understanding.confidence,
            asks=reply.ask,
        )

    # -- deciding what the message is about -------------------------------------------------
    def _decide(
        self, state: ConversationState, u: Understanding, e: Entities
    ) -> tuple[str, Slots, str]:
        """The intent and slots of this turn, and what it leans on: "pending" (it answers the
        question we asked), "last" (a follow-up to the last question: "那北京呢"), or ""."""
        own = slots_from(u, e)
        remembered = slots_from_json(state.slots)
        own = _bare_number(state.pending_slot, u.text, own)
        if state.pending_intent and _answers_pending(
            state.pending_slot, u, own, state.pending_intent
        ):
            own = _as_asked_end(state.pending_slot, own)
            merged = merge(remembered, own, keep_numbers=True)
            return state.pending_intent, _other_end_kept(remembered, own, merged), "pending"
        same_family = any(u.intent in fam and state.last_intent in fam for fam in NUMBER_FAMILIES)
        if state.last_intent and (_is_elliptic(u) or _is_detail(u, own)):
            # "那北京呢", "居民医保呢", "那转到上海呢": the last question again, about this. Only
            # clear evidence of another topic ("那补缴呢") changes the subject.
            weak = u.classification.ranking[0].keyword < _NEW_TOPIC_EVIDENCE
            keep = weak or u.intent in (state.last_intent, "out_of_scope", "greeting")
            intent = u.intent
            if keep:
                # Read with the last question, the follow-up's words pick the facet: "那要多久"
                # after a transfer asks about its progress, "那北京呢" the same thing again.
                context = state.last_text or BY_ID[state.last_intent].extra.get("topic", "")
                again = self._understand(f"{context} {u.text}") if context else u
                # Only a facet the follow-up's own words point to ("那要多久" → progress); the
                # last question's words alone ("…补缴 那北京呢") do not change its topic.
                own_facet = again.intent == u.intent and again.intent != "out_of_scope"
                intent = again.intent if own_facet else state.last_intent
            # "北京" while we wait for the base: a detail of the pending question, read with it
            leans_on = "pending" if intent == state.pending_intent else "last" if keep else ""
            merged = merge(remembered, own, keep_numbers=True)
            return intent, _other_end_kept(remembered, own, merged), leans_on
        return u.intent, merge(remembered, own, keep_numbers=same_family), ""

    async def _handle(self, turn: Turn) -> Reply:
        handler = BY_ID[turn.intent].handler
        if handler is None:
            return Reply(answer=(Part("common/fallback"),))
        try:
            return await handler(turn)
        except Exception:
            # A bug in one handler must cost the user one answer, not the conversation: log
            # it with context and say something useful instead of failing the whole request.
            log.exception("handler failed", extra={"intent": turn.intent})
            return Reply(answer=(Part("common/fallback"),))

    def _remember(
        self, state: ConversationState, turn: Turn, reply: Reply, followups: dict[str, str]
    ) -> None:
        state.followups = followups
        state.choices = dict(reply.choices)
        if turn.intent in _PASSING and not reply.ask:
            # "谢谢", "你好", a question about the weather: the conversation's topic, its
            # details and any pending question stay for the next message ("那上海呢").
            return
        known = _known(reply.remember) if reply.remember else {}
        slots = dataclasses.replace(turn.slots, **known) if known else turn.slots
        state.slots = slots_to_json(slots)
        ask = reply.ask or _invited(reply, turn)
        if ask:
            if state.pending_intent != turn.intent:
                state.asked = []
            state.pending_intent, state.pending_slot = turn.intent, ask
            state.pending_text = turn.text[:200]
            state.asked = [*state.asked, ask]
        else:
            state.pending_intent = state.pending_slot = None
            state.pending_text = ""
            state.asked = []
        state.last_intent = turn.intent
        state.last_text = turn.text[-200:]  # what a follow-up "那北京呢" leans on


# Sentences that invite one more detail ("告诉我补缴日期，我帮你算出哪天恢复报销") make the
# reply wait for it like a question: "12月1日补缴" next is read with the question it completes.
_INVITATIONS = {
    "explain/payment_date_needed": "date",
    "explain/need_base": "base",
    "back_payment/amount_need_base": "base",
    "back_payment/formula": "months",
    "explain/sex_needed": "gender",
}


def _invited(reply: Reply, turn: Turn) -> str | None:
    """The slot a reply invites without asking for it (and the turn does not know)."""
    for part in (*reply.answer, *reply.steps):
        slot = _INVITATIONS.get(part.key)
        if slot is not None and getattr(turn.slots, slot) is None:
            return slot
    return None


_FOCUS = (
    ("materials", ("材料", "带什么", "证件", "需要什么", "要什么东西", "准备什么")),
    ("steps", ("怎么办理", "流程", "步骤", "怎么操作", "在哪办", "去哪办", "怎么申请", "手续")),
    ("check", ("怎么查", "在哪查", "哪里查", "查询")),
)


def _focus(text: str) -> str | None:
    """Which reply section the question itself asks for, if any."""
    return next((name for name, words in _FOCUS if any(w in text for w in words)), None)


def _known(values: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(values).items() if k in _SLOT_NAMES}


def _answers_pending(slot: str | None, u: Understanding, own: Slots, pending: str) -> bool:
    """Is this message the answer to the question we asked (for the ``pending`` intent)?"""
    if slot is None:
        return False
    provided = {
        "city": own.city or own.origin or own.destination,
        "destination": own.destination or own.city,
        "origin": own.origin or own.city,
    }.get(slot, getattr(own, slot, None))
    if provided is None:
        return False
    # "福州" or "深圳 4个月" answers; "从福州转到北京" or "断了4个月有什么影响" is a question of
    # its own, however short, when its own topic is clear and another one.
    if u.intent in ("out_of_scope", "greeting", pending):
        return True
    if any(u.intent in family and pending in family for family in NUMBER_FAMILIES) and not any(
        w in u.text for w in _QUESTION_WORDS
    ):
        # "12月1日补缴" answers the lapse question's "when will you pay?"; "断了4个月有什么
        # 影响" after "how many months?" asks something of its own.
        return True
    top = u.classification.ranking[0]
    return top.keyword < _NEW_TOPIC_EVIDENCE and top.score < _NEW_QUESTION_SCORE


_BARE_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(元|块|年|个月|月|天|日)?")
_BARE_UNITS = {
    "base": ("", "元", "块"),
    "months": ("", "个月", "月"),
    "years": ("", "年"),
    "days": ("", "天", "日"),
}


def _bare_number(slot: str | None, text: str, own: Slots) -> Slots:
    """A bare "6000" or "12" answering our question is the number we asked for."""
    units = _BARE_UNITS.get(slot or "")
    match = _BARE_NUMBER.fullmatch(text.strip(" .!?"))
    if slot is None or units is None or match is None or (match.group(2) or "") not in units:
        return own
    if getattr(own, slot) is not None:
        return own
    value = Decimal(match.group(1))
    number: int | Decimal = value
    if slot in ("months", "days"):
        if value != int(value):
            return own
        number = int(value)
    return dataclasses.replace(own, **{slot: number})  # type: ignore[arg-type]


def _is_elliptic(u: Understanding) -> bool:
    if len(u.text) > 14:
        return False
    weak = u.intent == "out_of_scope" and u.classification.ranking[0].keyword < 2.0
    return weak or bool(_ELLIPTIC.search(u.text))


def _unreadable(text: str) -> str:
    """The reply block for a message we cannot read at all, or "" for one we can: no Chinese
    and no digits; Latin words get "we read Chinese" (a bare "hi"/"hello" is a greeting)."""
    if any("\u4e00" <= ch <= "\u9fff" or ch.isdigit() for ch in text):
        return ""
    text = re.sub(r"\[(?:ID|CARD|PHONE|OPENID)\]", " ", text)  # redacted numbers
    words = "".join(c if c.isascii() and c.isalpha() else " " for c in text).split()
    if not words:
        return "out_of_scope/unreadable"
    if len(words) == 1 and words[0].lower() in ("hi", "hello", "hey", "ok", "okay"):
        return ""
    return "out_of_scope/not_chinese"


def _is_detail(u: Understanding, own: Slots) -> bool:
    """A short number or scheme with no topic of its own: a detail of the last question ("我刚参保3个月"
    after a question about the cap, "交了18年" after one about the years)."""
    if len(u.text) > 12 or u.places.mentions or u.classification.ranking[0].keyword >= 3.0:
        return False
    details = ("months", "years", "base", "days", "scheme")
    return any(getattr(own, name) is not None for name in details)


def slots_from(u: Understanding, e: Entities) -> Slots:
    """Slots stated in this message alone."""
    cities = [m for m in u.places.mentions if m.city]
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
        city, province = cities[0].city, cities[0].province
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


def _as_asked_end(slot: str | None, own: Slots) -> Slots:
    """A bare "南京" answering "从哪个城市转出？" is that end of the move."""
    if slot not in ("origin", "destination") or own.origin or own.destination or not own.city:
        return own
    if slot == "origin":
        return dataclasses.replace(own, origin=own.city, origin_province=own.province)
    return dataclasses.replace(own, destination=own.city, destination_province=own.province)


def _other_end_kept(old: Slots, new: Slots, merged: Slots) -> Slots:
    """A follow-up naming one end of a move keeps the other: "从福州转到北京" then
    "那转到上海呢" is 福州 → 上海, and "那从厦门转呢" is 厦门 → 北京; a place without a role
    ("那上海呢") after a move takes the destination's place."""
    if new.city and not (new.origin or new.destination) and old.origin and old.destination:
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


def merge(old: Slots, new: Slots, keep_numbers: bool) -> Slots:
    """New values win; places and scheme carry over; numbers only when ``keep_numbers``."""
    values: dict[str, Any] = {}
    has_place = bool(new.city or new.province)
    for name, kind in _SLOT_KINDS:
        mine, theirs = getattr(new, name), getattr(old, name)
        if kind == "place":
            values[name] = mine if has_place else theirs
        elif kind == "number":
            values[name] = mine if mine is not None or not keep_numbers else theirs
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
