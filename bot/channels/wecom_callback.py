"""The two WeCom robot callbacks: the group robot (XML) and the AI bot (JSON, streamed).

Each request is checked in order, every step refusing before the next, more expensive one runs:
timestamp window → body cap → envelope → ``msg_signature`` → decrypt → parse. WeCom retries a
callback that is not answered within 5 s, so each message is claimed once in the storage by its
MsgId; a retry gets the stored reply (or nothing) and the bot never runs twice. An answer not
ready by the reply deadline goes out later: through the robot's webhook for the group robot, and
through the stream refreshes WeCom polls for the AI bot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from typing import Any

from aiohttp import web

from bot.channels.common import Tasks, read_body, refuse
from bot.channels.group import GroupChat, GroupMessage, GroupReply
from bot.channels.webhook import SendResult, WebhookSender
from bot.channels.wecom import (
    AIBotMessage,
    RobotMessage,
    WeComCrypto,
    parse_aibot_message,
    parse_robot_message,
    render_robot_text,
    stream_reply,
)
from bot.dialog.render import render_part
from bot.dialog.types import Part
from bot.metrics import Metrics
from bot.settings import Settings
from bot.storage.base import Storage
from bot.wechat import BadRequest, BadSignature, WeChatError, check_timestamp, parse_xml

__all__ = ["AIBotCallback", "RobotCallback"]

log = logging.getLogger(__name__)

# A late answer may wait this long for a free webhook slot; later it would answer a cold topic.
_LATE_WAIT = 30.0
# How long a group's robot webhook is remembered after its last message (for reminders).
GROUP_ROBOT_TTL = 30 * 24 * 3600.0
# WeCom polls an unfinished stream for up to 6 minutes after the user's message.
_STREAM_TTL = 360.0


def _part(name: str) -> str:
    return render_part(Part(f"group/{name}"))


def _nonce() -> str:
    return str(secrets.randbelow(10**10))


class _Callback:
    """What both robots share: authentication, URL verification, once-only claims."""

    channel = ""

    def __init__(
        self,
        settings: Settings,
        crypto: WeComCrypto,
        chat: GroupChat,
        storage: Storage,
        tasks: Tasks,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.crypto = crypto
        self.chat = chat
        self.storage = storage
        self.tasks = tasks
        self.metrics = metrics

    def _query(self, request: web.Request) -> tuple[str, str, str]:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not nonce or len(nonce) > 64:
            raise BadSignature("missing nonce")
        check_timestamp(timestamp, time.time(), self.settings.timestamp_window)
        return timestamp, nonce, query.get("msg_signature", "")

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification (GET): answer the decrypted ``echostr``, within WeCom's 1 s."""
        try:
            timestamp, nonce, msg_signature = self._query(request)
            echo = self.crypto.verify_url(
                msg_signature, timestamp, nonce, request.query.get("echostr", "")
            )
        except WeChatError as exc:
            return refuse(exc, self.metrics, self.channel)
        return web.Response(text=echo, content_type="text/plain")

    async def _claim(self, msg_id: str, value: dict[str, Any]) -> tuple[bool, Any]:
        """(True, None) when this request owns the message; (False, stored value) for a retry."""
        if not msg_id:
            return True, None
        key = f"wecom:{self.channel}:msg:{msg_id[:128]}"
        try:
            if await self.storage.add(key, value, ttl=self.settings.dedup_ttl):
                return True, None
            return False, await self.storage.get(key)
        except Exception:
            # Answering twice on a storage outage beats not answering at all.
            log.exception("wecom claim failed; answering anyway", extra={"channel": self.channel})
            return True, None

    async def _store(self, key: str, value: Any, ttl: float) -> None:
        try:
            await self.storage.set(key, value, ttl=ttl)
        except Exception:
            log.exception("storing a wecom reply failed", extra={"channel": self.channel})

    def _remaining(self, deadline: float) -> float:
        return max(0.0, deadline - asyncio.get_running_loop().time())


class RobotCallback(_Callback):
    """``GET``/``POST /wecom/robot``: the group robot's message-receiving callback (doc 99399)."""

    channel = "wecom_robot"

    def __init__(
        self,
        settings: Settings,
        crypto: WeComCrypto,
        chat: GroupChat,
        storage: Storage,
        tasks: Tasks,
        sender: WebhookSender,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(settings, crypto, chat, storage, tasks, metrics)
        self.sender = sender

    async def receive(self, request: web.Request) -> web.Response:
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline
        try:
            timestamp, nonce, msg_signature = self._query(request)
            envelope = parse_xml(await read_body(request, self.settings.body_limit))
            plaintext = self.crypto.decrypt(
                envelope.get("Encrypt", "").strip(), msg_signature, timestamp, nonce
            )
            msg = parse_robot_message(plaintext)
        except WeChatError as exc:
            return refuse(exc, self.metrics, self.channel)
        reply = await self._reply(msg, deadline)
        if reply is None:
            return web.Response(text="")  # an empty body: received, nothing to say
        xml = render_robot_text(reply.text, reply.mention)
        encrypted = self.crypto.encrypt_xml(xml, _nonce(), str(int(time.time())))
        return web.Response(text=encrypted, content_type="text/xml")

    async def _reply(self, msg: RobotMessage, deadline: float) -> GroupReply | None:
        if msg.msg_type == "event":
            return GroupReply(_part("hello")) if msg.event == "add_to_chat" else None
        first, stored = await self._claim(msg.msg_id, {"at": int(time.time())})
        if not first:
            return _stored(stored)
        if msg.webhook_url and msg.chat_id:
            # Remember the group's robot (from this authenticated callback) so reminders set
            # up in the group can be delivered there later (bot.reminders.channels).
            await self._store(f"group:webhook:{msg.chat_id}", msg.webhook_url, GROUP_ROBOT_TTL)
        group = GroupMessage(
            channel=self.channel,
            room=msg.chat_id if msg.chat_type == "group" else "",
            sender=msg.user_id,
            text=msg.text,
            mentioned=True,  # the robot only hears messages that @ it
            supported=msg.msg_type in ("text", "mixed"),
        )
        task = self.tasks.spawn(self.chat.handle(group))
        try:
            reply: GroupReply | None = await asyncio.wait_for(
                asyncio.shield(task), self._remaining(deadline)
            )
        except (TimeoutError, asyncio.CancelledError) as exc:
            # Too slow, or WeCom hung up: either way the answer now goes through the webhook.
            self.tasks.spawn(self._late(task, msg.webhook_url, msg.chat_id))
            if isinstance(exc, asyncio.CancelledError):
                raise
            return None
        if msg.msg_id:
            value = {"text": reply.text, "mention": list(reply.mention)} if reply else {}
            key = f"wecom:{self.channel}:msg:{msg.msg_id[:128]}"
            await self._store(key, value, self.settings.dedup_ttl)
        return reply

    async def _late(
        self, task: asyncio.Task[GroupReply | None], webhook_url: str, chat_id: str
    ) -> None:
        """Past the deadline WeCom got an empty reply; the answer goes through the webhook."""
        reply = await task
        if reply is None:
            return
        if not webhook_url:
            log.warning("late group answer dropped: the callback carried no WebhookUrl")
            return
        result = await self.sender.send_text(
            webhook_url, reply.text, reply.mention, chat_id=chat_id, wait=_LATE_WAIT
        )
        if result is not SendResult.SENT:
            log.warning("late group answer not sent", extra={"result": result.value})


def _stored(value: Any) -> GroupReply | None:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        mention = value.get("mention")
        users = (
            tuple(u for u in mention if isinstance(u, str)) if isinstance(mention, list) else ()
        )
        return GroupReply(value["text"], users)
    return None


class AIBotCallback(_Callback):
    """``GET``/``POST /wecom/aibot``: the AI bot in API mode (docs 100719, 101031, 101033).

    A group reply quotes the asker's message by itself (WeCom draws the quote bubble), so the
    answer text needs no @ markup.
    """

    channel = "wecom_aibot"

    async def receive(self, request: web.Request) -> web.Response:
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline
        try:
            timestamp, nonce, msg_signature = self._query(request)
            body = await read_body(request, self.settings.body_limit)
            try:
                envelope = json.loads(body)
            except ValueError as exc:
                raise BadRequest("malformed json") from exc
            encrypted = envelope.get("encrypt") if isinstance(envelope, dict) else None
            if not isinstance(encrypted, str):
                raise BadRequest("no encrypt field")
            plaintext = self.crypto.decrypt(encrypted.strip(), msg_signature, timestamp, nonce)
            msg = parse_aibot_message(plaintext)
        except WeChatError as exc:
            return refuse(exc, self.metrics, self.channel)
        payload = await self._reply(msg, deadline)
        if payload is None:
            return web.Response(text="")
        reply = self.crypto.encrypt_json(
            json.dumps(payload, ensure_ascii=False), _nonce(), str(int(time.time()))
        )
        return web.json_response(reply)

    async def _reply(self, msg: AIBotMessage, deadline: float) -> dict[str, Any] | None:
        if msg.msg_type == "event":
            # Text is only allowed as the welcome when someone opens the 1:1 chat.
            if msg.event == "enter_chat":
                return {"msgtype": "text", "text": {"content": _part("hello")}}
            return None
        if msg.msg_type == "stream":
            return await self._refresh(msg.stream_id)
        stream_id = uuid.uuid4().hex
        first, stored = await self._claim(msg.msg_id, {"stream": stream_id})
        if not first:
            previous = stored.get("stream") if isinstance(stored, dict) else None
            return await self._refresh(previous) if isinstance(previous, str) else None
        group = GroupMessage(
            channel=self.channel,
            room=msg.chat_id if msg.chat_type == "group" else "",
            sender=msg.user_id,
            text=msg.text,
            mentioned=msg.chat_type == "group",  # group callbacks only come with an @
            supported=msg.msg_type in ("text", "mixed"),
        )
        task = self.tasks.spawn(self._answer(stream_id, group))
        try:
            reply: GroupReply | None = await asyncio.wait_for(
                asyncio.shield(task), self._remaining(deadline)
            )
        except TimeoutError:
            # WeCom will poll this stream; the answer is picked up from storage by a refresh.
            # add, not set: the answer may have been stored in the meantime and must win.
            try:
                await self.storage.add(self._stream_key(stream_id), {"pending": True}, _STREAM_TTL)
            except Exception:
                log.exception("marking a stream pending failed")
            return stream_reply(stream_id, _part("working"), finish=False)
        return None if reply is None else stream_reply(stream_id, reply.text, finish=True)

    def _stream_key(self, stream_id: str) -> str:
        return f"wecom:{self.channel}:stream:{stream_id[:64]}"

    async def _answer(self, stream_id: str, group: GroupMessage) -> GroupReply | None:
        reply = await self.chat.handle(group)
        # Kept for retries and stream refreshes, which may reach another worker.
        value = {"text": reply.text} if reply is not None else {"silent": True}
        await self._store(self._stream_key(stream_id), value, _STREAM_TTL)
        return reply

    async def _refresh(self, stream_id: str) -> dict[str, Any] | None:
        """A stream refresh (or a retry): the stored answer, or "still working"."""
        if not stream_id:
            return None
        try:
            stored = await self.storage.get(self._stream_key(stream_id))
        except Exception:
            log.exception("reading a stream failed")
            stored = None
        if isinstance(stored, dict) and isinstance(stored.get("text"), str):
            return stream_reply(stream_id, stored["text"], finish=True)
        if isinstance(stored, dict) and stored.get("pending"):
            return stream_reply(stream_id, _part("working"), finish=False)
        if isinstance(stored, dict) and stored.get("silent"):
            return stream_reply(stream_id, "", finish=True)
        # Unknown or expired: close the stream rather than keep the user waiting for 6 minutes.
        return stream_reply(stream_id, _part("busy"), finish=True)
