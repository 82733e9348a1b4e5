"""Fake WeCom peers on 127.0.0.1: the robot webhook server, and the callback side of both robots.

``FakeWeComWebhook`` is ``qyapi.weixin.qq.com/cgi-bin/webhook/send`` as far as the bot can tell:
known keys only (93000 otherwise), text/markdown payloads checked, 20 messages per minute per
robot over any 60 s (the 21st gets 45009), scripted errors via ``fail_next``.

``WeComPeer`` plays WeCom calling our callbacks: it signs and encrypts with
``wechatpy.work.crypto.WeChatCrypto`` exactly as the platform does (ReceiveId "" for the AI
bot) and checks and decrypts our replies the same way.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import xmltodict
from aiohttp import web
from wechatpy.work.crypto import WeChatCrypto

from bot.wechat import signature

ROBOT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
AIBOT_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


@dataclass
class FakeWeComWebhook:
    keys: set[str] = field(default_factory=lambda: {ROBOT_KEY})
    per_minute: int = 20
    base_url: str = ""
    calls: list[dict[str, Any]] = field(default_factory=list)  # every request, with its answer
    _sent: dict[str, deque[float]] = field(default_factory=dict)
    _scripted: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/cgi-bin/webhook/"
        return self.base_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, errcode: int, errmsg: str = "scripted", times: int = 1) -> None:
        self._scripted.extend([{"errcode": errcode, "errmsg": errmsg}] * times)

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Payloads WeCom accepted, in order."""
        return [c["body"] for c in self.calls if c["answer"]["errcode"] == 0]

    async def _send(self, request: web.Request) -> web.Response:
        key = request.query.get("key", "")
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        answer = self._judge(key, body)
        self.calls.append({"key": key, "body": body, "answer": answer})
        return web.json_response(answer)

    def _judge(self, key: str, body: Any) -> dict[str, Any]:
        if key not in self.keys:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        if self._scripted:
            return self._scripted.pop(0)
        if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
            return {"errcode": 40008, "errmsg": "invalid message type"}
        content = (body.get(body["msgtype"]) or {}).get("content")
        limit = 2048 if body["msgtype"] == "text" else 4096
        if not isinstance(content, str) or not content:
            return {"errcode": 44004, "errmsg": "empty content"}
        if len(content.encode("utf-8")) > limit:
            return {"errcode": 40058, "errmsg": "content exceed max length"}
        mentioned = body[body["msgtype"]].get("mentioned_list", [])
        if not isinstance(mentioned, list) or not all(isinstance(u, str) for u in mentioned):
            return {"errcode": 40058, "errmsg": "invalid mentioned_list"}
        now = time.monotonic()
        sent = self._sent.setdefault(key, deque())
        while sent and now - sent[0] >= 60:
            sent.popleft()
        if len(sent) >= self.per_minute:
            return {"errcode": 45009, "errmsg": "api freq out of limit"}
        sent.append(now)
        return {"errcode": 0, "errmsg": "ok"}


@dataclass
class WeComPeer:
    """WeCom's side of one robot's callback: signed, encrypted requests; checked replies."""

    token: str
    aes_key: str
    receive_id: str = ""

    @property
    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.token, self.aes_key, self.receive_id)

    def _query(self, encrypted: str, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(secrets.randbelow(10**9))
        return {
            "msg_signature": signature(self.token, ts, nonce, encrypted),
            "timestamp": ts,
            "nonce": nonce,
        }

    def verification(self, echo: str = "1616140317555161061") -> dict[str, str]:
        """The GET query of URL verification; the bot must answer ``echo``."""
        envelope = xmltodict.parse(self.crypto.encrypt_message(echo, "1", "1"))["xml"]
        query = self._query(envelope["Encrypt"])
        query["echostr"] = envelope["Encrypt"]
        return query

    def encrypt(self, plaintext: str, timestamp: int | None = None) -> tuple[dict[str, str], str]:
        envelope = xmltodict.parse(self.crypto.encrypt_message(plaintext, "1", "1"))["xml"]
        return self._query(envelope["Encrypt"], timestamp), envelope["Encrypt"]

    # -- group robot (XML) --------------------------------------------------------------------

    def robot_request(
        self, plaintext: str, timestamp: int | None = None
    ) -> tuple[dict[str, str], str]:
        query, encrypted = self.encrypt(plaintext, timestamp)
        return query, f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"

    def robot_reply(self, body: str) -> dict[str, Any]:
        """Check the MsgSignature of our passive reply and decrypt it to a dict."""
        envelope = xmltodict.parse(body)["xml"]
        plaintext = self.crypto.decrypt_message(
            envelope, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
        parsed: dict[str, Any] = xmltodict.parse(plaintext)["xml"]
        return parsed

    # -- AI bot (JSON) ------------------------------------------------------------------------

    def aibot_request(
        self, message: dict[str, Any], timestamp: int | None = None
    ) -> tuple[dict[str, str], str]:
        query, encrypted = self.encrypt(json.dumps(message, ensure_ascii=False), timestamp)
        return query, json.dumps({"encrypt": encrypted})

    def aibot_reply(self, body: str) -> dict[str, Any]:
        """Check the msgsignature of our JSON reply and decrypt it, as WeCom does."""
        envelope = json.loads(body)
        assert set(envelope) == {"encrypt", "msgsignature", "timestamp", "nonce"}
        plaintext = self.crypto.decrypt_message(
            {"Encrypt": envelope["encrypt"]},
            envelope["msgsignature"],
            envelope["timestamp"],
            envelope["nonce"],
        )
        parsed: dict[str, Any] = json.loads(plaintext)
        return parsed


def robot_text(
    content: str,
    *,
    user: str = "zhangsan",
    name: str = "张三",
    chat_id: str = "wrkSFfCgAALFgnrSsWU38puiv4yvExuw",
    chat_type: str = "group",
    msg_id: str | None = None,
    webhook_url: str = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}",
    msg_type: str = "text",
) -> str:
    """A group-robot callback as doc 99399 shows it."""
    body = (
        f"<Text><Content><![CDATA[{content}]]></Content></Text>"
        if msg_type == "text"
        else "<Image><ImageUrl><![CDATA[https://p.qpic.cn/x/0]]></ImageUrl></Image>"
    )
    return (
        "<xml>"
        f"<WebhookUrl><![CDATA[{webhook_url}]]></WebhookUrl>"
        f"<ChatId><![CDATA[{chat_id}]]></ChatId>"
        f"<ChatType>{chat_type}</ChatType>"
        f"<From><UserId>{user}</UserId><Name><![CDATA[{name}]]></Name>"
        f"<Alias><![CDATA[{user}]]></Alias></From>"
        f"<MsgType>{msg_type}</MsgType>{body}"
        f"<MsgId>{msg_id or secrets.token_hex(8)}</MsgId>"
        "</xml>"
    )


def aibot_text(
    content: str,
    *,
    user: str = "zhangsan",
    chat_id: str = "wrkSFfCgAAskBzQgm",
    chat_type: str = "group",
    msg_id: str | None = None,
) -> dict[str, Any]:
    """An AI-bot text callback as doc 100719 shows it."""
    message: dict[str, Any] = {
        "msgid": msg_id or secrets.token_hex(12),
        "aibotid": "AIBOTID",
        "chattype": chat_type,
        "from": {"userid": user},
        "response_url": "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=x",
        "msgtype": "text",
        "text": {"content": content},
    }
    if chat_type == "group":
        message["chatid"] = chat_id
    return message
