"""The aiohttp application: the WeChat webhook, the local chat page, health and metrics.

``create_app(settings)`` builds everything synchronously (storage URLs open lazily); the
``cleanup_ctx`` warms the responder up before the port serves and, on shutdown, lets pending
answers finish, then closes the WeChat client and the storage it opened.

Webhook flow (each step refuses before the next, more expensive one runs): URL signature →
timestamp window → body cap → (safe mode) envelope parse, ``msg_signature``, decrypt → parse →
route. Messages that reach the bot are de-duplicated across WeChat's retries: one ``add`` on
``dedup:<key>`` claims the message and later holds its reply; retries in this process wait on
the same task, retries in another worker poll that key. An answer not ready by the deadline is
pushed later through the customer-service API.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import os
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, Protocol

from aiohttp import web

from bot import channels, menu
from bot.logs import hash_user
from bot.metrics import Metrics
from bot.pipeline import Answer, Pipeline
from bot.reminders.service import reminder_context
from bot.settings import Settings
from bot.storage.base import Storage
from bot.storage.tiered import open_app_storage
from bot.wechat import (
    Action,
    ActionKind,
    BadRequest,
    BadSignature,
    Crypto,
    Inbound,
    WeChatError,
    check_signature,
    check_timestamp,
    classify,
    parse_message,
    parse_xml,
    render_text,
    split_text,
)
from bot.wechat_api import PushResult, WeChatAPI

__all__ = [
    "API_KEY",
    "METRICS_KEY",
    "SETTINGS_KEY",
    "STORAGE_KEY",
    "USER_KEY_PREFIXES",
    "Responder",
    "create_app",
]

log = logging.getLogger(__name__)
# How long a stored reply waits for WeChat's retries (three, about 5 s apart).
REPLY_KEEP = 30.0


class Responder(Protocol):
    """What the app needs from the bot (``bot.pipeline.Pipeline`` or a test double)."""

    def warmup(self) -> None: ...

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer: ...

    async def forget(self, user: str) -> None: ...


SETTINGS_KEY = web.AppKey("settings", Settings)
STORAGE_KEY = web.AppKey("storage", Storage)
METRICS_KEY = web.AppKey("metrics", Metrics)
API_KEY = web.AppKey("wechat_api", WeChatAPI)

# Everything stored per user besides the pipeline's own ``conv:`` keys: reminder
# subscriptions and our customer-service quota counter. Deleted on unsubscribe.
USER_KEY_PREFIXES = ("conv:", "sub:", "remind:", "csq:")
SUCCESS = "success"  # tells WeChat "received, no reply", and stops its retries
_POLL_INTERVAL = 0.1
# A worker is presumed dead this long after its last heartbeat; WeChat retries after ~5 s.
_HEARTBEAT_EVERY = 1.0
_HEARTBEAT_TTL = 3.0
_CHAT_TIMEOUT = 30.0
_MAX_CHAT_CHARS = 500
_WEB_USER = re.compile(r"[A-Za-z0-9_-]{8,64}")
_KNOWN_TYPES = frozenset(
    {
        "text", "voice", "image", "location", "link", "video", "shortvideo", "file",
        "event:subscribe", "event:unsubscribe", "event:scan", "event:click", "event:view",
        "event:location",
    }
)  # fmt: skip
_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _success() -> web.Response:
    return web.Response(text=SUCCESS, content_type="text/plain")


@dataclass(eq=False)
class _InFlight:
    """One message being answered; retries in this process attach to it."""

    task: asyncio.Future[str]  # a Task, or a finished Future when the answer came eagerly
    user: str
    waiters: int = 0  # requests currently waiting for the answer with an open connection
    decided: bool = False
    reply: str = ""  # the passive reply once decided; "" means "success" (pushed or nothing)


class Webhook:
    """``GET``/``POST /wechat`` plus the state that outlives one request."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        responder: Responder,
        api: WeChatAPI | None,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.responder = responder
        self.api = api
        self.metrics = metrics
        self.crypto = (
            Crypto(
                settings.wechat_token,
                settings.wechat_encoding_aes_key,
                settings.wechat_app_id,
            )
            if settings.wechat_encoding_aes_key
            else None
        )
        self._inflight: dict[str, _InFlight] = {}
        self._finished: deque[tuple[str, _InFlight, list[str]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # Names this process in dedup claims; ``worker:<id>`` lives while the process does, so
        # a retry landing on another worker can tell a slow answer from a dead worker's.
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._heartbeat: asyncio.Task[None] | None = None

    # -- HTTP ---------------------------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> tuple[str, str]:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        check_signature(self.settings.wechat_token, query.get("signature", ""), timestamp, nonce)
        check_timestamp(timestamp, time.time(), self.settings.timestamp_window)
        return timestamp, nonce

    async def verify(self, request: web.Request) -> web.Response:
        """URL verification: echo ``echostr`` when the signature is ours."""
        try:
            self._authenticate(request)
        except WeChatError as exc:
            return self._refuse(exc)
        echostr = request.query.get("echostr", "")
        if not echostr or len(echostr) > 128 or not echostr.isprintable():
            return web.Response(status=400, text="bad echostr")
        return web.Response(text=echostr, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        """A message or event; always answered within the reply deadline."""
        deadline = asyncio.get_running_loop().time() + self.settings.reply_deadline
        try:
            timestamp, nonce = self._authenticate(request)
            encrypted = request.query.get("encrypt_type", "").lower() == "aes"
            if self.crypto is not None and not encrypted:
                # With a key configured WeChat always encrypts (safe and compatible modes); a
                # plaintext body is only covered by the URL signature, so it could be forged.
                raise BadSignature("plaintext refused in safe mode")
            if encrypted and self.crypto is None:
                raise BadRequest("encrypted message but no WECHAT_ENCODING_AES_KEY")
            body = await self._read_body(request)
            if self.crypto is not None:
                envelope = parse_xml(body)
                plaintext = self.crypto.decrypt(
                    envelope, request.query.get("msg_signature", ""), timestamp, nonce
                )
                msg = parse_message(plaintext)
            else:
                msg = parse_message(body)
        except WeChatError as exc:
            return self._refuse(exc)
        reply = await self._dispatch(msg, deadline)
        if not reply:
            return _success()
        xml = render_text(msg.from_user, msg.to_user, reply, int(time.time()))
        if self.crypto is not None:
            xml = self.crypto.encrypt(xml, str(secrets.randbelow(10**10)), str(int(time.time())))
        return web.Response(text=xml, content_type="text/xml")

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.settings.body_limit
        if request.content_length is not None and request.content_length > limit:
            raise _TooLarge("body too large")
        try:
            # client_max_size (= body_limit) makes read() stop at the cap for chunked bodies.
            return await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise _TooLarge("body too large") from exc

    def _refuse(self, exc: WeChatError) -> web.Response:
        self.metrics.errors.inc(kind=exc.reason)
        log.info("wechat request refused", extra={"reason": exc.reason, "status": exc.status})
        return web.Response(status=exc.status, text=exc.reason, content_type="text/plain")

    # -- routing ------------------------------------------------------------------------------

    async def _dispatch(self, msg: Inbound, deadline: float) -> str:
        action = classify(msg)
        kind = f"event:{msg.event}" if msg.msg_type == "event" else msg.msg_type
        self.metrics.messages.inc(type=kind if kind in _KNOWN_TYPES else "other")
        if action.kind is ActionKind.CLICK:
            action = _click_action(action.text)
        match action.kind:
            case ActionKind.IGNORE:
                reply = ""
            case ActionKind.WELCOME:
                reply = menu.WELCOME_TEXT
            case ActionKind.PROMPT:
                reply = menu.PROMPT_TEXT
            case ActionKind.UNSUPPORTED:
                reply = menu.UNSUPPORTED_TEXT
            case ActionKind.CLICK:  # only HELP and unknown keys remain here
                reply = menu.HELP_TEXT
            case ActionKind.ASK | ActionKind.FORGET:
                reply = await self._once(msg, action, deadline)
        # DEBUG, not INFO: a JSON line per message would cost more than the rest of the
        # transport; /metrics counts messages, and refusals and errors are logged at INFO+.
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "wechat message",
                extra={
                    "user": hash_user(msg.from_user),
                    "type": kind,
                    "action": action.kind.value,
                },
            )
        return reply

    async def _once(self, msg: Inbound, action: Action, deadline: float) -> str:
        """Run the bot at most once per message; every retry gets the same reply."""
        key = msg.dedup_key
        entry = self._inflight.get(key)
        if entry is None:
            try:
                claimed = await self.storage.add(
                    f"dedup:{key}",
                    {"at": int(time.time()), "w": self.worker_id},
                    ttl=self.settings.dedup_ttl,
                )
            except Exception:
                # Answering twice on a storage outage beats not answering at all.
                log.exception("dedup claim failed; answering anyway")
                self.metrics.errors.inc(kind="storage")
                claimed = True
            # Another request of this process may have claimed it while we awaited storage.
            entry = self._inflight.get(key)
            if entry is None:
                if not claimed:
                    self.metrics.dedup_hits.inc()
                    return await self._poll_reply(key, msg, action, deadline)
                entry = self._start(key, msg, action)
            else:
                self.metrics.dedup_hits.inc()
        else:
            self.metrics.dedup_hits.inc()
        return await self._wait(key, entry, deadline)

    def _start(self, key: str, msg: Inbound, action: Action) -> _InFlight:
        task = _eager(self._run(msg, action))
        entry = _InFlight(task=task, user=msg.from_user)
        self._inflight[key] = entry
        if not task.done():  # done already: the caller's _wait decides at once
            task.add_done_callback(lambda _: self._decide(key, entry))
        return entry

    async def _wait(self, key: str, entry: _InFlight, deadline: float) -> str:
        task = entry.task
        loop = asyncio.get_running_loop()
        if task.done():
            if entry.decided or deadline <= loop.time():
                return self._decide(key, entry)  # past the deadline nobody waits: push it
            # This request carries the answer (the eager path finishes before any wait):
            # count it as a waiter so the answer is replied, not pushed.
            entry.waiters += 1
            try:
                return self._decide(key, entry)
            finally:
                entry.waiters -= 1
        if deadline <= loop.time():
            return ""
        # What asyncio.wait does, minus its generality: this is the hot path.
        waiter: asyncio.Future[None] = loop.create_future()

        def wake(_: object = None) -> None:
            if not waiter.done():
                waiter.set_result(None)

        timer = loop.call_at(deadline, wake)
        task.add_done_callback(wake)
        entry.waiters += 1
        try:
            await waiter
            # Decide while still counted as a waiter, so the answer is replied, not pushed.
            return self._decide(key, entry) if task.done() else ""
        finally:
            entry.waiters -= 1
            timer.cancel()
            task.remove_done_callback(wake)

    def _decide(self, key: str, entry: _InFlight) -> str:
        """Once per message: reply passively if a request is waiting, else push it."""
        if entry.decided:
            return entry.reply
        entry.decided = True
        text = "" if entry.task.cancelled() or entry.task.exception() else entry.task.result()
        pieces = split_text(text)
        if entry.waiters > 0:
            entry.reply = pieces[0] if pieces else ""
            to_push = pieces[1:]
        else:
            entry.reply = ""
            to_push = pieces
            if pieces:
                self.metrics.late_answers.inc()
        # Storing the reply is off the request path: one writer task drains a queue, so a burst
        # of messages costs one task, not one per message.
        self._finished.append((key, entry, to_push))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._store_replies())
        return entry.reply

    async def _store_replies(self) -> None:
        while self._finished:
            key, entry, to_push = self._finished.popleft()
            try:
                # The reply is kept only as long as WeChat retries (three tries about 5 s
                # apart); the small claim under dedup:<key> keeps guarding the message for the
                # full dedup TTL. Keeping every reply for minutes cost ~1.5 KB per message.
                await self.storage.set(f"reply:{key}", entry.reply, ttl=REPLY_KEEP)
            except Exception:
                log.exception("storing the reply for retries failed")
                self.metrics.errors.inc(kind="storage")
            finally:
                # Only now: until the reply is stored, retries must find the in-process entry.
                if self._inflight.get(key) is entry:
                    del self._inflight[key]
            if to_push:
                self._spawn(self._push_all(entry.user, to_push))

    async def _push_all(self, openid: str, pieces: list[str]) -> None:
        for piece in pieces:
            if await self._push(openid, piece) is not PushResult.SENT:
                break

    async def _push(self, openid: str, text: str) -> PushResult | None:
        if self.api is None:
            log.warning(
                "answer dropped: customer-service API not configured",
                extra={"user": hash_user(openid)},
            )
            self.metrics.pushes.inc(result="unconfigured")
            return None
        result = await self.api.push_text(openid, text)
        self.metrics.pushes.inc(result=result.value)
        return result

    async def _poll_reply(self, key: str, msg: Inbound, action: Action, deadline: float) -> str:
        """A retry handled by another worker: wait briefly for the reply it stores, or answer
        it here if that worker has died (its heartbeat key expired) before storing one."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                reply = await self.storage.get(f"reply:{key}")
                if isinstance(reply, str):
                    return reply
                record = await self.storage.get(f"dedup:{key}")
                claimed_at = record.get("at") if isinstance(record, dict) else None
                if isinstance(claimed_at, int) and time.time() - claimed_at > REPLY_KEEP:
                    return ""  # answered long ago and its reply has expired: just acknowledge
                owner = record.get("w") if isinstance(record, dict) else None
                if (
                    isinstance(owner, str)
                    and owner != self.worker_id
                    and await self.storage.get(f"worker:{owner}") is None
                    # One taker, however many workers the retries reach.
                    and await self.storage.add(
                        f"dedup:{key}:takeover", self.worker_id, ttl=self.settings.dedup_ttl
                    )
                ):
                    log.warning("answering a message whose worker died", extra={"dead": owner})
                    self.metrics.errors.inc(kind="takeover")
                    entry = self._inflight.get(key) or self._start(key, msg, action)
                    return await self._wait(key, entry, deadline)
            except Exception:
                log.exception("reading the stored reply failed")
                return ""
            if loop.time() + _POLL_INTERVAL > deadline:
                return ""
            await asyncio.sleep(_POLL_INTERVAL)

    async def _run(self, msg: Inbound, action: Action) -> str:
        """The bot's work for one message; errors become an apology, never an exception."""
        user = msg.from_user
        try:
            if action.kind is ActionKind.FORGET:
                await self.responder.forget(user)
                for prefix in USER_KEY_PREFIXES:
                    await self.storage.delete_prefix(f"{prefix}{user}")
                # Unsubscribed users cannot receive anything; RESET (menu) gets a confirmation.
                return menu.RESET_TEXT if msg.msg_type == "event" and msg.event == "click" else ""
            answer = await self.responder.respond(user, action.text, channel="wechat")
            self.metrics.intents.inc(intent=answer.intent, channel="wechat")
            return answer.text
        except Exception:
            log.exception("answering failed", extra={"user": hash_user(user)})
            self.metrics.errors.inc(kind="responder")
            return menu.BUSY_TEXT

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def start(self) -> None:
        """Begin the heartbeat that marks this worker alive in the shared store."""
        self._heartbeat = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        key = f"worker:{self.worker_id}"
        while True:
            try:
                await self.storage.set(key, int(time.time()), ttl=_HEARTBEAT_TTL)
            except Exception as exc:  # the store's own fallback logs outages
                log.debug("heartbeat failed", extra={"error": str(exc)})
            await asyncio.sleep(_HEARTBEAT_EVERY)

    async def close(self, timeout: float) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        """Let answers in progress finish (and be pushed) for up to ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            pending = {e.task for e in self._inflight.values()} | self._tasks
            if self._writer is not None:
                pending.add(self._writer)
            pending = {t for t in pending if not t.done()}
            remaining = end - loop.time()
            if not pending or remaining <= 0:
                break
            await asyncio.wait(pending, timeout=remaining)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("shutdown cancelled unfinished answers", extra={"count": len(pending)})
            await asyncio.gather(*pending, return_exceptions=True)


class _TooLarge(WeChatError):
    status = 413


def _eager(coro: Coroutine[Any, Any, str]) -> asyncio.Future[str]:
    """Run ``coro`` now, up to its first real suspension; a Task only if it suspends.

    Most answers need no I/O that suspends (the hot state is in memory), so a Task per message
    (creation, two loop callbacks, done callbacks) was pure overhead: ~15 µs of ~150. Python
    3.12's eager task factory does the same; this is it for 3.11.
    """
    loop = asyncio.get_running_loop()
    try:
        suspended = coro.send(None)
    except StopIteration as stop:
        done: asyncio.Future[str] = loop.create_future()
        done.set_result(stop.value)
        return done
    except Exception as exc:  # _run catches everything; this is belt and braces
        failed: asyncio.Future[str] = loop.create_future()
        failed.set_exception(exc)
        return failed
    return loop.create_task(_resume(coro, suspended))


async def _resume(coro: Coroutine[Any, Any, str], suspended: Any) -> str:
    """Finish a coroutine that ``_eager`` started, in a Task."""
    return await _Resumed(coro, suspended)


class _Resumed:
    """Awaitable that hands the future a started coroutine is waiting on to the running Task,
    then keeps driving the coroutine: ``yield from`` for a coroutine already past its start."""

    __slots__ = ("_coro", "_suspended")

    def __init__(self, coro: Coroutine[Any, Any, str], suspended: Any) -> None:
        self._coro = coro
        self._suspended = suspended

    def __await__(self) -> Generator[Any, None, str]:
        coro, pending = self._coro, self._suspended
        while True:
            try:
                yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # noqa: B036 - cancellation must reach the coroutine
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    result: str = stop.value
                    return result
            else:
                try:
                    pending = coro.send(None)
                except StopIteration as stop:
                    value: str = stop.value
                    return value


def _click_action(key: str) -> Action:
    """A menu key: canned questions go to the bot, RESET forgets, the rest shows help."""
    item = menu.item_for(key)
    if item is not None and item.question:
        return Action(ActionKind.ASK, item.question)
    if key == menu.KEY_RESET:
        return Action(ActionKind.FORGET)
    return Action(ActionKind.CLICK, key)


# -- chat page ------------------------------------------------------------------------------------


class ChatPage:
    """``GET /`` and ``POST /api/chat``: try the bot in a browser, without WeChat."""

    _FILES = {
        "index.html": "text/html",
        "chat.css": "text/css",
        "chat.js": "application/javascript",
    }

    def __init__(self, settings: Settings, responder: Responder, metrics: Metrics) -> None:
        self.settings = settings
        self.responder = responder
        self.metrics = metrics
        # Read once at start-up: no file I/O per request.
        web_dir = resources.files("bot") / "web"
        self._files = {name: (web_dir / name).read_bytes() for name in self._FILES}

    @property
    def enabled(self) -> bool:
        # In a public deployment the page is an open door to the bot unless a token guards it.
        return not self.settings.public or bool(self.settings.chat_token)

    def _authorised(self, request: web.Request) -> bool:
        if not self.settings.public:
            return True
        given = request.headers.get("X-Chat-Token") or request.query.get("token", "")
        return bool(self.settings.chat_token) and hmac.compare_digest(
            given.encode(), self.settings.chat_token.encode()
        )

    def _file(self, name: str) -> web.Response:
        return web.Response(
            body=self._files[name],
            content_type=self._FILES[name],
            charset="utf-8",
            headers=_SECURITY_HEADERS,
        )

    async def index(self, request: web.Request) -> web.Response:
        if not self.enabled:
            raise web.HTTPNotFound()
        return self._file("index.html")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if not self.enabled or name not in self._FILES:
            raise web.HTTPNotFound()
        return self._file(name)

    async def menu(self, request: web.Request) -> web.Response:
        if not self.enabled:
            raise web.HTTPNotFound()
        return web.json_response({"items": menu.quick_replies(), "welcome": menu.WELCOME_TEXT})

    async def chat(self, request: web.Request) -> web.Response:
        if not self.enabled:
            raise web.HTTPNotFound()
        if not self._authorised(request):
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = await request.json()
        except Exception:
            return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        user, text, key = data.get("user"), data.get("text"), data.get("key")
        if not isinstance(user, str) or not _WEB_USER.fullmatch(user):
            return web.json_response({"error": "user must be 8-64 of [A-Za-z0-9_-]"}, status=400)
        if key is not None:
            if not isinstance(key, str):
                return web.json_response({"error": "key must be a string"}, status=400)
            action = _click_action(key)
        elif isinstance(text, str) and text.strip() and len(text) <= _MAX_CHAT_CHARS:
            action = Action(ActionKind.ASK, text.strip())
        else:
            return web.json_response(
                {"error": f"text must be 1-{_MAX_CHAT_CHARS} characters"}, status=400
            )
        # A prefix keeps browser ids from ever colliding with WeChat openids.
        reply, intent = await self._answer(f"web:{user}", action)
        return web.json_response({"reply": reply, "intent": intent})

    async def _answer(self, user: str, action: Action) -> tuple[str, str]:
        try:
            if action.kind is ActionKind.FORGET:
                await self.responder.forget(user)
                return menu.RESET_TEXT, "reset"
            if action.kind is not ActionKind.ASK:
                return menu.HELP_TEXT, "greeting"
            answer = await asyncio.wait_for(
                self.responder.respond(user, action.text, channel="web"), _CHAT_TIMEOUT
            )
        except Exception:
            log.exception("chat answer failed", extra={"user": hash_user(user)})
            self.metrics.errors.inc(kind="responder")
            return menu.BUSY_TEXT, "error"
        self.metrics.intents.inc(intent=answer.intent, channel="web")
        return answer.text, answer.intent


# -- health, metrics, middleware ------------------------------------------------------------------


def settle_heap() -> None:
    """Put what start-up loaded (dictionaries, region data, the classifier: objects that live
    as long as the process) out of the cyclic collector's reach, once per process.

    Without this every full collection walks all of them: 40-110 ms pauses every few seconds
    under load, which were most of the p99. Called once warm, before serving (the supervisor
    of several workers also calls it before forking, so collections in the workers do not
    write to, and copy, the pages they share).
    """
    global _heap_settled_in
    if _heap_settled_in == os.getpid():
        return  # tests start many apps in one process; one collection is enough
    _heap_settled_in = os.getpid()
    gc.collect()
    gc.freeze()


_heap_settled_in = 0  # the process that did it: a forked worker settles its own heap again


async def _healthz(request: web.Request) -> web.Response:
    try:
        ok = await asyncio.wait_for(request.app[STORAGE_KEY].ping(), 2.0)
    except Exception:
        ok = False
    if not ok:
        return web.json_response({"status": "fail", "storage": "unavailable"}, status=503)
    return web.json_response({"status": "ok", "storage": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[METRICS_KEY].render(), content_type="text/plain; version=0.0.4"
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _observe(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request; turn unexpected errors into a response without a trace."""
    metrics = request.app[METRICS_KEY]
    started = time.perf_counter()
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception:
        log.exception("unhandled error", extra={"route": route})
        metrics.errors.inc(kind="unhandled")
        if route == "/wechat":
            # A 500 makes WeChat retry and show "该公众号暂时无法提供服务"; the error is logged.
            status = 200
            return _success()
        return web.json_response({"error": "internal error"}, status=500)
    finally:
        metrics.requests.inc(route=route, status=str(status))
        metrics.latency.observe(time.perf_counter() - started, route=route)


# -- assembly -------------------------------------------------------------------------------------


def create_app(
    settings: Settings,
    responder: Responder | None = None,
    storage: Storage | None = None,
) -> web.Application:
    """Build the app. Storage passed in is the caller's to close; one opened here closes here."""
    owns_storage = storage is None
    store = (
        open_app_storage(
            settings.storage_url,
            settings.redis_url,
            settings.workers,
            hot_keys_max=settings.hot_keys_max,
            conversation_cache=settings.conversation_cache,
        )
        if storage is None
        else storage
    )
    bot: Responder = responder if responder is not None else Pipeline(settings, store)
    api = (
        WeChatAPI(settings, store)
        if settings.wechat_app_id and settings.wechat_app_secret
        else None
    )
    metrics = Metrics()
    webhook = Webhook(settings, store, bot, api, metrics)
    chat = ChatPage(settings, bot, metrics)

    app = web.Application(client_max_size=settings.body_limit, middlewares=[_observe])
    app[SETTINGS_KEY] = settings
    app[STORAGE_KEY] = store
    app[METRICS_KEY] = metrics
    if api is not None:
        app[API_KEY] = api
    app.router.add_get("/wechat", webhook.verify)
    app.router.add_post("/wechat", webhook.receive)
    app.router.add_get("/", chat.index)
    app.router.add_get("/static/{name}", chat.static)
    app.router.add_get("/api/menu", chat.menu)
    app.router.add_post("/api/chat", chat.chat)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        if not settings.wechat_token:
            log.warning("WECHAT_TOKEN is empty: every /wechat request will be refused")
        try:
            if not await store.ping():
                log.error("storage does not answer; /healthz will report it")
        except Exception:
            log.exception("storage ping failed; /healthz will report it")
        # Loading dictionaries blocks for about a second: do it before the port serves.
        await asyncio.to_thread(bot.warmup)
        settle_heap()
        await webhook.start()
        yield
        await webhook.close(settings.shutdown_timeout)
        closer = getattr(bot, "close", None)
        if closer is not None:
            await closer()
        if api is not None:
            await api.close()
        if owns_storage:
            await store.close()

    app.cleanup_ctx.append(lifecycle)
    # After lifecycle: the scheduler starts once warm and stops before storage/API close.
    app.cleanup_ctx.append(reminder_context(settings, store, api, bot))
    # Group chats (WeCom robots, the bridge): routes only for configured channels; their late
    # answers finish before storage closes.
    channels.setup(app, settings, bot, store, metrics)
    return app
