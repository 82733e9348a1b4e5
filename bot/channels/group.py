"""Group behaviour shared by every group channel: when to answer, how often, as whom.

A transport (WeCom robot, WeCom AI bot, the JSON bridge) turns its payload into a
:class:`GroupMessage` and sends back the :class:`GroupReply`, if any. In order:

1. Is it for the bot? Only when the bot is mentioned or the message starts with the configured
   prefix ("医保 …"); the mention is stripped before the question is understood.
2. Rate limits: per sender, then per group (:class:`SlidingLimit`). The first refusal in a
   window gets one friendly "稍后再问"; later ones get silence, so the notice cannot flood either.
3. The pipeline answers in the compact group form (``channel="group"``), with conversation
   state keyed per (group, sender): two people filling in their numbers at once never mix.
4. The same question answered the same way in one group within a minute goes out once.

Private (1:1) chats through the same transports get the full answer under their own key.
Reminders are set up in private only (``bot/dialog/compact.py``); where the asker's private
chat on this transport cannot be pushed to either, the group is told where reminders do work.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.channels.config import GroupSettings
from bot.channels.limits import SlidingLimit
from bot.dialog.compact import PRIVATE_ONLY_INTENTS
from bot.dialog.render import render_part
from bot.dialog.types import Answer, Part
from bot.logs import hash_user
from bot.metrics import Metrics
from bot.reminders.channels import Routes, has_route, parse_target
from bot.storage.base import Storage

__all__ = ["GroupChat", "GroupMessage", "GroupReply", "Responder", "address"]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 500
# What may follow the prefix when it is only a call sign ("医保：…", "医保 …"), not a word of
# the question itself ("医保卡丢了" keeps its "医保").
_SEPARATORS = " \t\u2005\u3000:：,，、。!！?？~～"
# A mention of the bot under a name we were not told about (a group nickname) leads the text.
_LEADING_MENTION = re.compile(r"^@[^\s@]+\s*")
_DEDUP_NOISE = re.compile(r"[\s?？!！。.~～]+")


class Responder(Protocol):
    """What the channels need from the bot (``bot.pipeline.Pipeline`` or a test double)."""

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer: ...


@dataclass(frozen=True, slots=True)
class GroupMessage:
    """One incoming message, whatever the transport."""

    channel: str  # "wecom_robot", "wecom_aibot", "bridge": metrics label and key namespace
    room: str  # the group's id; "" for a private (1:1) chat
    sender: str
    text: str
    mentioned: bool = False  # the platform says this message @-mentions the bot
    supported: bool = True  # False for images, files…: the bot can only read text


@dataclass(frozen=True, slots=True)
class GroupReply:
    text: str
    mention: tuple[str, ...] = ()  # user ids to @ (the asker, in groups)


def address(text: str, *, mentioned: bool, names: Iterable[str], prefix: str) -> str | None:
    """The question if the message is for the bot (mention and call-sign prefix stripped)."""
    question = text.strip()
    found = False
    for name in names:
        question, count = re.subn(rf"@{re.escape(name)}\s*", " ", question)
        found = found or count > 0
    question = question.strip()
    if mentioned and not found:
        question = _LEADING_MENTION.sub("", question, count=1).strip()
    if mentioned or found:
        return question
    if prefix and question.startswith(prefix):
        rest = question[len(prefix) :]
        if not rest or rest[0] in _SEPARATORS:
            return rest.lstrip(_SEPARATORS)
        return question
    return None


def _part(name: str) -> str:
    return render_part(Part(f"group/{name}"))


def _escape(value: str) -> str:
    # Ids are joined with ":" into storage keys; escaping keeps ("a:b", "c") and ("a", "b:c")
    # from meeting in one key.
    return value.replace("%", "%25").replace(":", "%3A")


class GroupChat:
    """Decides whether and what to answer; stateless itself (everything lives in storage)."""

    def __init__(
        self,
        config: GroupSettings,
        responder: Responder,
        storage: Storage,
        metrics: Metrics | None = None,
        *,
        routes: Routes | None = None,
    ) -> None:
        """``routes``: where reminders can be pushed (``Routes.from_settings``); by default
        only what ``config`` knows, the bridge's push URL."""
        self.config = config
        self.responder = responder
        self.storage = storage
        self.metrics = metrics
        self.routes = routes or Routes(bridge_push_url=config.bridge_push_url)
        self.senders = SlidingLimit(
            storage, "grp:rl:sender:", config.sender_limit, config.sender_window
        )
        self.groups = SlidingLimit(
            storage, "grp:rl:room:", config.group_limit, config.group_window
        )

    async def handle(self, msg: GroupMessage) -> GroupReply | None:
        """The reply to send, or None for silence."""
        channel, sender = _escape(msg.channel), _escape(msg.sender)
        if not msg.room:
            return await self._private(msg, f"{channel}:{sender}")
        question = address(
            msg.text,
            mentioned=msg.mentioned,
            names=self.config.bot_names,
            prefix=self.config.prefix,
        )
        if question is None:
            return None
        mention = (msg.sender,)
        room = f"{channel}:{_escape(msg.room)}"
        if not await self.senders.acquire(f"{channel}:{sender}"):
            return await self._refused(self.senders, f"{channel}:{sender}", "sender", mention)
        if not await self.groups.acquire(room):
            return await self._refused(self.groups, room, "group", mention)
        if not msg.supported:
            answer = Answer(_part("unsupported"), "unsupported")
        elif not question:
            answer = Answer(_part("hello"), "greeting")
        else:
            answer = await self._ask(f"grp:{room}:{sender}", question[:MAX_QUESTION_CHARS], msg)
            answer = await self._where_reminders_work(answer, f"{channel}:{sender}")
        if not await self._first_time(room, sender, question, answer):
            return None
        return GroupReply(answer.text, mention)

    async def _private(self, msg: GroupMessage, user: str) -> GroupReply | None:
        if not await self.senders.acquire(user):
            return await self._refused(self.senders, user, "sender", ())
        if not msg.supported or not msg.text.strip():
            return GroupReply(_part("unsupported" if not msg.supported else "hello"))
        answer = await self._ask(user, msg.text.strip()[:MAX_QUESTION_CHARS], msg, group=False)
        return GroupReply(answer.text)

    async def _ask(
        self, user: str, question: str, msg: GroupMessage, group: bool = True
    ) -> Answer:
        try:
            answer = await self.responder.respond(
                user, question, channel="group" if group else msg.channel
            )
        except Exception:
            log.exception("group answer failed", extra={"user": hash_user(user)})
            if self.metrics is not None:
                self.metrics.errors.inc(kind="responder")
            return Answer(_part("busy"), "error")
        if self.metrics is not None:
            self.metrics.intents.inc(intent=answer.intent, channel=msg.channel)
        return answer

    async def _where_reminders_work(self, answer: Answer, private_user: str) -> Answer:
        """A reminder request in a group is sent to the private chat; but a WeCom 1:1 chat,
        or a bridged one without a push URL, cannot receive reminders either, and sending the
        person there only earns a second refusal. Then say at once where reminders do arrive,
        in the words the unreachable 1:1 chats use (``remind_subscribe/list_empty_none``)."""
        if answer.intent not in PRIVATE_ONLY_INTENTS:
            return answer
        if await has_route(parse_target(private_user), self.storage, self.routes):
            return answer
        text = render_part(Part("remind_subscribe/list_empty_none"))
        return dataclasses.replace(answer, text=text)

    async def _refused(
        self, limit: SlidingLimit, key: str, scope: str, mention: tuple[str, ...]
    ) -> GroupReply | None:
        log.info("group rate limited", extra={"scope": scope, "key": hash_user(key)})
        if await limit.first_refusal(key):
            return GroupReply(_part(f"{scope}_limited"), mention)
        return None

    async def _first_time(self, room: str, sender: str, question: str, answer: Answer) -> bool:
        """Claim (group, question, answer) for ``dedup_window``; False when already answered.

        The answer is part of the key so two people with different conversations asking the same
        words both get their own answer; a question back ("断缴了几个月？") is keyed per sender too,
        because each asker must be asked for their own numbers.
        """
        parts = [room, _DEDUP_NOISE.sub("", question).casefold(), answer.text]
        if answer.asks:
            parts.append(sender)
        digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]
        try:
            return await self.storage.add(f"grp:dedup:{digest}", 1, ttl=self.config.dedup_window)
        except Exception:
            log.exception("group dedup failed; answering anyway")
            return True
