"""Outbound messages to a WeCom group through its robot webhook (doc 91770).

``POST <base>send?key=KEY`` with ``{"msgtype": "text", "text": {"content", "mentioned_list"}}`` or
``markdown`` (``<@userid>`` mentions). WeCom allows 20 messages a minute per robot and answers
the 21st with errcode 45009; every worker shares one :class:`SlidingLimit` per robot through the
storage so that never happens, and a 45009 all the same (another sender on the same robot)
pauses that robot for everyone for a minute. The key is the robot's only credential: it is
hashed before it goes into a storage key and never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

from bot.channels.limits import SlidingLimit
from bot.http import LazySession
from bot.storage.base import Storage
from bot.wechat import truncate_utf8

__all__ = ["WEBHOOK_SENDER_KEY", "SendResult", "WebhookSender", "webhook_key"]

log = logging.getLogger(__name__)

FREQUENCY_LIMITED = 45009  # "api freq out of limit"
_WINDOW = 60.0
_TEXT_BYTES = 2048
_MARKDOWN_BYTES = 4096
_RETRY_EVERY = 1.0


class SendResult(StrEnum):
    SENT = "sent"
    LIMITED = "limited"  # our limiter (or a pause after 45009) said no; nothing was sent
    THROTTLED = "throttled"  # WeCom answered 45009
    FAILED = "failed"  # any other error code, HTTP error or network failure


def webhook_key(target: str) -> str:
    """The key of a robot, given the key itself or its full webhook URL."""
    if "://" not in target:
        return target.strip()
    values = parse_qs(urlsplit(target).query).get("key", [])
    return values[0].strip() if values else ""


class WebhookSender:
    """Sends to group robots, at most ``per_minute`` messages per robot across all workers."""

    def __init__(
        self,
        base: str,
        storage: Storage,
        per_minute: int = 20,
        session: aiohttp.ClientSession | None = None,
        window: float = _WINDOW,
    ) -> None:
        # Sends always go to our configured base, whatever URL a callback carried: a payload
        # must never make the bot post to a host of its choosing.
        self._send_url = base.rstrip("/") + "/send"
        self._storage = storage
        self._window = window  # WeCom counts per minute; tests shorten it
        self._limit = SlidingLimit(storage, "wecom:wh:", per_minute, window)
        self._sessions = LazySession(session)

    async def close(self) -> None:
        await self._sessions.close()

    def _http(self) -> aiohttp.ClientSession:
        return self._sessions.get()

    async def send_text(
        self,
        target: str,
        content: str,
        mention: tuple[str, ...] = (),
        *,
        chat_id: str = "",
        wait: float = 0.0,
    ) -> SendResult:
        """A text message @-ing ``mention``; ``wait`` seconds at most for a free slot."""
        text: dict[str, Any] = {"content": truncate_utf8(content, _TEXT_BYTES)}
        if mention:
            text["mentioned_list"] = list(mention)
        return await self._send(target, {"msgtype": "text", "text": text}, chat_id, wait)

    async def send_markdown(
        self,
        target: str,
        content: str,
        mention: tuple[str, ...] = (),
        *,
        chat_id: str = "",
        wait: float = 0.0,
    ) -> SendResult:
        """A markdown message; mentions are written ``<@userid>`` in front of the content."""
        prefix = "".join(f"<@{user}> " for user in mention)
        body = {"content": truncate_utf8(prefix + content, _MARKDOWN_BYTES)}
        return await self._send(target, {"msgtype": "markdown", "markdown": body}, chat_id, wait)

    async def _send(
        self, target: str, payload: dict[str, Any], chat_id: str, wait: float
    ) -> SendResult:
        key = webhook_key(target)
        if not key:
            log.warning("webhook send without a robot key")
            return SendResult.FAILED
        robot = hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
        if not await self._slot(robot, wait):
            log.info("webhook send held back by the rate limit", extra={"robot": robot})
            return SendResult.LIMITED
        if chat_id:
            payload["chatid"] = chat_id
        try:
            async with self._http().post(
                self._send_url, params={"key": key}, json=payload
            ) as resp:
                if resp.status != 200:
                    log.warning(
                        "webhook HTTP error", extra={"robot": robot, "status": resp.status}
                    )
                    return SendResult.FAILED
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError):
            log.warning("webhook send failed", extra={"robot": robot}, exc_info=True)
            return SendResult.FAILED
        errcode = data.get("errcode", -1) if isinstance(data, dict) else -1
        if errcode == 0:
            return SendResult.SENT
        log.warning("webhook refused", extra={"robot": robot, "errcode": errcode})
        if errcode == FREQUENCY_LIMITED:
            # Someone else is sending through this robot too: stop everyone for a window.
            try:
                await self._storage.set(f"wecom:wh:pause:{robot}", 1, ttl=self._window)
            except Exception:
                log.exception("storing the webhook pause failed")
            return SendResult.THROTTLED
        return SendResult.FAILED

    async def _slot(self, robot: str, wait: float) -> bool:
        loop = asyncio.get_running_loop()
        end = loop.time() + wait
        while True:
            if not await self._paused(robot) and await self._limit.acquire(robot):
                return True
            remaining = end - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(_RETRY_EVERY, self._window / 4, remaining))

    async def _paused(self, robot: str) -> bool:
        try:
            return await self._storage.get(f"wecom:wh:pause:{robot}") is not None
        except Exception:
            log.exception("reading the webhook pause failed")
            return False


# Where ``bot.channels.setup`` keeps the app's sender (one limiter and HTTP session per app).
WEBHOOK_SENDER_KEY = web.AppKey("wecom_webhook_sender", WebhookSender)
