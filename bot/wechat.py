"""The official-account (公众号) wire protocol: verify, decrypt, parse, render. Pure, no I/O.

Order matters for safety: the caller checks the URL signature and timestamp first, then the
body size, and only then hands the body to ``parse_xml``; in safe mode the envelope's
``msg_signature`` is checked before anything is decrypted. Every failure is a ``WeChatError``
carrying the HTTP status to answer with, so the web layer never leaks a traceback.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from xml.etree import ElementTree

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

__all__ = [
    "MAX_REPLY_BYTES",
    "Action",
    "ActionKind",
    "BadRequest",
    "BadSignature",
    "Crypto",
    "Inbound",
    "WeChatError",
    "cdata",
    "check_signature",
    "check_timestamp",
    "classify",
    "parse_message",
    "parse_xml",
    "render_text",
    "sanitize",
    "signature",
    "split_text",
    "truncate_utf8",
]

# Measured limit of a passive text reply (the docs are silent); 客服 text overflows near it too.
MAX_REPLY_BYTES = 2048
# Openids are 28 characters; anything much longer is not from WeChat.
_MAX_ID_CHARS = 128


class WeChatError(Exception):
    """A request we refuse; ``status`` is the HTTP status, ``reason`` a short log/metric tag."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadSignature(WeChatError):
    """Signature, timestamp or appid did not check out: not from our WeChat account."""

    status = 403


class BadRequest(WeChatError):
    """Signed but unusable: malformed XML, a DTD, a wrong root, missing fields."""

    status = 400


# -- signatures ---------------------------------------------------------------------------------


def signature(*parts: str) -> str:
    """sha1 of the sorted, concatenated parts (URL signature and ``msg_signature`` alike)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def check_signature(token: str, sig: str, timestamp: str, nonce: str) -> None:
    """Raise ``BadSignature`` unless ``sig`` is the URL signature of (token, timestamp, nonce)."""
    if not token or not sig or not timestamp or not nonce:
        raise BadSignature("missing signature")
    # compare_digest: a plain != leaks how many leading characters matched.
    if not hmac.compare_digest(signature(token, timestamp, nonce).encode(), sig.encode()):
        raise BadSignature("bad signature")


def check_timestamp(timestamp: str, now: float, window: float) -> None:
    """Refuse requests whose timestamp is more than ``window`` seconds from ``now``.

    The plain-mode signature does not cover the body, so without a window a captured URL could
    be replayed with any body for ever.
    """
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise BadSignature("bad timestamp")
    if abs(int(timestamp) - now) > window:
        raise BadSignature("stale timestamp")


# -- parsing ------------------------------------------------------------------------------------

# Any markup declaration (DOCTYPE, ENTITY, ELEMENT, comments…) except CDATA sections.
_DECLARATION = re.compile(r"<!(?!\[CDATA\[)")


def parse_xml(body: bytes | str) -> dict[str, str]:
    """Parse a flat ``<xml>…</xml>`` document into {child tag: text}, refusing any DTD.

    The body must be UTF-8 and is checked for declarations *as decoded text*, then that same
    text is parsed (a str makes expat read UTF-8 whatever the XML declaration claims), so no
    DTD, entity declaration or UTF-16 disguise can reach the parser: no entity expansion, no
    external entities. This is ElementTree's C parser, several times faster than xmltodict on
    the hot path. Nested elements keep only their own leading text (we read none of them);
    of repeated tags the first wins.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise BadRequest("body is not UTF-8") from exc
    if _DECLARATION.search(text):
        raise BadRequest("dtd refused")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise BadRequest("malformed xml") from exc
    if root.tag != "xml":
        raise BadRequest("root is not <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str):
            fields.setdefault(child.tag, child.text or "")
    if not fields:
        raise BadRequest("empty <xml>")
    return fields


def _text(fields: Mapping[str, str], name: str) -> str:
    return fields.get(name, "").strip()


@dataclass(frozen=True, slots=True)
class Inbound:
    """One decoded message or event. ``msg_type`` and ``event`` are lower-cased."""

    to_user: str
    from_user: str
    create_time: int
    msg_type: str
    msg_id: str = ""
    event: str = ""
    event_key: str = ""
    content: str = ""
    recognition: str = ""

    @property
    def dedup_key(self) -> str:
        """Retries of one message share this key: MsgId, or sender+time+event for events."""
        if self.msg_id and self.msg_id != "0":
            return f"m:{self.msg_id}"
        return f"e:{self.from_user}:{self.create_time}:{self.event or self.msg_type}"


def parse_message(body: bytes | str) -> Inbound:
    """Parse a plaintext message XML; raise ``BadRequest`` when it is not a usable message."""
    fields = parse_xml(body)
    to_user, from_user = _text(fields, "ToUserName"), _text(fields, "FromUserName")
    msg_type = _text(fields, "MsgType").lower()
    if not to_user or not from_user or not msg_type:
        raise BadRequest("missing ToUserName/FromUserName/MsgType")
    if len(to_user) > _MAX_ID_CHARS or len(from_user) > _MAX_ID_CHARS:
        raise BadRequest("id too long")
    created = _text(fields, "CreateTime")
    msg_id = _text(fields, "MsgId") or _text(fields, "MsgID")
    if msg_id and not (msg_id.isascii() and msg_id.isdigit() and len(msg_id) <= 32):
        raise BadRequest("bad MsgId")
    return Inbound(
        to_user=to_user,
        from_user=from_user,
        create_time=int(created) if created.isascii() and created.isdigit() else 0,
        msg_type=msg_type,
        msg_id=msg_id,
        event=_text(fields, "Event").lower(),
        event_key=_text(fields, "EventKey"),
        content=_text(fields, "Content"),
        recognition=_text(fields, "Recognition"),
    )


# -- routing ------------------------------------------------------------------------------------


class ActionKind(StrEnum):
    """What the webhook does with a message; the app maps each kind to a handler."""

    ASK = "ask"  # a question for the bot (text, recognised voice)
    CLICK = "click"  # a menu key
    WELCOME = "welcome"  # subscribe, QR scan
    FORGET = "forget"  # unsubscribe: delete the user's state
    PROMPT = "prompt"  # nothing to answer (unrecognised voice, empty text): ask to type
    UNSUPPORTED = "unsupported"  # image, location, link, video…: a polite note
    IGNORE = "ignore"  # events that expect no reply: answer "success"


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    text: str = ""  # the question for ASK, the menu key for CLICK


_IGNORE = Action(ActionKind.IGNORE)


def classify(msg: Inbound) -> Action:
    """Decide what to do with a message (pure; unknown events are ignored, not errors)."""
    if msg.msg_type == "text":
        return Action(ActionKind.ASK, msg.content) if msg.content else Action(ActionKind.PROMPT)
    if msg.msg_type == "voice":
        # Recognition is often empty and the platform plans to retire it.
        if msg.recognition:
            return Action(ActionKind.ASK, msg.recognition)
        return Action(ActionKind.PROMPT)
    if msg.msg_type != "event":
        return Action(ActionKind.UNSUPPORTED)
    if msg.event in ("subscribe", "scan"):
        return Action(ActionKind.WELCOME)
    if msg.event == "unsubscribe":
        return Action(ActionKind.FORGET)
    if msg.event == "click":
        return Action(ActionKind.CLICK, msg.event_key)
    return _IGNORE


# -- rendering ----------------------------------------------------------------------------------

# Characters XML 1.0 forbids (and lone surrogates, which cannot be encoded as UTF-8).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def sanitize(text: str) -> str:
    """Drop characters that would make the reply invalid XML or unencodable."""
    return _INVALID_XML.sub("", text)


def cdata(text: str) -> str:
    """Wrap in CDATA; a literal ``]]>`` is split across two sections so it cannot close it."""
    return "<![CDATA[" + sanitize(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render_text(to_user: str, from_user: str, content: str, create_time: int) -> str:
    """A passive text reply (callers pass a ``content`` already within ``MAX_REPLY_BYTES``)."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content></xml>"
    )


def truncate_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits in ``limit`` bytes."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    # errors="ignore" drops the partial multi-byte character left at the cut.
    return encoded[:limit].decode("utf-8", errors="ignore")


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;\n])")


def split_text(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    """Split into pieces of at most ``limit`` UTF-8 bytes, preferring sentence boundaries."""
    text = sanitize(text).strip()
    if len(text.encode("utf-8")) <= limit:
        return [text] if text else []
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        while len(sentence.encode("utf-8")) > limit:  # one sentence alone is too long
            if current:
                pieces.append(current)
                current = ""
            head = truncate_utf8(sentence, limit)
            pieces.append(head)
            sentence = sentence[len(head) :]
        if len((current + sentence).encode("utf-8")) > limit:
            pieces.append(current)
            current = sentence
        else:
            current += sentence
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


# -- safe mode ----------------------------------------------------------------------------------


def decode_aes_key(encoding_aes_key: str, name: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey (WeChat and WeCom alike); a bad
    key fails at start-up with the setting's ``name`` instead of on the first message."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{name} is not valid base64") from exc
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ValueError(f"{name} must be 43 characters (32 bytes)")
    return key


class Crypto:
    """AES safe-mode codec for one account, built on wechatpy's ``PrpCrypto``."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        key = decode_aes_key(encoding_aes_key, "WECHAT_ENCODING_AES_KEY")
        if not app_id:
            raise ValueError("WECHAT_APP_ID is required with WECHAT_ENCODING_AES_KEY")
        self._token = token
        self._key = key
        self._app_id = app_id
        self._encrypter = WeChatCrypto(token, encoding_aes_key, app_id)

    def decrypt(
        self, envelope: Mapping[str, str], msg_signature: str, timestamp: str, nonce: str
    ) -> str:
        """Check ``msg_signature`` over the envelope's Encrypt, then decrypt to plaintext XML."""
        encrypted = envelope.get("Encrypt", "").strip()
        if not encrypted:
            raise BadRequest("no Encrypt element")
        expected = signature(self._token, timestamp, nonce, encrypted)
        if not msg_signature or not hmac.compare_digest(expected.encode(), msg_signature.encode()):
            raise BadSignature("bad msg_signature")
        try:
            # wechatpy's decrypt does not validate padding: a wrong key surfaces as
            # UnicodeDecodeError, struct.error, IndexError… so anything it raises is "undecryptable".
            plaintext = PrpCrypto(self._key).decrypt(encrypted, self._app_id)
        except InvalidAppIdException as exc:
            raise BadSignature("appid mismatch") from exc
        except Exception as exc:
            raise BadRequest("cannot decrypt") from exc
        if not isinstance(plaintext, str):
            raise BadRequest("cannot decrypt")
        return plaintext

    def encrypt(self, xml: str, nonce: str, timestamp: str) -> str:
        """The encrypted reply envelope (``Encrypt``, ``MsgSignature``, ``TimeStamp``, ``Nonce``)."""
        return str(self._encrypter.encrypt_message(xml, nonce, timestamp))
