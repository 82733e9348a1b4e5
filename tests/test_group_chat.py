"""Group behaviour end to end through the JSON bridge: authentication, when to answer, limits,
dedup, per-(group, sender) conversations and privacy with the real pipeline."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.app import create_app
from bot.channels.bridge import SIGNATURE_HEADER, sign
from bot.channels.config import GroupSettings
from bot.channels.group import GroupChat, GroupMessage, address
from bot.channels.limits import SlidingLimit
from bot.dialog.render import render_part
from bot.dialog.types import Part
from bot.pipeline import Answer, Pipeline
from bot.settings import Settings
from bot.storage import MemoryStorage

SECRET = "bridge-shared-secret"
ROOM = "R:family-group@chatroom"
SENDER_LIMITED = render_part(Part("group/sender_limited"))
GROUP_LIMITED = render_part(Part("group/group_limited"))


class FakeBot:
    """Records every call; answers "答：<text>"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    def warmup(self) -> None:
        pass

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer:
        self.calls.append((user, text, channel))
        return Answer(text=f"答：{text}", intent="payment")

    async def forget(self, user: str) -> None:
        pass


Post = Callable[..., Awaitable[tuple[int, dict[str, Any]]]]


@pytest.fixture
async def storage() -> AsyncIterator[MemoryStorage]:
    store = MemoryStorage()
    yield store
    await store.close()


@pytest.fixture
def make(aiohttp_client: Any, storage: MemoryStorage) -> Callable[..., Awaitable[Post]]:
    async def build(responder: Any, **group: Any) -> Post:
        config = GroupSettings(**{"bridge_secret": SECRET, **group})
        app = create_app(Settings(groups=config), responder=responder, storage=storage)
        client = await aiohttp_client(app)

        async def post(
            text: str = "",
            *,
            sender: str = "wxid_alice",
            room: str | None = ROOM,
            mentions_self: bool = True,
            secret: str = SECRET,
            raw: bytes | None = None,
            **extra: Any,
        ) -> tuple[int, dict[str, Any]]:
            payload = {
                "room_id": room,
                "sender_id": sender,
                "sender_name": "爱丽丝",
                "text": text,
                "mentions_self": mentions_self,
                **extra,
            }
            body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
            resp = await client.post(
                "/bridge/message",
                data=body,
                headers={SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"},
            )
            return resp.status, await resp.json()

        post.client = client  # type: ignore[attr-defined]
        return post

    return build


# -- authentication -----------------------------------------------------------------------------


async def test_bad_hmac_is_401_and_nothing_runs(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    status, body = await post("@医保小助手 补缴要多少钱", secret="wrong-secret")
    assert status == 401 and body == {"error": "bad signature"}
    client = post.client
    resp = await client.post("/bridge/message", json={"room_id": ROOM, "text": "x"})
    assert resp.status == 401  # no signature at all
    signed = json.dumps({"sender_id": "a", "text": "医保 怎么交"}).encode()
    resp = await client.post(
        "/bridge/message",
        data=signed + b" ",  # one byte changed after signing
        headers={SIGNATURE_HEADER: sign(SECRET, signed)},
    )
    assert resp.status == 401
    assert bot.calls == []


async def test_good_hmac_answers_and_mentions_the_asker(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    status, body = await post("@医保小助手\u2005补缴要多少钱")
    assert status == 200
    assert body == {"reply": "答：补缴要多少钱", "mention": ["wxid_alice"]}
    user, text, channel = bot.calls[0]
    assert text == "补缴要多少钱" and channel == "group"
    assert user.startswith("grp:bridge:") and user.endswith(":wxid_alice")


async def test_malformed_payloads_are_400_not_500(make: Any) -> None:
    post = await make(FakeBot())
    assert (await post(raw=b"not json"))[0] == 400
    assert (await post(raw=b"[]"))[0] == 400
    assert (await post("hi", sender=""))[0] == 400
    assert (await post("hi", mentions_self="yes"))[0] == 400


# -- when to answer -----------------------------------------------------------------------------


async def test_only_mentioned_or_prefixed_messages_are_answered(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    assert (await post("今天天气不错", mentions_self=False))[1] == {"reply": "", "mention": []}
    assert bot.calls == []
    _, body = await post("医保：断缴了怎么补", mentions_self=False)
    assert body["reply"] == "答：断缴了怎么补"
    _, body = await post("医保卡丢了怎么办", mentions_self=False, sender="wxid_bob")
    assert body["reply"] == "答：医保卡丢了怎么办"  # the prefix is part of this question
    _, body = await post("@医保小助手", sender="wxid_carol")
    assert body["reply"] == render_part(Part("group/hello"))
    assert len(bot.calls) == 2


async def test_prefix_is_configurable_and_can_be_switched_off(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot, prefix="")
    assert (await post("医保 怎么交", mentions_self=False))[1]["reply"] == ""
    assert (await post("@小助手 怎么交", mentions_self=True))[1]["reply"] == "答：怎么交"


def test_address_strips_mentions_and_call_signs() -> None:
    names = ("医保小助手",)
    assert address("@医保小助手 怎么交", mentioned=False, names=names, prefix="医保") == "怎么交"
    assert address("那个@医保小助手\u2005怎么交", mentioned=True, names=names, prefix="") == (
        "那个 怎么交"
    )
    assert address("@群昵称 怎么交", mentioned=True, names=names, prefix="") == "怎么交"
    assert address("医保 怎么交", mentioned=False, names=names, prefix="医保") == "怎么交"
    assert address("医保断缴了", mentioned=False, names=names, prefix="医保") == "医保断缴了"
    assert address("大家好", mentioned=False, names=names, prefix="医保") is None


async def test_private_chat_through_the_bridge_gets_the_full_answer(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    _, body = await post("补缴要多少钱", room=None, mentions_self=False)
    assert body == {"reply": "答：补缴要多少钱", "mention": []}
    assert bot.calls == [("bridge:wxid_alice", "补缴要多少钱", "bridge")]


# -- limits and dedup ---------------------------------------------------------------------------


async def test_sender_limit_says_wait_once_then_stays_silent(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot, sender_limit=2)
    replies = [(await post(f"@医保小助手 问题{i}"))[1]["reply"] for i in range(5)]
    assert replies[:2] == ["答：问题0", "答：问题1"]
    assert replies[2] == SENDER_LIMITED
    assert replies[3:] == ["", ""]
    assert len(bot.calls) == 2
    # Somebody else in the same group is not held back by Alice's limit.
    assert (await post("@医保小助手 问题x", sender="wxid_bob"))[1]["reply"] == "答：问题x"


async def test_group_limit_says_wait_once_for_the_whole_group(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot, group_limit=3)
    replies = [(await post(f"@医保小助手 问题{i}", sender=f"wxid_{i}"))[1] for i in range(6)]
    assert [r["reply"] for r in replies[:3]] == ["答：问题0", "答：问题1", "答：问题2"]
    assert replies[3] == {"reply": GROUP_LIMITED, "mention": ["wxid_3"]}
    assert [r["reply"] for r in replies[4:]] == ["", ""]
    # Another group has its own budget.
    assert (await post("@医保小助手 问题", room="R:other"))[1]["reply"] == "答：问题"


async def test_identical_question_in_one_group_is_answered_once(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    first = (await post("@医保小助手 医保怎么交？", sender="wxid_a"))[1]
    again = (await post("@医保小助手  医保怎么交？", sender="wxid_b"))[1]
    assert first["reply"] == "答：医保怎么交？"
    assert again == {"reply": "", "mention": []}
    other_group = (await post("@医保小助手 医保怎么交？", room="R:other"))[1]
    assert other_group["reply"] == "答：医保怎么交？"


async def test_bridge_retry_with_the_same_msg_id_runs_once(make: Any) -> None:
    bot = FakeBot()
    post = await make(bot)
    assert (await post("@医保小助手 怎么交", msg_id="m1"))[1]["reply"] == "答：怎么交"
    assert (await post("@医保小助手 怎么交", msg_id="m1"))[1]["reply"] == ""
    assert len(bot.calls) == 1


async def test_sliding_limit_tokens_come_back_after_the_window() -> None:
    storage = MemoryStorage()
    limit = SlidingLimit(storage, "t:", 3, 0.3)
    assert [await limit.acquire("k") for _ in range(4)] == [True, True, True, False]
    assert await limit.first_refusal("k") and not await limit.first_refusal("k")
    await asyncio.sleep(0.35)
    assert await limit.acquire("k")
    # Two workers sharing the storage share the bucket.
    other = SlidingLimit(storage, "t:", 3, 0.3)
    assert [await other.acquire("k") for _ in range(3)] == [True, True, False]
    await storage.close()


# -- the real pipeline --------------------------------------------------------------------------


@pytest.fixture
async def real(make: Any, storage: MemoryStorage) -> Post:
    post: Post = await make(Pipeline(Settings(), storage))
    return post


async def test_two_people_fill_their_slots_at_once_without_mixing(real: Post) -> None:
    a1, b1 = await asyncio.gather(
        real("@医保小助手 补缴要多少钱", sender="alice"),
        real("@医保小助手 补缴要多少钱", sender="bob"),
    )
    for (_, body), who in ((a1, "alice"), (b1, "bob")):
        assert "几个月" in body["reply"] and body["mention"] == [who]
    (_, a2), (_, b2) = await asyncio.gather(
        real("@医保小助手 深圳 4个月", sender="alice"),
        real("@医保小助手 深圳 6个月", sender="bob"),
    )
    assert "4个月" in a2["reply"] and "6个月" not in a2["reply"]
    assert "6个月" in b2["reply"] and "4个月" not in b2["reply"]
    assert a2["mention"] == ["alice"] and b2["mention"] == ["bob"]


async def test_id_number_and_typed_amount_never_reach_the_group(real: Post) -> None:
    _, first = await real(
        "@医保小助手 我身份证110101199003074477，基数8000，断缴4个月补缴多少钱", sender="carol"
    )
    reply = first["reply"]
    assert "110101199003074477" not in reply
    found = {Decimal(n) for n in re.findall(r"\d+(?:\.\d+)?", reply)}
    assert not found & {Decimal(8000), Decimal(3200), Decimal(3840)}
    assert "缴费基数 × 4个月" in reply and len(reply) <= 400
    assert reply.endswith(render_part(Part("group/invite")))


REMIND = "@医保小助手 居民医保缴费截止前提醒我"
PRIVATE_ONLY = render_part(Part("group/private_only"))
ACCOUNT_ONLY = render_part(Part("remind_subscribe/list_empty_none"))


async def test_group_reminder_goes_private_where_private_chats_get_pushes(
    make: Any, storage: MemoryStorage
) -> None:
    routed = Settings(groups=GroupSettings(bridge_push_url="https://bridge/push"))
    post = await make(Pipeline(routed, storage), bridge_push_url="https://bridge/push")
    _, body = await post(REMIND, sender="dave")
    assert body["reply"] == PRIVATE_ONLY and body["mention"] == ["dave"]
    _, private = await post("广州居民医保缴费截止前提醒我", sender="dave", room=None)
    assert "已记下" in private["reply"] and await storage.get("sub:bridge:dave")


async def test_group_reminder_without_a_route_back_points_to_the_official_account(
    make: Any, storage: MemoryStorage
) -> None:
    post = await make(Pipeline(Settings(), storage))  # no BRIDGE_PUSH_URL
    _, body = await post(REMIND, sender="erin")
    assert body["reply"] == ACCOUNT_ONLY and "私聊" not in body["reply"]
    assert body["mention"] == ["erin"]
    _, cancel = await post("@医保小助手 取消提醒", sender="erin")
    assert cancel["reply"] == ACCOUNT_ONLY
    assert await storage.get("sub:grp:bridge:R%3Afamily-group@chatroom:erin") is None


async def test_wecom_group_reminder_points_to_the_official_account(
    storage: MemoryStorage,
) -> None:
    """A WeCom 1:1 chat cannot be pushed to, so "私聊我设置" would only be refused again."""
    chat = GroupChat(GroupSettings(), Pipeline(Settings(), storage), storage)
    await storage.set("group:webhook:wrkROOM", "ROBOT-KEY")  # the group's robot is known
    msg = GroupMessage("wecom_robot", "wrkROOM", "frank", REMIND, mentioned=True)
    reply = await chat.handle(msg)
    assert reply is not None and reply.text == ACCOUNT_ONLY and reply.mention == ("frank",)
    asked = await chat.handle(
        GroupMessage("wecom_robot", "wrkROOM", "frank", "@医保小助手 医保断缴有什么影响", True)
    )
    assert asked is not None and asked.text != ACCOUNT_ONLY  # other topics are untouched
    assert await storage.get("sub:grp:wecom_robot:wrkROOM:frank") is None


# -- configuration ------------------------------------------------------------------------------


def test_settings_from_env_are_tolerant() -> None:
    config = Settings.from_env(
        {
            "BRIDGE_SECRET": "s",
            "GROUP_PREFIX": "",
            "GROUP_BOT_NAMES": "医保小助手, 小助手 ,",
            "GROUP_SENDER_LIMIT": "lots",
            "GROUP_WINDOW": "-5",
            "WECOM_WEBHOOK_PER_MINUTE": "0",
        }
    ).groups
    assert config.enabled and config.prefix == ""
    assert config.bot_names == ("医保小助手", "小助手")
    assert (config.sender_limit, config.group_window, config.webhook_per_minute) == (5, 60.0, 20)
    assert Settings.from_env({}).groups == GroupSettings()
    assert not GroupSettings().enabled


async def test_unconfigured_channels_have_no_routes(aiohttp_client: Any) -> None:
    client = await aiohttp_client(create_app(Settings(), FakeBot(), MemoryStorage()))
    for path in ("/wecom/robot", "/wecom/aibot", "/bridge/message"):
        assert (await client.post(path, data=b"{}")).status == 404


def test_a_malformed_aes_key_fails_the_boot() -> None:
    config = GroupSettings(robot_token="t", robot_aes_key="too-short")
    with pytest.raises(ValueError, match="EncodingAESKey"):
        create_app(Settings(groups=config), FakeBot(), MemoryStorage())
