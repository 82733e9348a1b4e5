"""``POST /bridge/message``: group chats relayed by a personal-account bridge (Wechaty-style).

The bridge posts ``{"room_id", "sender_id", "sender_name", "text", "mentions_self"}`` (plus an
optional ``msg_id`` to make its retries harmless) and says back ``reply``, @-ing the ids in
``mention``; an empty ``reply`` means stay silent. ``room_id`` empty or null is a 1:1 chat.

Authentication: header ``X-Bridge-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw body
under ``BRIDGE_SECRET``, compared in constant time before the body is even parsed. A bad or
missing signature gets 401 and nothing runs. (The MAC covers the body only, so a captured
request could be replayed: the ``msg_id`` claim and the group dedup make a replay a no-op.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any

from aiohttp import web

from bot.channels.common import read_body, refuse
from bot.channels.group import GroupChat, GroupMessage, GroupReply
from bot.metrics import Metrics
from bot.settings import Settings
from bot.storage.base import Storage
from bot.wechat import WeChatError

__all__ = ["SIGNATURE_HEADER", "Bridge", "sign"]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Bridge-Signature"
_MAX_ID_CHARS = 128
_MAX_TEXT_CHARS = 2000
_TIMEOUT = 20.0


def sign(secret: str, body: bytes) -> str:
    """The header value a bridge sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class Bridge:
    channel = "bridge"

    def __init__(
        self,
        settings: Settings,
        chat: GroupChat,
        storage: Storage,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.secret = settings.groups.bridge_secret
        self.chat = chat
        self.storage = storage
        self.metrics = metrics

    def _authentic(self, request: web.Request, body: bytes) -> bool:
        given = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not self.secret or not given:
            return False
        # compare_digest: a plain == would leak how many leading characters matched.
        return hmac.compare_digest(sign(self.secret, body).encode(), given.lower().encode())

    async def message(self, request: web.Request) -> web.Response:
        try:
            body = await read_body(request, self.settings.body_limit)
        except WeChatError as exc:
            return refuse(exc, self.metrics, self.channel)
        if not self._authentic(request, body):
            if self.metrics is not None:
                self.metrics.errors.inc(kind="bad bridge signature")
            log.info("bridge request refused: bad signature")
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            data = json.loads(body)
        except ValueError:
            return web.json_response({"error": "body must be JSON"}, status=400)
        msg, error = _message(data)
        if msg is None:
            return web.json_response({"error": error}, status=400)
        msg_id = data.get("msg_id")
        if isinstance(msg_id, str | int) and not await self._first(str(msg_id)):
            return _answer(None)
        try:
            reply = await asyncio.wait_for(self.chat.handle(msg), _TIMEOUT)
        except TimeoutError:
            log.warning("bridge answer timed out")
            reply = None
        return _answer(reply)

    async def _first(self, msg_id: str) -> bool:
        key = f"bridge:msg:{hashlib.sha256(msg_id.encode('utf-8')).hexdigest()[:32]}"
        try:
            return await self.storage.add(key, 1, ttl=self.settings.dedup_ttl)
        except Exception:
            log.exception("bridge claim failed; answering anyway")
            return True


def _answer(reply: GroupReply | None) -> web.Response:
    if reply is None:
        return web.json_response({"reply": "", "mention": []})
    return web.json_response({"reply": reply.text, "mention": list(reply.mention)})


def _message(data: Any) -> tuple[GroupMessage | None, str]:
    if not isinstance(data, dict):
        return None, "body must be a JSON object"
    room, sender = data.get("room_id") or "", data.get("sender_id")
    text, mentions_self = data.get("text"), data.get("mentions_self", False)
    if not isinstance(room, str) or len(room) > _MAX_ID_CHARS:
        return None, "room_id must be a string (or null for a 1:1 chat)"
    if not isinstance(sender, str) or not sender or len(sender) > _MAX_ID_CHARS:
        return None, f"sender_id must be 1-{_MAX_ID_CHARS} characters"
    if not isinstance(text, str) or len(text) > _MAX_TEXT_CHARS:
        return None, f"text must be a string of at most {_MAX_TEXT_CHARS} characters"
    if not isinstance(mentions_self, bool):
        return None, "mentions_self must be true or false"
    return GroupMessage("bridge", room, sender, text, mentioned=mentions_self), ""
