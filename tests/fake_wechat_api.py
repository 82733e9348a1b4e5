"""A fake WeChat server API on 127.0.0.1 that speaks the wire format, error codes included.

It records every call so tests can assert what the bot sent. Supported endpoints:
``POST stable_token`` (and ``GET token``), ``POST message/custom/send``, ``POST menu/create``,
the reminder pushes ``POST message/template/send`` and ``POST message/subscribe/bizsend``, and
a WeCom group-robot webhook ``POST webhook/send?key=…`` on the same server.
Behaviour mirrors the real platform where the bot depends on it: tokens are per appid/secret,
``force_refresh`` issues a new one, unknown tokens get 40001, a text over 2048 bytes gets 45002,
more than ``cs_quota`` customer-service messages per user get 45047. ``fail_next`` scripts
errors; ``delay`` slows every answer down (to prove the client does not block the loop).

Reminder pushes: unknown template ids get 40037, a ``thing`` value over 20 characters 47003,
users in ``unfollowed`` 43004, users in ``out_of_window`` 45015 (客服), a ``bizsend`` without a
grant in ``subscribe_grants`` (when that is not None) 43101, a webhook key over
``webhook_per_minute`` 45009. ``hold_after(n)``: after n more delivered pushes, further pushes
hang unanswered (and undelivered) until ``release()`` — a request in flight when its sender is
killed. ``pushes`` lists the delivered ones with their time.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.crypto import WeChatCrypto

from bot.wechat import signature


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float = 0.0  # time.time() when the request arrived


@dataclass
class Push:
    """A reminder push the fake accepted (delivered)."""

    path: str
    to: str  # openid, or the webhook key for a group
    body: dict[str, Any]
    at: float


PUSH_PATHS = ("message/custom/send", "message/template/send", "message/subscribe/bizsend",
              "webhook/send")  # fmt: skip


@dataclass
class FakeWeChatAPI:
    app_id: str = "wx1234567890abcdef"
    secret: str = "app-secret"
    cs_quota: int = 5
    delay: float = 0.0
    calls: list[Call] = field(default_factory=list)
    token_fetches: int = 0
    base_url: str = ""
    _valid_tokens: set[str] = field(default_factory=set)
    _current: str = ""
    _scripted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _sent_per_user: dict[str, int] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    # Reminder pushes (see the module docstring).
    templates: set[str] = field(default_factory=lambda: {"TPL-REMIND", "SUB-REMIND"})
    unfollowed: set[str] = field(default_factory=set)
    out_of_window: set[str] = field(default_factory=set)
    subscribe_grants: dict[str, int] | None = None
    webhook_keys: set[str] = field(default_factory=lambda: {"ROBOT-KEY"})
    webhook_per_minute: int = 20
    pushes: list[Push] = field(default_factory=list)
    _hold_at: int | None = None
    _released: asyncio.Event = field(default_factory=asyncio.Event)
    _webhook_times: dict[str, list[float]] = field(default_factory=dict)

    # -- control ------------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._stable_token)
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/menu/create", self._menu_create)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_post("/cgi-bin/message/subscribe/bizsend", self._template_send)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook_send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/cgi-bin/"
        return self.base_url

    async def close(self) -> None:
        self._released.set()  # let held requests finish so the runner can shut down
        if self._runner is not None:
            await self._runner.cleanup()

    def hold_after(self, n: int) -> None:
        """Deliver ``n`` more pushes, then leave further pushes hanging, undelivered."""
        self._hold_at = len(self.pushes) + n
        self._released.clear()

    def release(self) -> None:
        self._hold_at = None
        self._released.set()

    @property
    def webhook_url(self) -> str:
        return self.base_url + "webhook/send?key=ROBOT-KEY"

    def fail_next(self, path: str, errcode: int, errmsg: str = "scripted", times: int = 1) -> None:
        """The next ``times`` calls to ``path`` (e.g. "message/custom/send") answer ``errcode``."""
        self._scripted.setdefault(path, []).extend(
            [{"errcode": errcode, "errmsg": errmsg}] * times
        )

    def revoke_tokens(self) -> None:
        """Every token issued so far becomes invalid (as after a refresh elsewhere)."""
        self._valid_tokens.clear()
        self._current = ""

    def calls_to(self, path: str) -> list[Call]:
        return [c for c in self.calls if c.path == path]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Bodies of successful customer-service messages, in order."""
        return [c.body for c in self.calls_to("message/custom/send") if c.body.get("_ok")]

    # -- handlers -----------------------------------------------------------------------------

    async def _record(self, request: web.Request, path: str) -> Call:
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = {"_invalid_json": raw.decode("utf-8", "replace")}
        call = Call(request.method, path, dict(request.query), body, time.time())
        self.calls.append(call)
        return call

    def _scripted_error(self, path: str) -> dict[str, Any] | None:
        queue = self._scripted.get(path)
        return queue.pop(0) if queue else None

    def _issue(self) -> dict[str, Any]:
        self.token_fetches += 1
        self._current = f"TOKEN-{self.token_fetches}"
        self._valid_tokens.add(self._current)
        return {"access_token": self._current, "expires_in": 7200}

    def _check_credentials(self, appid: Any, secret: Any) -> dict[str, Any] | None:
        if appid != self.app_id:
            return {"errcode": 40013, "errmsg": "invalid appid"}
        if secret != self.secret:
            return {"errcode": 40125, "errmsg": "invalid appsecret"}
        return None

    async def _stable_token(self, request: web.Request) -> web.Response:
        call = await self._record(request, "stable_token")
        body = call.body if isinstance(call.body, dict) else {}
        error = self._scripted_error("stable_token") or self._check_credentials(
            body.get("appid"), body.get("secret")
        )
        if error:
            return web.json_response(error)
        if body.get("force_refresh") or not self._current:
            return web.json_response(self._issue())
        return web.json_response({"access_token": self._current, "expires_in": 7200})

    async def _token(self, request: web.Request) -> web.Response:
        await self._record(request, "token")
        error = self._scripted_error("token") or self._check_credentials(
            request.query.get("appid"), request.query.get("secret")
        )
        return web.json_response(error or self._issue())

    def _check_token(self, request: web.Request) -> dict[str, Any] | None:
        if request.query.get("access_token") not in self._valid_tokens:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
        return None

    async def _custom_send(self, request: web.Request) -> web.Response:
        path = "message/custom/send"
        call = await self._record(request, path)
        error = self._scripted_error(path) or self._check_token(request)
        if error:
            return web.json_response(error)
        body = call.body if isinstance(call.body, dict) else {}
        user = body.get("touser")
        content = (body.get("text") or {}).get("content", "")
        if not user or body.get("msgtype") != "text" or not content:
            return web.json_response({"errcode": 44002, "errmsg": "empty post data"})
        if len(content.encode("utf-8")) > 2048:
            return web.json_response({"errcode": 45002, "errmsg": "content size out of limit"})
        if user in self.unfollowed:
            return web.json_response({"errcode": 43004, "errmsg": "require subscribe"})
        if user in self.out_of_window:
            return web.json_response({"errcode": 45015, "errmsg": "response out of time limit"})
        if self._sent_per_user.get(user, 0) >= self.cs_quota:
            return web.json_response({"errcode": 45047, "errmsg": "out of response count limit"})
        if not await self._deliverable():
            return web.json_response({"errcode": -1, "errmsg": "system busy"})
        self._sent_per_user[user] = self._sent_per_user.get(user, 0) + 1
        body["_ok"] = True
        self.pushes.append(Push(path, user, body, time.time()))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _deliverable(self) -> bool:
        """False after a hold: the request hangs until released and is then refused."""
        if self._hold_at is None or len(self.pushes) < self._hold_at:
            return True
        await self._released.wait()
        return False

    async def _template_send(self, request: web.Request) -> web.Response:
        path = request.path.removeprefix("/cgi-bin/")
        call = await self._record(request, path)
        error = self._scripted_error(path) or self._check_token(request)
        if error:
            return web.json_response(error)
        body = call.body if isinstance(call.body, dict) else {}
        user, data = body.get("touser"), body.get("data")
        if not user or not isinstance(data, dict):
            return web.json_response({"errcode": 44002, "errmsg": "empty post data"})
        if body.get("template_id") not in self.templates:
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        for name, value in data.items():
            text = value.get("value") if isinstance(value, dict) else None
            if not isinstance(text, str) or (name.startswith("thing") and len(text) > 20):
                return web.json_response({"errcode": 47003, "errmsg": "argument invalid"})
        if user in self.unfollowed:
            return web.json_response({"errcode": 43004, "errmsg": "require subscribe"})
        if path.endswith("bizsend") and self.subscribe_grants is not None:
            if self.subscribe_grants.get(user, 0) <= 0:
                return web.json_response({"errcode": 43101, "errmsg": "user refuse to accept"})
            self.subscribe_grants[user] -= 1
        if not await self._deliverable():
            return web.json_response({"errcode": -1, "errmsg": "system busy"})
        self.pushes.append(Push(path, user, body, time.time()))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(self.pushes)})

    async def _webhook_send(self, request: web.Request) -> web.Response:
        path = "webhook/send"
        call = await self._record(request, path)
        error = self._scripted_error(path)
        if error:
            return web.json_response(error)
        key = request.query.get("key", "")
        if key not in self.webhook_keys:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = call.body if isinstance(call.body, dict) else {}
        content = (body.get("text") or {}).get("content", "")
        if body.get("msgtype") != "text" or not content:
            return web.json_response({"errcode": 40008, "errmsg": "invalid message type"})
        now = time.time()
        recent = [t for t in self._webhook_times.get(key, []) if now - t < 60]
        if len(recent) >= self.webhook_per_minute:
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        if not await self._deliverable():
            return web.json_response({"errcode": -1, "errmsg": "system busy"})
        self._webhook_times[key] = [*recent, now]
        self.pushes.append(Push(path, key, body, now))
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _menu_create(self, request: web.Request) -> web.Response:
        path = "menu/create"
        call = await self._record(request, path)
        error = self._scripted_error(path) or self._check_token(request)
        if error:
            return web.json_response(error)
        if not isinstance(call.body, dict) or not call.body.get("button"):
            return web.json_response({"errcode": 40016, "errmsg": "invalid button size"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})


# -- the other direction: WeChat calling our webhook ---------------------------------------------

TEST_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 chars, as in the console
OTHER_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
OFFICIAL_ID = "gh_0123456789ab"


def xml_message(fields: dict[str, Any]) -> str:
    """A callback body as WeChat writes it (strings in CDATA, numbers bare)."""
    parts = []
    for name, value in fields.items():
        if isinstance(value, int):
            parts.append(f"<{name}>{value}</{name}>")
        else:
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


@dataclass
class WeChatSender:
    """Builds signed (optionally AES-encrypted) callback requests with wechatpy's crypto."""

    token: str = "test-token"
    app_id: str = "wx1234567890abcdef"
    aes_key: str = ""
    openid: str = OPENID
    # Random start: MsgIds must not repeat across senders talking to one long-lived server.
    _counter: int = field(default_factory=lambda: random.randrange(10**12) * 1000)

    def next_id(self) -> int:
        self._counter += 1
        return 24_000_000_000_000_000 + self._counter

    def fields(self, msg_type: str, **extra: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "ToUserName": OFFICIAL_ID,
            "FromUserName": self.openid,
            "CreateTime": int(time.time()),
            "MsgType": msg_type,
        }
        base.update(extra)
        return base

    def text(self, content: str, msg_id: int | None = None) -> str:
        return xml_message(
            self.fields("text", Content=content, MsgId=msg_id if msg_id else self.next_id())
        )

    def event(self, event: str, create_time: int | str | None = None, **extra: Any) -> str:
        fields = self.fields("event", Event=event, **extra)
        if create_time is not None:
            fields["CreateTime"] = int(create_time)
        return xml_message(fields)

    def query(
        self, timestamp: int | None = None, nonce: str = "1514711492", token: str | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "signature": signature(token or self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": self.openid,
        }

    def encrypt(
        self,
        plaintext: str,
        aes_key: str | None = None,
        app_id: str | None = None,
        timestamp: int | None = None,
        compatible: bool = False,
    ) -> tuple[dict[str, str], str]:
        """(query, body) in safe mode; ``compatible`` keeps the plaintext fields as well."""
        query = self.query(timestamp)
        crypto = WeChatCrypto(self.token, aes_key or self.aes_key, app_id or self.app_id)
        envelope = xmltodict.parse(
            crypto.encrypt_message(plaintext, query["nonce"], query["timestamp"])
        )["xml"]
        query.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        if compatible:
            inner = xmltodict.parse(plaintext)["xml"]
            body = xml_message({**inner, "Encrypt": envelope["Encrypt"]})
        else:
            body = xml_message({"ToUserName": OFFICIAL_ID, "Encrypt": envelope["Encrypt"]})
        return query, body

    def decrypt_reply(self, reply_xml: str) -> dict[str, Any]:
        """Check the reply's MsgSignature and decrypt it, as WeChat does."""
        envelope = xmltodict.parse(reply_xml)["xml"]
        crypto = WeChatCrypto(self.token, self.aes_key, self.app_id)
        plaintext = crypto.decrypt_message(
            envelope, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
        fields: dict[str, Any] = xmltodict.parse(plaintext)["xml"]
        return fields
