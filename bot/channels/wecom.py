"""The WeCom (企业微信) robot wire formats: callback crypto, parsing, reply rendering. No I/O.

Both robots sign and AES-encrypt like WeCom apps (``wechatpy.work.crypto``): ``msg_signature``
= sha1 of the sorted token, timestamp, nonce and ciphertext; the plaintext ends with a
ReceiveId, which is "" for AI bots (doc 101033) and, for group robots, whatever their console
uses (configurable, "" by default). The group robot speaks XML (doc 99399); the AI bot speaks
JSON, ``{"encrypt": …}`` in and ``{"encrypt", "msgsignature", "timestamp", "nonce"}`` out.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from wechatpy.work.crypto import PrpCrypto, WeChatCrypto
from wechatpy.work.exceptions import InvalidCorpIdException

from bot.wechat import BadRequest, BadSignature, cdata, decode_aes_key, signature, truncate_utf8

__all__ = [
    "AIBotMessage",
    "RobotMessage",
    "WeComCrypto",
    "parse_aibot_message",
    "parse_robot_message",
    "render_robot_text",
    "stream_reply",
]

MAX_TEXT_BYTES = 2048  # a WeCom robot text message
_MAX_ID_CHARS = 128
_DECLARATION = re.compile(r"<!(?!\[CDATA\[)")  # DTDs, entities: never reach the parser


class WeComCrypto:
    """One robot's callback codec: verify, decrypt, encrypt (XML or JSON envelope)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        key = decode_aes_key(encoding_aes_key, "WeCom EncodingAESKey")
        if not token:
            raise ValueError("WeCom callback token is empty")
        self._token = token
        self._key = key
        self._receive_id = receive_id
        self._crypto = WeChatCrypto(token, encoding_aes_key, receive_id)

    def _check(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        # Our own constant-time check first: wechatpy compares with "!=", which leaks timing.
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not msg_signature or not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise BadSignature("bad msg_signature")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The decrypted ``echostr`` of a URL verification (GET)."""
        if not echostr or len(echostr) > 1024:
            raise BadRequest("bad echostr")
        self._check(msg_signature, timestamp, nonce, echostr)
        return self._plaintext(
            lambda: self._crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        )

    def decrypt(self, encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Check ``msg_signature`` over ``encrypted``, then decrypt it."""
        if not encrypted:
            raise BadRequest("nothing encrypted")
        self._check(msg_signature, timestamp, nonce, encrypted)
        return self._plaintext(
            lambda: self._crypto.decrypt_message(
                {"Encrypt": encrypted}, msg_signature, timestamp, nonce
            )
        )

    @staticmethod
    def _plaintext(decrypt: Any) -> str:
        try:
            plaintext = decrypt()
        except InvalidCorpIdException as exc:
            raise BadSignature("receive id mismatch") from exc
        except Exception as exc:
            # Padding is not validated: a wrong key surfaces as UnicodeDecodeError, struct.error…
            raise BadRequest("cannot decrypt") from exc
        if not isinstance(plaintext, str):
            raise BadRequest("cannot decrypt")
        return plaintext

    def encrypt_xml(self, xml: str, nonce: str, timestamp: str) -> str:
        """The group robot's passive reply: ``<xml><Encrypt/><MsgSignature/>…</xml>``."""
        return str(self._crypto.encrypt_message(xml, nonce, timestamp))

    def encrypt_json(self, plaintext: str, nonce: str, timestamp: str) -> dict[str, str]:
        """The AI bot's passive reply envelope."""
        encrypted = PrpCrypto(self._key).encrypt(plaintext, self._receive_id)
        text = encrypted.decode("ascii") if isinstance(encrypted, bytes) else str(encrypted)
        return {
            "encrypt": text,
            "msgsignature": signature(self._token, timestamp, nonce, text),
            "timestamp": timestamp,
            "nonce": nonce,
        }


# -- group robot (XML) ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RobotMessage:
    """A decrypted group-robot callback (doc 99399)."""

    msg_id: str
    msg_type: str  # text, mixed, image, event, attachment…
    chat_id: str
    chat_type: str  # group, single
    user_id: str
    user_name: str
    text: str
    webhook_url: str = ""
    event: str = ""


def _tree(text: str) -> ElementTree.Element:
    if _DECLARATION.search(text):
        raise BadRequest("dtd refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise BadRequest("malformed xml") from exc
    if root.tag != "xml":
        raise BadRequest("root is not <xml>")
    return root


def _find(node: ElementTree.Element, path: str) -> str:
    found = node.find(path)
    return (found.text or "").strip() if found is not None else ""


def parse_robot_message(plaintext: str) -> RobotMessage:
    root = _tree(plaintext)
    msg_type = _find(root, "MsgType").lower()
    user_id = _find(root, "From/UserId")
    if not msg_type or not user_id:
        raise BadRequest("missing MsgType or From/UserId")
    if len(user_id) > _MAX_ID_CHARS or len(_find(root, "ChatId")) > _MAX_ID_CHARS:
        raise BadRequest("id too long")
    if msg_type == "text":
        text = _find(root, "Text/Content")
    elif msg_type == "mixed":
        # Text and images in one message: the text items are the question.
        text = " ".join(
            _find(item, "Text/Content")
            for item in root.iterfind("MixedMessage/MsgItem")
            if _find(item, "MsgType").lower() == "text"
        ).strip()
    else:
        text = ""
    return RobotMessage(
        msg_id=_find(root, "MsgId"),
        msg_type=msg_type,
        chat_id=_find(root, "ChatId"),
        chat_type=_find(root, "ChatType").lower() or "group",
        user_id=user_id,
        user_name=_find(root, "From/Name"),
        text=text,
        webhook_url=_find(root, "WebhookUrl"),
        event=_find(root, "Event/EventType").lower(),
    )


def render_robot_text(content: str, mention: tuple[str, ...] = ()) -> str:
    """A passive text reply; ``mention`` user ids are @-ed (``MentionedList``, as the webhook)."""
    items = "".join(f"<Item>{cdata(user)}</Item>" for user in mention)
    mentioned = f"<MentionedList>{items}</MentionedList>" if mention else ""
    body = cdata(truncate_utf8(content, MAX_TEXT_BYTES))
    return f"<xml><MsgType>text</MsgType><Text><Content>{body}</Content>{mentioned}</Text></xml>"


# -- AI bot (JSON) -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AIBotMessage:
    """A decrypted AI-bot callback (doc 100719)."""

    msg_id: str
    msg_type: str  # text, mixed, image, voice, file, stream (a refresh), event
    chat_id: str
    chat_type: str  # group, single
    user_id: str
    text: str
    stream_id: str = ""  # for msg_type "stream"
    event: str = ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_aibot_message(plaintext: str) -> AIBotMessage:
    try:
        data = json.loads(plaintext)
    except ValueError as exc:
        raise BadRequest("malformed json") from exc
    if not isinstance(data, dict):
        raise BadRequest("json is not an object")
    msg_type = _str(data.get("msgtype")).lower()
    user_id = _str(_dict(data.get("from")).get("userid"))
    chat_id = _str(data.get("chatid"))
    if not msg_type:
        raise BadRequest("missing msgtype")
    if len(user_id) > _MAX_ID_CHARS or len(chat_id) > _MAX_ID_CHARS:
        raise BadRequest("id too long")
    if msg_type == "text":
        text = _str(_dict(data.get("text")).get("content"))
    elif msg_type == "mixed":
        items = _dict(data.get("mixed")).get("msg_item")
        text = " ".join(
            _str(_dict(item.get("text")).get("content"))
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and _str(item.get("msgtype")) == "text"
        ).strip()
    else:
        text = ""
    return AIBotMessage(
        msg_id=_str(data.get("msgid")),
        msg_type=msg_type,
        chat_id=chat_id,
        chat_type=_str(data.get("chattype")).lower() or "single",
        user_id=user_id,
        text=text,
        stream_id=_str(_dict(data.get("stream")).get("id")),
        event=_str(_dict(data.get("event")).get("eventtype")).lower(),
    )


def stream_reply(stream_id: str, content: str, finish: bool) -> dict[str, Any]:
    """The AI bot's answer to a message (doc 101031): one stream, finished at once if ready."""
    return {
        "msgtype": "stream",
        "stream": {"id": stream_id, "finish": finish, "content": content},
    }
