"""Small pieces every group transport needs: body reading, refusals, background tasks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bot.metrics import Metrics
from bot.wechat import WeChatError

__all__ = ["Tasks", "TooLarge", "read_body", "refuse"]

log = logging.getLogger(__name__)


class TooLarge(WeChatError):
    status = 413


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body; refused unread when declared (or found) larger than ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge("body too large")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise TooLarge("body too large") from exc
    if len(body) > limit:
        raise TooLarge("body too large")
    return body


def refuse(exc: WeChatError, metrics: Metrics | None, channel: str) -> web.Response:
    """A short plain-text refusal; the reason is logged and counted, never a traceback."""
    if metrics is not None:
        metrics.errors.inc(kind=exc.reason)
    log.info(
        "group request refused",
        extra={"channel": channel, "reason": exc.reason, "status": exc.status},
    )
    return web.Response(status=exc.status, text=exc.reason, content_type="text/plain")


class Tasks:
    """Work that outlives its request (late answers); finished or cancelled at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("group background task failed", exc_info=task.exception())

    async def close(self, timeout: float) -> None:
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
