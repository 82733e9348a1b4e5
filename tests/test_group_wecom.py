"""The WeCom group robot (XML) and AI bot (JSON) callbacks, with real wechatpy encryption and
payloads in the documented formats; late answers go through a fake webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import pytest
from fake_wecom import (
    AIBOT_AES_KEY,
    ROBOT_AES_KEY,
    ROBOT_KEY,
    FakeWeComWebhook,
    WeComPeer,
    aibot_text,
    robot_text,
)

from bot.app import create_app
from bot.channels.config import GroupSettings
from bot.dialog.render import render_part
from bot.dialog.types import Part
from bot.pipeline import Answer
from bot.settings import Settings
from bot.storage import MemoryStorage

ROBOT = WeComPeer("robot-token", ROBOT_AES_KEY)
AIBOT = WeComPeer("aibot-token", AIBOT_AES_KEY)  # ReceiveId "" as for every AI bot


class FakeBot:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, str, str]] = []

    def warmup(self) -> None:
        pass

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer:
        self.calls.append((user, text, channel))
        if self.delay:
            await asyncio.sleep(self.delay)
        return Answer(text=f"答：{text}", intent="payment")

    async def forget(self, user: str) -> None:
        pass


@pytest.fixture
async def webhook() -> AsyncIterator[FakeWeComWebhook]:
    server = FakeWeComWebhook()
    await server.start()
    yield server
    await server.close()


Make = Callable[..., Awaitable[Any]]


@pytest.fixture
def make(aiohttp_client: Any, webhook: FakeWeComWebhook) -> Make:
    async def build(bot: FakeBot, reply_deadline: float = 2.0) -> Any:
        config = GroupSettings(
            robot_token=ROBOT.token,
            robot_aes_key=ROBOT.aes_key,
            aibot_token=AIBOT.token,
            aibot_aes_key=AIBOT.aes_key,
            webhook_base=webhook.base_url,
        )
        settings = Settings(groups=config, reply_deadline=reply_deadline)
        client = await aiohttp_client(create_app(settings, responder=bot, storage=store))
        client.store = store
        return client

    store = MemoryStorage()

    return build


async def robot_post(client: Any, plaintext: str, timestamp: int | None = None) -> Any:
    query, body = ROBOT.robot_request(plaintext, timestamp)
    return await client.post("/wecom/robot", params=query, data=body)


async def aibot_post(client: Any, message: dict[str, Any]) -> Any:
    query, body = AIBOT.aibot_request(message)
    return await client.post("/wecom/aibot", params=query, data=body)


# -- group robot --------------------------------------------------------------------------------


async def test_robot_remembers_the_group_webhook_for_reminders(make: Make) -> None:
    client = await make(FakeBot())
    assert (await robot_post(client, robot_text("@医保小助手 你好"))).status == 200
    stored = await client.store.get("group:webhook:wrkSFfCgAALFgnrSsWU38puiv4yvExuw")
    assert isinstance(stored, str) and "key=" in stored


async def test_robot_url_verification(make: Make) -> None:
    client = await make(FakeBot())
    resp = await client.get("/wecom/robot", params=ROBOT.verification("echo-123"))
    assert resp.status == 200 and await resp.text() == "echo-123"
    bad = ROBOT.verification("echo-123")
    bad["msg_signature"] = "0" * 40
    assert (await client.get("/wecom/robot", params=bad)).status == 403
    # The AI bot's key cannot answer the robot's verification.
    assert (await client.get("/wecom/robot", params=AIBOT.verification())).status == 403


async def test_robot_answers_a_mention_passively_and_ats_the_asker(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    resp = await robot_post(client, robot_text("@医保小助手 断缴了怎么补"))
    assert resp.status == 200
    reply = ROBOT.robot_reply(await resp.text())
    assert reply["MsgType"] == "text"
    assert reply["Text"]["Content"] == "答：断缴了怎么补"
    assert reply["Text"]["MentionedList"]["Item"] == "zhangsan"
    user, text, channel = bot.calls[0]
    assert (text, channel) == ("断缴了怎么补", "group")
    assert user == "grp:wecom_robot:wrkSFfCgAALFgnrSsWU38puiv4yvExuw:zhangsan"


async def test_robot_refuses_forged_stale_and_oversized_requests(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    query, body = ROBOT.robot_request(robot_text("@医保小助手 怎么交"))
    query["msg_signature"] = "f" * 40
    assert (await client.post("/wecom/robot", params=query, data=body)).status == 403
    stale = await robot_post(client, robot_text("@医保小助手 怎么交"), int(time.time()) - 3600)
    assert stale.status == 403
    query, _ = ROBOT.robot_request(robot_text("x"))
    big = await client.post("/wecom/robot", params=query, data=b"<xml>" + b"a" * 70_000)
    assert big.status == 413
    dtd = "<!DOCTYPE x [<!ENTITY a 'b'>]><xml><Encrypt>&a;</Encrypt></xml>"
    assert (await client.post("/wecom/robot", params=query, data=dtd)).status == 400
    assert bot.calls == []


async def test_robot_retry_of_one_msgid_runs_the_bot_once(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    message = robot_text("@医保小助手 怎么交", msg_id="CAEQi5HR8wUY")
    first = ROBOT.robot_reply(await (await robot_post(client, message)).text())
    retry = ROBOT.robot_reply(await (await robot_post(client, message)).text())
    assert first["Text"]["Content"] == retry["Text"]["Content"] == "答：怎么交"
    assert len(bot.calls) == 1


async def test_robot_late_answer_goes_through_the_webhook(
    make: Make, webhook: FakeWeComWebhook
) -> None:
    client = await make(FakeBot(delay=0.5), reply_deadline=0.1)
    resp = await robot_post(client, robot_text("@医保小助手 怎么交", user="lisi"))
    assert resp.status == 200 and await resp.text() == ""  # empty: received, answer follows
    for _ in range(50):
        if webhook.delivered:
            break
        await asyncio.sleep(0.05)
    assert webhook.delivered == [
        {
            "msgtype": "text",
            "text": {"content": "答：怎么交", "mentioned_list": ["lisi"]},
            "chatid": "wrkSFfCgAALFgnrSsWU38puiv4yvExuw",
        }
    ]
    assert webhook.calls[0]["key"] == ROBOT_KEY


async def test_robot_images_and_join_events(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    image = ROBOT.robot_reply(
        await (await robot_post(client, robot_text("", msg_type="image"))).text()
    )
    assert image["Text"]["Content"] == render_part(Part("group/unsupported"))
    joined = (
        "<xml><ChatId>wrkX</ChatId><ChatType>group</ChatType><From><UserId>zhangsan</UserId>"
        "<Name>张三</Name></From><MsgType>event</MsgType><Event><EventType>add_to_chat"
        "</EventType></Event><MsgId>e1</MsgId></xml>"
    )
    hello = ROBOT.robot_reply(await (await robot_post(client, joined)).text())
    assert hello["Text"]["Content"] == render_part(Part("group/hello"))
    assert bot.calls == []


async def test_robot_single_chat_gets_the_full_private_answer(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    resp = await robot_post(client, robot_text("补缴要多少钱", chat_type="single"))
    reply = ROBOT.robot_reply(await resp.text())
    assert reply["Text"]["Content"] == "答：补缴要多少钱"
    assert "MentionedList" not in reply["Text"]
    assert bot.calls == [("wecom_robot:zhangsan", "补缴要多少钱", "wecom_robot")]


# -- AI bot -------------------------------------------------------------------------------------


async def test_aibot_url_verification_with_empty_receive_id(make: Make) -> None:
    client = await make(FakeBot())
    resp = await client.get("/wecom/aibot", params=AIBOT.verification("hello-aibot"))
    assert resp.status == 200 and await resp.text() == "hello-aibot"
    # Encrypted for a corp id instead of "": not ours.
    corp = WeComPeer(AIBOT.token, AIBOT.aes_key, receive_id="wwcorp")
    assert (await client.get("/wecom/aibot", params=corp.verification())).status == 403


async def test_aibot_group_mention_is_stripped_and_answered_as_stream(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    resp = await aibot_post(client, aibot_text("@RobotA 补缴要多少钱", user="wangwu"))
    assert resp.status == 200
    reply = AIBOT.aibot_reply(await resp.text())
    assert reply["msgtype"] == "stream"
    assert reply["stream"]["finish"] is True
    assert reply["stream"]["content"] == "答：补缴要多少钱"
    assert bot.calls == [("grp:wecom_aibot:wrkSFfCgAAskBzQgm:wangwu", "补缴要多少钱", "group")]


async def test_aibot_single_chat_is_private(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    resp = await aibot_post(client, aibot_text("补缴要多少钱", chat_type="single"))
    assert AIBOT.aibot_reply(await resp.text())["stream"]["content"] == "答：补缴要多少钱"
    assert bot.calls == [("wecom_aibot:zhangsan", "补缴要多少钱", "wecom_aibot")]


async def test_aibot_slow_answer_streams_and_refresh_delivers_it(make: Make) -> None:
    bot = FakeBot(delay=0.3)
    client = await make(bot, reply_deadline=0.05)
    first = AIBOT.aibot_reply(
        await (await aibot_post(client, aibot_text("@RobotA 怎么交"))).text()
    )
    assert first["stream"]["finish"] is False
    stream_id = first["stream"]["id"]
    await asyncio.sleep(0.4)
    refresh = {
        "msgid": "refresh-1",
        "aibotid": "AIBOTID",
        "chatid": "wrkSFfCgAAskBzQgm",
        "chattype": "group",
        "from": {"userid": "zhangsan"},
        "msgtype": "stream",
        "stream": {"id": stream_id},
    }
    done = AIBOT.aibot_reply(await (await aibot_post(client, refresh)).text())
    assert done["stream"] == {"id": stream_id, "finish": True, "content": "答：怎么交"}
    assert len(bot.calls) == 1


async def test_aibot_retry_gets_the_same_stream(make: Make) -> None:
    bot = FakeBot()
    client = await make(bot)
    message = aibot_text("@RobotA 怎么交", msg_id="CAIQ16HMjQYY")
    first = AIBOT.aibot_reply(await (await aibot_post(client, message)).text())
    retry = AIBOT.aibot_reply(await (await aibot_post(client, message)).text())
    assert retry["stream"] == first["stream"]
    assert len(bot.calls) == 1


async def test_aibot_welcome_and_refusals(make: Make) -> None:
    client = await make(FakeBot())
    enter = {
        "msgid": "e1",
        "aibotid": "AIBOTID",
        "chattype": "single",
        "from": {"userid": "zhangsan"},
        "msgtype": "event",
        "event": {"eventtype": "enter_chat"},
    }
    welcome = AIBOT.aibot_reply(await (await aibot_post(client, enter)).text())
    assert welcome == {"msgtype": "text", "text": {"content": render_part(Part("group/hello"))}}
    query, _ = AIBOT.aibot_request(aibot_text("x"))
    assert (await client.post("/wecom/aibot", params=query, data="not json")).status == 400
    body = json.dumps({"encrypt": "AAAA"})
    assert (await client.post("/wecom/aibot", params=query, data=body)).status == 403
