"""One user message in, one answer out, in the context of that user's conversation.

The order of decisions, each a small function below:
1. "重新开始" clears the conversation; a bare number picks a follow-up section offered before.
2. A short answer to the question the bot asked ("福州", "4个月") resumes the pending intent.
3. An elliptical follow-up ("那要多久?", "滞纳金呢?") is understood with the previous topic.
4. Otherwise the message is a new question; places carry over, the situation (numbers,
   scheme, cause) only within the same topic.
Then the intent's handler computes the reply, and the reply is rendered to fit one message.
What a message says (slots, and short answers like "6000" or "吉林") is read in
``bot.dialog.slots``; several questions in one message are split and joined in
``bot.dialog.questions``; follow-up facets and repeated replies in ``facets`` and ``repeat``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.dialog.compact import (
    PRIVATE_ONLY_INTENTS,
    PRIVATE_ONLY_REPLY,
    private_amounts,
    render_compact,
)
from bot.dialog.context import Context
from bot.dialog.facets import (
    FACETS,
    asks_by_channel,
    facet_answer,
    facet_of,
    facet_wording,
    is_short_follow_up,
)
from bot.dialog.questions import (
    QUESTION_END,
    QUESTION_WORDS,
    combine_replies,
    fits_aside,
    near_family,
    split_clauses,
)
from bot.dialog.render import (
    Rendered,
    render_lines_only,
    render_part,
    render_reply,
)
from bot.dialog.repeat import asked_part, line_keys, repeats
from bot.dialog.slots import (
    ANSWER_SPARE_CHARS,
    CITY_SLOTS,
    PLAUSIBLE,
    PROVINCE_SUFFIXES,
    SITUATION_SLOTS,
    SLOT_NAMES,
    TOPIC_FAMILIES,
    as_asked_end,
    bare_number,
    changed_number,
    merge,
    number_slots,
    other_end_kept,
    province_end,
    rough_day_as_asked,
    slot_user,
    slots_from,
    slots_from_json,
    slots_to_json,
)
from bot.dialog.state import ConversationState, clear_state, load_state, save_state
from bot.dialog.types import Answer, Part, Reply, Slots, Turn
from bot.logs import redact
from bot.memo import RepeatMemo
from bot.nlu.entities import Entities, extract
from bot.nlu.normalize import normalize
from bot.nlu.places import PlaceMention, Places
from bot.nlu.understand import NLU, Understanding
from bot.storage.base import Storage
from intents import BY_ID

if TYPE_CHECKING:
    from bot.reminders.channels import Routes

log = logging.getLogger(__name__)

RESET_WORDS = frozenset({"重新开始", "重来", "重置", "清空", "reset", "restart", "从头开始"})
_PRIVACY_NOTE = Part("common/privacy_note")
# Turns that pass without changing what the conversation is about.
_PASSING = frozenset({"greeting", "out_of_scope", "human"})
# Overall evidence (keywords, examples, Naive Bayes) with which a short message that also fills
# the slot we asked for is a question of its own ("福州转北京" while we wait for a city).
_NEW_QUESTION_SCORE = 4.0
# Keyword evidence with which a follow-up like "那补缴呢" opens another topic.
_NEW_TOPIC_EVIDENCE = 3.0
# ... and with which it asks for a person rather than about one: 人工, 客服, 真人, 热线 weigh
# this much, the incidental 人呢 of "那个人呢" less.
_EXPLICIT_REQUEST = 4.0
# A follow-up that leans on the previous message: "那…", "…呢", "还有…".
_ELLIPTIC = re.compile(r"^(那|那么|那要|还有|另外|然后|如果|要是)|呢[?]?$")
# Understanding a text and reading its entities are pure, and a deadline burst repeats the same
# questions word for word: caching them saves ~100 µs per repeated message. Results are frozen
# and never mutated downstream, so sharing one between users is safe. Only texts seen twice
# are kept (see bot.memo: one-offs would fill the cache and slow every full GC).
UNDERSTANDING_CACHE = 2048


class Dialog:
    """Stateless itself: all per-user memory is in the storage, so any worker can answer."""

    def __init__(
        self,
        nlu: NLU,
        ctx: Context,
        storage: Storage,
        ttl: float = 1800.0,
        routes: Routes | None = None,
    ) -> None:
        """``routes``: where reminders can be pushed (``Routes.from_settings``), for the
        reminder handler; None judges a chat by its user key alone."""
        self.nlu = nlu
        self.ctx = ctx
        self.storage = storage
        self.ttl = ttl
        self.routes = routes
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
        if unreadable == "out_of_scope/unreadable" and not personal:
            # Emoji that greet or thank (👋, 🙏) are read as their word and answered as it;
            # any other (😭, 🐶🐱) or bare punctuation is still unreadable.
            said = self.nlu.emoji_words(text)
            if said and self._understand(said).intent == "greeting":
                text, unreadable = said, ""
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
        about_yibao = _asked_about_yibao(state.other_insurance_text, norm)
        if about_yibao is not None:
            # "那医保呢" after "养老保险每月能领多少": that question, about 医保.
            text, norm = about_yibao, normalize(about_yibao)
            entities = self._extract(norm, today)
        understanding = self._understand(text)
        understanding, guessed = self._read_as_city(state, understanding)
        intent, slots, leans_on = self._decide(state, understanding, entities)
        # The same topic again keeps what we asked already (never ask twice), but only an
        # answer to our question, or a follow-up leaning on the last one, is read with it:
        # a new question stands on its own.
        resumed = intent == state.pending_intent
        corrected = leans_on != "" and _is_correction(understanding)
        # A correction makes the question a new one: what it asked before may be asked again
        # ("基数改成1万" restates the amount before asking for the days once more).
        asked = frozenset(state.asked) if resumed and not corrected else frozenset()
        reasked = leans_on == "pending" and _still_missing(
            state.pending_slot, slots, understanding
        )
        if reasked:
            # "深圳" answering "断了几个月？" gives something else: use it, and ask again.
            asked -= {state.pending_slot}
        context = state.pending_text if leans_on == "pending" else ""
        if leans_on == "last":
            context = state.last_text
        own_norm = norm
        wording = facet_wording(state.last_intent, understanding.intent, intent)
        if leans_on and wording is not None:
            # "要多久到账" after a back payment: when it counts, asked in the lapse's own words.
            norm, context = wording, ""
        if context and context != norm:
            # "福州" alone says nothing about what was asked, nor "那北京呢" about what of
            # Beijing: read it with the question it completes (its places win in the slots).
            norm = f"{context} {norm}"
        intent = _applied_facet(intent, entities, norm, today)
        norm = _with_application_day(state, intent, entities, norm)
        if norm != own_norm:
            # Dates are read where the handler reads them: in the text with its context.
            entities = _dates_of(entities, self._extract(norm, today))
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
            self.routes,
        )
        if compact and intent in PRIVATE_ONLY_INTENTS:
            reply = PRIVATE_ONLY_REPLY  # records for a group member key could never be delivered
        else:
            reply = await self._handle(turn)
            if leans_on == "" or corrected:
                # A correction asks the last message's questions again, all of them.
                reply, asking = await self._with_other_questions(turn, reply)
                # The answer to a question back resumes the question that asked it.
                turn = dataclasses.replace(turn, intent=asking)
        if not compact:
            turn, reply = await self._with_section_asked(turn, reply, understanding, own_norm)
            intent = turn.intent
        if reasked and reply.ask and (slots.city or slots.province):
            noted = Part("dialog/noted_place", {"place": slots.city or slots.province})
            reply = dataclasses.replace(reply, answer=(noted, *reply.answer))
        if guessed is not None:
            # "吉林" was read as one of two places, or "福洲" as 福州: say which, first, so a
            # wrong guess is corrected at once rather than discovered in the details.
            reply = dataclasses.replace(reply, answer=(_understood(guessed), *reply.answer))
        if personal:
            # An ID-card, phone or bank-card number in the message: we never need one, say so.
            reply = dataclasses.replace(reply, answer=(*reply.answer, _PRIVACY_NOTE))
        if compact:
            hidden = private_amounts(turn.slots, entities)
            rendered = render_compact(reply, hidden, _focus(own_norm))
        else:
            # "需要什么材料" after an answer that lists them: that part alone, not it all again.
            only = intent == state.last_intent and leans_on != "pending" and _asks_part(text)
            rendered = render_reply(reply, _focus(own_norm), only=only)
            # A short question about the last answer, not an answer to ours nor a new place.
            asks_of_it = leans_on != "pending" and is_short_follow_up(understanding)
            if asks_of_it and not only and intent == state.last_intent:
                rendered = _the_part_asked(reply, state.last_lines, own_norm) or rendered
        self._remember(state, turn, reply, rendered.followups)
        state.last_lines = [] if compact else line_keys(reply)
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
    def _read_as_city(
        self, state: ConversationState, u: Understanding
    ) -> tuple[Understanding, PlaceMention | None]:
        """A name answering our question for a city is read as a city: "吉林" after "从哪个城市
        转出？" is 吉林市, though alone it names the province. Returns the understanding to use
        and the mention that was a guess (this reading, or a typo), to be named in the reply."""
        # A bare place after an answer (or our question) about somewhere is the place it asks
        # about; without a conversation "我在吉林" names the province.
        about_a_place = state.pending_slot in CITY_SLOTS or (
            state.last_intent is not None and state.last_intent not in _PASSING
        )
        if not about_a_place or len(u.places.mentions) != 1:
            return u, None
        mention = u.places.mentions[0]
        if mention.city is not None:
            return u, mention if mention.typo else None
        spare = len(u.text) - len(mention.surface)
        if mention.surface.endswith(PROVINCE_SUFFIXES) or spare > ANSWER_SPARE_CHARS:
            return u, None  # "吉林省", or a sentence of its own about the province
        city = self._city_named_like(mention)
        if city is None:
            return u, None
        places = Places([city.city or ""], [city.province], [city])
        read = dataclasses.replace(
            u, cities=(city.city or "",), provinces=(city.province,), places=places
        )
        return read, city

    def _city_named_like(self, province: PlaceMention) -> PlaceMention | None:
        """The prefecture-level city that shares a province's short name (吉林 → 吉林市), as a
        mention of the same words; None when there is none (广东)."""
        found = self.nlu.resolver.resolve(f"{province.surface}市").mentions
        if len(found) != 1 or found[0].city is None or found[0].province != province.province:
            return None
        return dataclasses.replace(
            found[0], surface=province.surface, start=province.start, end=province.end
        )

    def _decide(
        self, state: ConversationState, u: Understanding, e: Entities
    ) -> tuple[str, Slots, str]:
        """The intent and slots of this turn, and what it leans on: "pending" (it answers the
        question we asked), "last" (a follow-up to the last question: "那北京呢"), or ""."""
        own = slots_from(u, e)
        remembered = slots_from_json(state.slots)
        stated = own
        own = bare_number(number_slots(state), u.text, e, own)
        own = changed_number(number_slots(state), u.text, e, own)
        bare = next((n for n in PLAUSIBLE if getattr(own, n) != getattr(stated, n)), None)
        own = province_end(state.pending_slot, u, own)
        own = rough_day_as_asked(state.pending_slot, e, own)
        if state.pending_intent and _answers_pending(
            state.pending_slot, u, own, state.pending_intent
        ):
            own = as_asked_end(state.pending_slot, own)
            merged = merge(remembered, own, keep_situation=True)
            return state.pending_intent, other_end_kept(remembered, own, merged), "pending"
        same_family = any(u.intent in fam and state.last_intent in fam for fam in TOPIC_FAMILIES)
        if state.last_intent and same_family and _only_places(u, e):
            # "从郑州转到杭州" after "上周申请的转移什么时候能好": the route of the last
            # question, not a new one; its date and facet stay.
            merged = merge(remembered, own, keep_situation=True)
            return state.last_intent, other_end_kept(remembered, own, merged), "last"
        if state.last_intent and state.last_intent not in _PASSING and asks_by_channel(u):
            # "支付宝行不行" after "补缴可以在网上补吗": paying it that way, not a withdrawal.
            intent = state.last_intent
            leans_on = "pending" if intent == state.pending_intent else "last"
            merged = merge(remembered, own, keep_situation=True)
            return intent, other_end_kept(remembered, own, merged), leans_on
        if state.last_intent and self._asks_facet_of_last(state, u):
            # "要多久到账" after a manual claim: when the claim is paid, not a transfer's progress;
            # after a back payment: when it counts (its family's own timing).
            intent = facet_answer(state.last_intent, u.intent)
            leans_on = "pending" if intent == state.pending_intent else "last"
            merged = merge(remembered, own, keep_situation=True)
            return intent, other_end_kept(remembered, own, merged), leans_on
        if _is_correction(u) and state.last_intent and state.last_intent not in _PASSING:
            # "不对，是从苏州转到杭州", "基数改成1万": the last question again, with this changed.
            leans_on = "pending" if state.last_intent == state.pending_intent else "last"
            merged = merge(remembered, own, keep_situation=True)
            return state.last_intent, other_end_kept(remembered, own, merged), leans_on
        if state.last_intent and (_is_elliptic(u) or _is_detail(u, own)):
            # "那北京呢", "居民医保呢", "那转到上海呢": the last question again, about this. Only
            # clear evidence of another topic ("那补缴呢") changes the subject.
            stays = u.intent in (state.last_intent, "out_of_scope", "greeting")
            keep = stays or not _changes_topic(u)
            intent = u.intent
            if keep:
                # Read with the last question, the follow-up's words pick the facet: "那要多久"
                # after a transfer asks about its progress, "那北京呢" the same thing again.
                context = state.last_text or BY_ID[state.last_intent].extra.get("topic", "")
                again = self._understand(f"{context} {u.text}") if context else u
                # Only a facet the follow-up's own words point to ("那要多久" → progress); the
                # last question's words alone ("…补缴 那北京呢") do not change its topic, and
                # a passing turn ("那个人呢" read as 人呢) is no facet of it.
                own_facet = again.intent == u.intent and again.intent not in _PASSING
                intent = again.intent if own_facet else state.last_intent
                # A facet word too weak to stand alone ("要多久" is no question by itself)
                # still picks its sibling in the last question's family.
                words = _without_route(u)
                facet = self._understand(words) if words != u.text else u
                intent = _family_facet(facet, own, state.last_intent) or intent
                if facet_of(state.last_intent, intent, again):
                    # "要多少钱" after the years short: paying them
                    intent = facet_answer(state.last_intent, intent)
            if keep and bare is not None:
                # "6000" after a lapse answer is a base: the sibling that counts with it.
                intent = slot_user(bare, intent)
            # "北京" while we wait for the base: a detail of the pending question, read with it
            leans_on = "pending" if intent == state.pending_intent else "last" if keep else ""
            merged = merge(remembered, own, keep_situation=True)
            return intent, other_end_kept(remembered, own, merged), leans_on
        same_topic = u.intent == state.last_intent or same_family
        merged = merge(remembered, own, keep_situation=same_topic)
        if not same_topic and is_short_follow_up(u) and own.scheme is None:
            # "几号截止" after "灵活就业的这个月还没交": another topic, the same person's scheme.
            merged = dataclasses.replace(merged, scheme=remembered.scheme)
        return u.intent, merged, ""

    def _asks_facet_of_last(self, state: ConversationState, u: Understanding) -> bool:
        """Is a short follow-up, read alone as another topic's question, a facet of the last
        question's own topic (see ``bot.dialog.facets``)?"""
        if state.last_intent is None or not is_short_follow_up(u):
            return False
        if u.intent not in FACETS.get(state.last_intent, ()):
            return False  # the cheap test first
        context = state.last_text or BY_ID[state.last_intent].extra.get("topic", "")
        together = self._understand(f"{context} {u.text}") if context else u
        return facet_of(state.last_intent, u.intent, together)

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

    async def _with_other_questions(self, turn: Turn, reply: Reply) -> tuple[Reply, str]:
        """A message asking two things of one topic ("断缴了怎么补？补完多久能用？") gets
        both answers, in the order asked; a question of another topic ("能取现吗？") or about
        another place ("北京呢？") adds its short answer after them, when it fits one message.
        Two questions that each need a detail keep the one answer (one question back at a
        time). Returns the reply and the intent whose question back it ends with, if any."""
        questions = self._questions(turn.text)
        family = next((f for f in TOPIC_FAMILIES if turn.intent in f), frozenset())
        asked = [u.intent for _, u in questions if u.intent in family]
        combined, asking = reply, turn.intent
        if reply.ask:
            # "余额怎么查？每个月打多少进去": the question that needs a detail asks for it,
            # the one of the same topic that needs none is answered now.
            combined = combine_replies([*await self._answered_alone(turn, questions), reply])
        if set(asked) - {turn.intent}:
            replies = {turn.intent: reply}
            for intent in asked:
                if intent not in replies:
                    replies[intent] = await self._handle(dataclasses.replace(turn, intent=intent))
            order = list(dict.fromkeys([*asked, turn.intent]))
            askers = [i for i in order if replies[i].ask]
            if len(askers) <= 1:
                # A question back comes last, where the user's answer to it follows naturally.
                order = [*(i for i in order if i not in askers), *askers]
                combined = combine_replies([replies[i] for i in order])
                asking = order[-1] if askers else turn.intent
        return await self._with_asides(turn, questions, combined), asking

    async def _with_section_asked(
        self, turn: Turn, reply: Reply, u: Understanding, words: str
    ) -> tuple[Turn, Reply]:
        """A follow-up asking for a section ("公司的锅 需要带什么") that the last topic's reply
        lacks is answered by the topic its own words name, when that reply has the section."""
        focus = _focus(words)
        if focus is None or getattr(reply, focus) or u.intent in (turn.intent, *_PASSING):
            return turn, reply
        if BY_ID[u.intent].handler is None:
            return turn, reply
        other_turn = dataclasses.replace(turn, intent=u.intent)
        other = await self._handle(other_turn)
        return (other_turn, other) if getattr(other, focus) else (turn, reply)

    async def _answered_alone(
        self, turn: Turn, questions: list[tuple[str, Understanding]]
    ) -> list[Reply]:
        """The replies of the questions of the turn's own topic that, asked alone, need no
        detail (when another question of the message does)."""
        same = [q for q, u in questions if u.intent == turn.intent]
        if len(same) < 2:
            return []
        replies = [await self._handle(dataclasses.replace(turn, text=q)) for q in same]
        return [r for r in replies if r.answer and not r.ask]

    def _as_facet(self, main: str, question: str, u: Understanding) -> tuple[str, Understanding]:
        """A short question of a message ("要多久到账") that is a facet of its main topic
        (``FACETS``), reworded for the topic that answers it; other questions as they are."""
        if u.intent not in FACETS.get(main, frozenset()) or not is_short_follow_up(u):
            return question, u  # a question with its own places or details stands alone
        answerer = facet_answer(main, u.intent)
        wording = facet_wording(main, u.intent, answerer)
        if wording is None:
            return question, dataclasses.replace(u, intent=answerer)
        return wording, dataclasses.replace(self._understand(wording), intent=answerer)

    async def _with_asides(
        self, turn: Turn, questions: list[tuple[str, Understanding]], reply: Reply
    ) -> Reply:
        """The short answers of the questions of other topics or places in the message."""
        family = next((f for f in TOPIC_FAMILIES if turn.intent in f), frozenset())
        extra: list[Part] = []
        before: list[Part] = []  # asides asked before the main question come before it
        main_seen = False
        for question, asked in questions:
            # "补交能用微信交吗 要多久到账": a facet of the main topic is asked in its words and
            # answered by the topic of its family that answers it, as a follow-up would be.
            question, u = self._as_facet(turn.intent, question, asked)
            main_seen = main_seen or u.intent in family
            other_place = u.intent == turn.intent and u.cities and u.cities[0] != turn.slots.city
            if u is asked and (u.intent in _PASSING or (u.intent in family and not other_place)):
                continue
            if u.intent == turn.intent and not other_place:
                continue
            if u.intent not in family and near_family(u, family):
                continue  # "补了多久能报销" after a lapse: a facet of this topic, answered
            slots = turn.slots
            if u.places.mentions:
                slots = merge(turn.slots, slots_from(u, turn.entities), keep_situation=True)
            aside = await self._handle(
                dataclasses.replace(turn, intent=u.intent, text=question, slots=slots)
            )
            if aside.ask or not aside.answer:
                continue  # it needs a detail of its own: one question back at a time
            parts = [p for p in aside.answer if p not in reply.answer and p not in extra]
            candidate = dataclasses.replace(reply, answer=(*before, *reply.answer, *extra, *parts))
            if fits_aside(candidate):
                (extra if main_seen else before).extend(parts)
        if not extra and not before:
            return reply
        return dataclasses.replace(reply, answer=(*before, *reply.answer, *extra))

    def _questions(self, text: str) -> list[tuple[str, Understanding]]:
        """Each question of a message of several ("能转吗？要多久？", "补多少,多久能报销"); a
        short one that leans on the question before it ("要多久") is read with it, as a
        follow-up is. Empty for a message of one question."""
        questions = [
            part for q in QUESTION_END.split(text) if q.strip() for part in split_clauses(q)
        ]
        if len(questions) < 2:
            return []
        out: list[tuple[str, Understanding]] = []
        before = ""
        for question in questions:
            u = self._understand(question)
            if before and (u.intent == "out_of_scope" or _is_elliptic(u)):
                leaning = self._understand(f"{before} {question}")
                # "北京呢" keeps its own place: the question before, about it.
                u = dataclasses.replace(
                    leaning,
                    places=u.places if u.places.mentions else leaning.places,
                    cities=u.cities or leaning.cities,
                    provinces=u.provinces or leaning.provinces,
                )
            out.append((question, u))
            before = question
        return out

    def _remember(
        self, state: ConversationState, turn: Turn, reply: Reply, followups: dict[str, str]
    ) -> None:
        state.followups = followups
        state.choices = dict(reply.choices)
        if turn.intent == "out_of_scope":
            other = _OTHER_INSURANCE.search(turn.text)
            state.other_insurance_text = turn.text[:200] if other else ""
        elif turn.intent not in _PASSING:
            state.other_insurance_text = ""
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
            state.asked = list(dict.fromkeys([*state.asked, ask]))  # an invitation may recur
        else:
            state.pending_intent = state.pending_slot = None
            state.pending_text = ""
            state.asked = []
        state.last_intent = turn.intent
        state.last_text = turn.text[-200:]  # what a follow-up "那北京呢" leans on
        state.applied_text = _application_text(turn, state.applied_text)


def _the_part_asked(reply: Reply, last_lines: list[str], words: str) -> Rendered | None:
    """A reply that would say again what the last one said, narrowed to what the follow-up's
    own words ask about ("能给孙子用吗": the line about grandchildren); None when they share
    nothing with it, and the reply is said again in full."""
    if not repeats(reply, last_lines):
        return None
    section, lines = asked_part(reply, words)
    if section is not None:
        return render_reply(reply, section, only=True)
    if lines:
        return render_lines_only(reply, lines)
    return None


# The topics of one transfer: a day of application said in one of its questions ("我上上周申请
# 的") is the day of the next ones ("到现在都没动静").
_TRANSFER_FAMILY = frozenset({"transfer", "transfer_progress"})
_APPLIED = re.compile(r"申请|提交|递交|交了材料|交的材料|办了|办的|办理的")


def _says_application_day(e: Entities, text: str, today: date) -> bool:
    """Does a message say when a transfer was applied for ("我11月初申请的", "上周五提交的")?"""
    past = [d for d in e.dates if d <= today] + [r.day for r in e.approx_dates if r.day <= today]
    return bool(past) and bool(_APPLIED.search(text))


def _applied_facet(intent: str, e: Entities, text: str, today: date) -> str:
    """A transfer question that says when it was applied for asks how far it has got."""
    if intent == "transfer" and _says_application_day(e, text, today):
        return "transfer_progress"
    return intent


def _with_application_day(state: ConversationState, intent: str, e: Entities, text: str) -> str:
    """The text of a transfer question, read after the message of the same transfer that said
    when it was applied for, when it says no day of its own."""
    story = state.applied_text
    if intent not in _TRANSFER_FAMILY or not story or story in text or e.dates or e.approx_dates:
        return text
    return f"{story} {text}"


def _application_text(turn: Turn, before: str) -> str:
    """What a transfer turn remembers as the message saying its day of application: the one
    remembered ``before`` while the turn is read with it, else its own text when it says one;
    nothing outside a transfer."""
    if turn.intent not in _TRANSFER_FAMILY:
        return ""
    if before and before in turn.text:
        return before
    if _says_application_day(turn.entities, turn.text, turn.today):
        return turn.text[-120:]
    return ""


def _dates_of(own: Entities, read: Entities) -> Entities:
    """The entities of a message, with the dates of the text it is read in when it has none."""
    if own.dates or own.approx_dates:
        return own
    return dataclasses.replace(
        own,
        dates=read.dates,
        approx_dates=read.approx_dates,
        assumed_last_year=read.assumed_last_year,
    )


def _understood(mention: PlaceMention) -> Part:
    return Part("dialog/understood_place", {"said": mention.surface, "place": mention.city})


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
    ("materials", ("材料", "带什么", "带啥", "证件", "需要什么", "要什么东西", "准备什么")),
    (
        "steps",
        (
            "怎么办理",
            "流程",
            "步骤",
            "怎么操作",
            "在哪办",
            "去哪办",
            "怎么申请",
            "手续",
            "怎么绑",
            "怎么弄",
            "怎么开通",
            "怎么设置",
            "找谁",
        ),
    ),
    ("check", ("怎么查", "在哪查", "哪里查", "查询")),
)


def _asks_part(text: str) -> bool:
    """Does a follow-up ask only for a section of the last answer ("要带啥材料", "怎么绑定")?"""
    return len(normalize(text)) <= 12 and _focus(normalize(text)) is not None


def _focus(text: str) -> str | None:
    """Which reply section the question itself asks for, if any."""
    return next((name for name, words in _FOCUS if any(w in text for w in words)), None)


def _still_missing(slot: str | None, slots: Slots, u: Understanding) -> bool:
    """Does a message that gives a place leave the slot we asked for unfilled?"""
    if slot not in SLOT_NAMES or slot in CITY_SLOTS or not u.places.mentions:
        return False
    return getattr(slots, str(slot)) is None


def _known(values: Any) -> dict[str, Any]:
    return {k: v for k, v in dict(values).items() if k in SLOT_NAMES}


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
    if any(u.intent in family and pending in family for family in TOPIC_FAMILIES) and not any(
        w in u.text for w in QUESTION_WORDS
    ):
        # "12月1日补缴" answers the lapse question's "when will you pay?"; "断了4个月有什么
        # 影响" after "how many months?" asks something of its own.
        return True
    top = u.classification.ranking[0]
    return top.keyword < _NEW_TOPIC_EVIDENCE and top.score < _NEW_QUESTION_SCORE


# A facet word the follow-up itself carries ("要多久" → transfer_progress) needs this much
# overall evidence for its intent; "那北京呢" leans on no facet (0.5).
_FACET_SCORE = 1.5


def _family_facet(u: Understanding, own: Slots, last: str | None) -> str | None:
    """The intent of the last question's topic family that a follow-up's own words point to
    ("要多久" after a transfer → transfer_progress), when they point to a sibling of it. A
    follow-up giving a detail ("那如果是6个月呢") asks the last question again with it."""
    if any(getattr(own, name) is not None for name in SITUATION_SLOTS):
        return None
    top = u.classification.ranking[0]
    if top.intent == last or u.intent not in (top.intent, "out_of_scope"):
        return None
    if top.score < _FACET_SCORE:
        return None
    family = next((f for f in TOPIC_FAMILIES if last in f), frozenset())
    return top.intent if top.intent in family else None


# A message that corrects the last one: "不对，是转到上海", "基数改成10000", "我说错了，是5个月".
_CORRECTION = re.compile(r"^(不对|不是|错了|说错|搞错|弄错|更正|纠正|更改)|改成|改为|换成|应该是")


def _is_correction(u: Understanding) -> bool:
    return len(u.text) <= 20 and bool(_CORRECTION.search(u.text))


# Words that only give a route: "从郑州转到杭州", "郑州到杭州的".
_ROUTE_WORDS = re.compile(
    r"[从由自在到往去至转调换的了是我,.。，、\s]|转到|调到|迁到|转去|转入|转出|迁往"
)


def _without_route(u: Understanding) -> str:
    """The message without its places and the words that only make them a route: what it
    asks about them ("那转到上海要多久" → "那要多久")."""
    if not u.places.mentions:
        return u.text
    rest = u.text
    for m in reversed(u.places.mentions):
        rest = rest[: m.start] + rest[m.end :]
    return _ROUTE_WORDS.sub("", rest)


def _only_places(u: Understanding, e: Entities) -> bool:
    """A message that names places and asks nothing of its own ("从郑州转到杭州")."""
    if not u.places.mentions or e.dates or e.approx_dates:
        return False
    return not _without_route(u)


def _changes_topic(u: Understanding) -> bool:
    """Does a follow-up ("那补缴呢", "那人工呢") carry clear evidence of another intent? A
    social one (a human agent) needs an explicit request: in "那个人呢" or "那我爸呢" the
    person is the new subject of the last question, not someone to talk to."""
    top = u.classification.ranking[0]
    social = top.intent in BY_ID and BY_ID[top.intent].social
    needed = _EXPLICIT_REQUEST if social else _NEW_TOPIC_EVIDENCE
    return top.keyword >= needed


# Insurances other than 医保 that a question out of scope may be about ("养老保险每月能领多少").
_OTHER_INSURANCE = re.compile(
    r"养老保险|养老金|养老|失业保险|失业金|工伤保险|工伤|公积金|商业保险|商业险|商保|社保"
)
# A follow-up naming 医保 and nothing else: "那医保呢", "医保的话呢", "换成居民医保呢".
_YIBAO_ONLY = re.compile(
    r"^(那|那么|那如果是|如果是|要是|换成|那换成)?"
    r"((职工|居民|城乡居民|城镇职工)?医保|(基本)?医疗保险)"
    r"(的话)?(呢|怎么样|咋样|又怎么样|怎么算|呐)?$"
)


def _asked_about_yibao(other: str, text: str) -> str | None:
    """The last question, out of scope about another insurance, asked about 医保 instead, when
    the message only names 医保 ("那医保呢"); None otherwise."""
    if not other or not _YIBAO_ONLY.match(text.strip(" ,.!?。，！？")):
        return None
    said = text.strip(" ,.!?。，！？")
    said = re.sub(r"^(那|那么|那如果是|如果是|要是|换成|那换成)", "", said)
    said = re.sub(r"(的话)?(呢|怎么样|咋样|又怎么样|怎么算|呐)?$", "", said)
    asked = _OTHER_INSURANCE.sub(said, other, count=1)
    return asked if asked != other else None


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
