"""Where a reminder goes: official-account messages, a WeCom group robot, a chat bridge.

A user key says what kind of chat it is (:func:`parse_target`); each :class:`Channel` accepts
some kinds and either delivers or raises :class:`DeliveryError` with WeChat's errcode, which
the scheduler maps to a path (stop, back off, next channel, alert). Official-account users get
the channels of ``REMINDER_CHANNELS`` in order: 客服 text (only inside the 48-hour window),
订阅通知 ``bizsend`` and 模板消息, each of the last two only once its template id is set.

Group chats are the group-chat module's (``bot/channels/``); this file needs only
:class:`GroupSender` from it, and ships a minimal webhook sender until that one is plugged in.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, urlsplit

import aiohttp

from bot.http import LazySession
from bot.logs import hash_user
from bot.reminders.config import ReminderSettings
from bot.storage.base import Storage
from bot.wechat_api import WeChatAPI, WeChatAPIError

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "BridgeSender",
    "Channel",
    "Channels",
    "DeliveryError",
    "GroupSender",
    "Message",
    "HttpBridgeSender",
    "NoBridge",
    "Routes",
    "Target",
    "TargetKind",
    "WeComWebhookSender",
    "build_channels",
    "channels_from_settings",
    "group_webhook_key",
    "has_route",
    "parse_target",
    "robot_key",
]

log = logging.getLogger(__name__)

NO_ROUTE = -2  # our own code: nowhere to send (no webhook for a group, no push for the web)
# 订阅通知/模板 "thing" values: at most 20 characters, or WeChat answers 47003.
THING_MAX = 20


class DeliveryError(Exception):
    """A channel did not deliver; ``code`` is WeChat's errcode (-1 transport, -2 no route)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class TargetKind(StrEnum):
    OFFICIAL = "official"  # an official-account follower: the key is the openid
    GROUP = "group"  # a WeCom group, reached through its robot webhook
    BRIDGE = "bridge"  # a chat behind the personal-account bridge
    NONE = "none"  # the local chat page, WeCom 1:1 chats: nothing can be pushed there


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    address: str  # openid, group chat id or bridge room/sender
    member: str = ""  # who to @ in a group


def _unescape(value: str) -> str:
    # bot/channels/group.py escapes ":" and "%" in ids it joins into keys.
    return value.replace("%3A", ":").replace("%25", "%")


def parse_target(user: str) -> Target:
    """The chat a user key belongs to, from the key conventions of the channels that make them.

    ``grp:<transport>:<room>:<sender>`` is a person in a group (bot/channels/group.py),
    ``bridge:<sender>`` a bridged 1:1 chat, ``wecom_robot:…``/``wecom_aibot:…`` a WeCom 1:1
    chat, ``web:…`` the chat page; anything else is an official-account openid.
    """
    head, sep, rest = user.partition(":")
    if not sep:
        return Target(TargetKind.OFFICIAL, user)
    if head == "grp":
        transport, _, rest = rest.partition(":")
        room, _, member = rest.partition(":")
        kind = TargetKind.BRIDGE if transport == "bridge" else TargetKind.GROUP
        return Target(kind, _unescape(room), _unescape(member))
    if head == "bridge":
        return Target(TargetKind.BRIDGE, _unescape(rest))
    if head in ("web", "wecom_robot", "wecom_aibot"):
        return Target(TargetKind.NONE, rest)
    return Target(TargetKind.OFFICIAL, user)


@dataclass(frozen=True)
class Message:
    """One reminder, as full text and as the three fields of a template."""

    text: str
    title: str
    deadline: str
    note: str


class Channel(Protocol):
    """A way to deliver; ``send`` returns on success and raises :class:`DeliveryError`."""

    name: str

    def accepts(self, target: Target) -> bool: ...

    async def send(self, target: Target, message: Message) -> None: ...


def _thing(text: str) -> str:
    return text if len(text) <= THING_MAX else text[: THING_MAX - 1] + "…"


async def _call(api: WeChatAPI, path: str, payload: dict[str, Any]) -> None:
    try:
        await api.call(path, payload)
    except WeChatAPIError as exc:
        raise DeliveryError(exc.errcode, exc.errmsg) from exc


class CustomMessageChannel:
    """客服 text: free and complete, but only within 48 h of the user's last message."""

    name = "custom"

    def __init__(self, api: WeChatAPI, storage: Storage, quota: int, window: float) -> None:
        self.api, self.storage, self.quota, self.window = api, storage, quota, window

    def accepts(self, target: Target) -> bool:
        return target.kind is TargetKind.OFFICIAL

    async def send(self, target: Target, message: Message) -> None:
        # The same per-user counter the webhook's late answers use, so together they stay
        # within WeChat's allowance instead of each spending it separately.
        key = f"csq:{target.address}"
        used = await self.storage.incr(key, 1, ttl=self.window)
        if used > self.quota:
            raise DeliveryError(45047, "our 48-hour customer-service count is used up")
        try:
            await self.api.send_text(target.address, message.text)
        except WeChatAPIError as exc:
            if exc.errcode in (45015, 45047):
                await self.storage.set(key, self.quota, ttl=self.window)
            raise DeliveryError(exc.errcode, exc.errmsg) from exc


class TemplateChannel:
    """模板消息 (``message/template/send``) or 订阅通知 (``message/subscribe/bizsend``)."""

    def __init__(
        self, name: str, path: str, api: WeChatAPI, template_id: str, fields: Sequence[str]
    ) -> None:
        self.name, self.path, self.api = name, path, api
        self.template_id = template_id
        self.fields = tuple(fields)

    def accepts(self, target: Target) -> bool:
        return target.kind is TargetKind.OFFICIAL

    async def send(self, target: Target, message: Message) -> None:
        title, deadline, note = self.fields
        data = {
            title: {"value": _thing(message.title)},
            deadline: {"value": message.deadline},
            note: {"value": _thing(message.note)},
        }
        payload = {"touser": target.address, "template_id": self.template_id, "data": data}
        await _call(self.api, self.path, payload)


class GroupSender(Protocol):
    """Sends text into a group chat (the group-chat module implements the full one)."""

    async def send_group(self, chat_id: str, text: str, mention: Sequence[str] = ()) -> None:
        """Deliver or raise :class:`DeliveryError` (45009 when the robot's 20/min is spent)."""
        ...


def group_webhook_key(chat_id: str) -> str:
    """Where the robot of a WeCom group is remembered (bot/channels/wecom_callback.py)."""
    return f"group:webhook:{chat_id}"


async def robot_key(storage: Storage, chat_id: str, default: str = "") -> str:
    """The robot key a reminder for this group is posted with, or "" when there is none.

    The group's own robot (a key, or the webhook URL its callbacks carry), else ``default``.
    """
    stored = await storage.get(group_webhook_key(chat_id))
    if isinstance(stored, str) and stored:
        if "://" not in stored:
            return stored
        return parse_qs(urlsplit(stored).query).get("key", [""])[0]
    return default


@dataclass(frozen=True)
class Routes:
    """What this deployment can push through besides the official account: the two settings
    whose absence makes the group and bridge channels fail with :data:`NO_ROUTE`."""

    default_robot_key: str = ""  # REMINDER_WECOM_ROBOT_KEY
    bridge_push_url: str = ""  # BRIDGE_PUSH_URL

    @classmethod
    def from_settings(cls, settings: Settings) -> Routes:
        return cls(settings.reminders.wecom_robot_key, settings.groups.bridge_push_url)


async def has_route(target: Target, storage: Storage, routes: Routes) -> bool:
    """Whether a reminder for ``target`` has somewhere to go, asked the same way the channels
    ask when they send, so a chat is never promised a reminder that can only fail with
    "no route" (the chat page and WeCom 1:1 chats never have one)."""
    if target.kind is TargetKind.OFFICIAL:
        return True
    if target.kind is TargetKind.GROUP:
        return bool(await robot_key(storage, target.address, routes.default_robot_key))
    if target.kind is TargetKind.BRIDGE:
        return bool(routes.bridge_push_url)
    return False


class WeComWebhookSender:
    """Minimal group-robot sender: ``POST <base>send?key=KEY`` with a text message.

    The robot key of a group comes from :func:`robot_key` (the group's own robot, else
    ``REMINDER_WECOM_ROBOT_KEY``). The
    host is always our configured base, never one from stored data, so a forged callback
    cannot make the bot post elsewhere. No rate limiting here: the robot's 45009 (20 a
    minute) sends the job to the scheduler's back-off.
    """

    def __init__(self, storage: Storage, base: str, default_key: str = "") -> None:
        self.storage = storage
        self.send_url = base.rstrip("/") + "/send"
        self.default_key = default_key
        self._sessions = LazySession()

    async def send_group(self, chat_id: str, text: str, mention: Sequence[str] = ()) -> None:
        key = await robot_key(self.storage, chat_id, self.default_key)
        if not key:
            raise DeliveryError(NO_ROUTE, "no robot key for this group")
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": text}}
        if mention:
            body["text"]["mentioned_list"] = list(mention)
        try:
            async with self._sessions.get().post(
                self.send_url, params={"key": key}, json=body
            ) as resp:
                data = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Never log the URL: its key lets anyone post into the group.
            raise DeliveryError(-1, f"{type(exc).__name__} calling the group webhook") from exc
        code = data.get("errcode", -1) if isinstance(data, dict) else -1
        if code:
            errmsg = data.get("errmsg", "") if isinstance(data, dict) else ""
            raise DeliveryError(code if isinstance(code, int) else -1, str(errmsg))

    async def close(self) -> None:
        await self._sessions.close()


class GroupChannel:
    name = "wecom"

    def __init__(self, sender: GroupSender) -> None:
        self.sender = sender

    def accepts(self, target: Target) -> bool:
        return target.kind is TargetKind.GROUP

    async def send(self, target: Target, message: Message) -> None:
        mention = (target.member,) if target.member else ()
        await self.sender.send_group(target.address, message.text, mention)


class BridgeSender(Protocol):
    async def send_bridge(self, room: str, text: str, mention: Sequence[str] = ()) -> None: ...


class HttpBridgeSender:
    """Pushes to a personal-account bridge: ``POST <BRIDGE_PUSH_URL>`` with JSON
    ``{"room_id", "text", "mention"}``, signed like the bridge signs what it sends us
    (``X-Bridge-Signature: sha256=<HMAC of the body with BRIDGE_SECRET>``). Any non-2xx answer
    or a JSON body with ``"ok": false`` is a failed delivery, retried by the scheduler."""

    def __init__(self, push_url: str, secret: str) -> None:
        self.push_url = push_url
        self.secret = secret
        self._sessions = LazySession()

    async def send_bridge(self, room: str, text: str, mention: Sequence[str] = ()) -> None:
        from bot.channels.bridge import SIGNATURE_HEADER, sign

        body = json.dumps(
            {"room_id": room, "text": text, "mention": list(mention)}, ensure_ascii=False
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(self.secret, body)}
        try:
            async with self._sessions.get().post(
                self.push_url, data=body, headers=headers
            ) as resp:
                ok = 200 <= resp.status < 300
                data = await resp.json(content_type=None) if ok else None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise DeliveryError(-1, f"{type(exc).__name__} calling the bridge") from exc
        if not ok or (isinstance(data, dict) and data.get("ok") is False):
            raise DeliveryError(-1, "the bridge refused the push")

    async def close(self) -> None:
        await self._sessions.close()


class NoBridge:
    """No ``BRIDGE_PUSH_URL``: a bridged chat's reminder has nowhere to go (an alert, not a
    silent success)."""

    async def send_bridge(self, room: str, text: str, mention: Sequence[str] = ()) -> None:
        raise DeliveryError(NO_ROUTE, "no BRIDGE_PUSH_URL configured")


class BridgeChannel:
    name = "bridge"

    def __init__(self, sender: BridgeSender) -> None:
        self.sender = sender

    def accepts(self, target: Target) -> bool:
        return target.kind is TargetKind.BRIDGE

    async def send(self, target: Target, message: Message) -> None:
        mention = (target.member,) if target.member else ()
        await self.sender.send_bridge(target.address, message.text, mention)


@dataclass
class Channels:
    """The configured channels, in order; ``for_target`` keeps those that can reach it."""

    items: list[Channel]
    closers: list[WeComWebhookSender | HttpBridgeSender] = field(default_factory=list)

    def for_target(self, target: Target) -> list[Channel]:
        return [c for c in self.items if c.accepts(target)]

    async def close(self) -> None:
        for closer in self.closers:
            await closer.close()


def build_channels(
    rs: ReminderSettings,
    api: WeChatAPI | None,
    storage: Storage,
    *,
    cs_quota: int = 5,
    cs_window: float = 48 * 3600.0,
    group: GroupSender | None = None,
    bridge: BridgeSender | None = None,
    bridge_push_url: str = "",
    bridge_secret: str = "",
) -> Channels:
    """Channels from the settings; official-account ones need the API (app id and secret)."""
    items: list[Channel] = []
    if api is not None:
        for name in rs.channels:
            if name == "custom":
                items.append(CustomMessageChannel(api, storage, cs_quota, cs_window))
            elif name == "template" and rs.template_id:
                items.append(
                    TemplateChannel(
                        name, "message/template/send", api, rs.template_id, rs.template_fields
                    )
                )
            elif name == "subscribe" and rs.subscribe_template_id:
                items.append(
                    TemplateChannel(
                        name,
                        "message/subscribe/bizsend",
                        api,
                        rs.subscribe_template_id,
                        rs.template_fields,
                    )
                )
    closers: list[WeComWebhookSender | HttpBridgeSender] = []
    if group is None:
        webhook = WeComWebhookSender(storage, rs.wecom_webhook_base, rs.wecom_robot_key)
        closers.append(webhook)
        group = webhook
    items.append(GroupChannel(group))
    if bridge is None and bridge_push_url:
        pusher = HttpBridgeSender(bridge_push_url, bridge_secret)
        closers.append(pusher)
        bridge = pusher
    items.append(BridgeChannel(bridge if bridge is not None else NoBridge()))
    if api is None:
        log.info("reminders: no WECHAT_APP_ID/SECRET, so no official-account channel")
    return Channels(items, closers)


def describe(target: Target) -> str:
    """A log-safe name for a target (openids hashed)."""
    if target.kind is TargetKind.OFFICIAL:
        return hash_user(target.address)
    return f"{target.kind.value}:{hash_user(target.address)}"


def channels_from_settings(
    settings: Settings, api: WeChatAPI | None, storage: Storage
) -> Channels:
    """The channels a scheduler uses, from the app's settings (serve and ``reminders run``)."""
    return build_channels(
        settings.reminders,
        api,
        storage,
        cs_quota=settings.cs_quota,
        cs_window=settings.cs_window,
        bridge_push_url=settings.groups.bridge_push_url,
        bridge_secret=settings.groups.bridge_secret,
    )
