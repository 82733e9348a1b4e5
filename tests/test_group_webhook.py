"""Outbound to WeCom groups through the robot webhook, against a fake WeCom on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from fake_wecom import ROBOT_KEY, FakeWeComWebhook

from bot.channels.webhook import SendResult, WebhookSender, webhook_key
from bot.storage import MemoryStorage


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeComWebhook]:
    server = FakeWeComWebhook()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def storage() -> AsyncIterator[MemoryStorage]:
    store = MemoryStorage()
    yield store
    await store.close()


@pytest.fixture
async def sender(fake: FakeWeComWebhook, storage: MemoryStorage) -> AsyncIterator[WebhookSender]:
    out = WebhookSender(fake.base_url, storage)
    yield out
    await out.close()


async def test_text_with_mention_reaches_the_group(
    fake: FakeWeComWebhook, sender: WebhookSender
) -> None:
    url = f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={ROBOT_KEY}"
    result = await sender.send_text(url, "答：能补。", ("zhangsan",), chat_id="wrkChat")
    assert result is SendResult.SENT
    assert fake.delivered == [
        {
            "msgtype": "text",
            "text": {"content": "答：能补。", "mentioned_list": ["zhangsan"]},
            "chatid": "wrkChat",
        }
    ]
    # Whatever host a callback names, the bot only ever posts to its configured base.
    assert fake.calls[0]["key"] == ROBOT_KEY


async def test_markdown_mentions_inline(fake: FakeWeComWebhook, sender: WebhookSender) -> None:
    assert await sender.send_markdown(ROBOT_KEY, "**结论**", ("lisi",)) is SendResult.SENT
    assert fake.delivered[0] == {
        "msgtype": "markdown",
        "markdown": {"content": "<@lisi> **结论**"},
    }


async def test_long_text_is_cut_to_wecom_limit(
    fake: FakeWeComWebhook, sender: WebhookSender
) -> None:
    assert await sender.send_text(ROBOT_KEY, "医" * 1000) is SendResult.SENT
    assert len(fake.delivered[0]["text"]["content"].encode()) <= 2048


async def test_twenty_a_minute_per_robot_shared_by_workers(
    fake: FakeWeComWebhook, storage: MemoryStorage
) -> None:
    # Two workers (two senders, one storage) send 30 messages between them at once.
    workers = [WebhookSender(fake.base_url, storage) for _ in range(2)]
    results = await asyncio.gather(
        *(workers[i % 2].send_text(ROBOT_KEY, f"消息{i}") for i in range(30))
    )
    assert results.count(SendResult.SENT) == 20
    assert results.count(SendResult.LIMITED) == 10
    assert len(fake.calls) == 20  # the limiter held the rest back: WeCom never saw a 21st
    assert all(c["answer"]["errcode"] == 0 for c in fake.calls)
    # Another robot has its own budget.
    fake.keys.add("other-key")
    assert await workers[0].send_text("other-key", "hi") is SendResult.SENT
    for worker in workers:
        await worker.close()


async def test_waits_for_a_slot_when_asked_to(
    fake: FakeWeComWebhook, storage: MemoryStorage
) -> None:
    quick = WebhookSender(fake.base_url, storage, per_minute=2, window=0.3)
    assert [await quick.send_text(ROBOT_KEY, f"m{i}") for i in range(3)] == [
        SendResult.SENT,
        SendResult.SENT,
        SendResult.LIMITED,
    ]
    assert await quick.send_text(ROBOT_KEY, "later", wait=1.0) is SendResult.SENT
    await quick.close()


async def test_45009_pauses_the_robot_for_everyone(
    fake: FakeWeComWebhook, storage: MemoryStorage, sender: WebhookSender
) -> None:
    fake.fail_next(45009, "api freq out of limit")
    assert await sender.send_text(ROBOT_KEY, "一") is SendResult.THROTTLED
    other_worker = WebhookSender(fake.base_url, storage)
    assert await other_worker.send_text(ROBOT_KEY, "二") is SendResult.LIMITED
    assert len(fake.calls) == 1  # nothing more was sent while paused
    await other_worker.close()


async def test_wecom_errors_and_dead_peers_are_failures_not_exceptions(
    fake: FakeWeComWebhook, sender: WebhookSender, storage: MemoryStorage
) -> None:
    assert await sender.send_text("unknown-key", "x") is SendResult.FAILED  # 93000
    fake.fail_next(40058, "content exceed max length")
    assert await sender.send_text(ROBOT_KEY, "x") is SendResult.FAILED
    assert await sender.send_text("", "x") is SendResult.FAILED
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = WebhookSender(f"http://127.0.0.1:{port}/cgi-bin/webhook/", storage)
    assert await dead.send_text(ROBOT_KEY, "x") is SendResult.FAILED
    await dead.close()


def test_webhook_key_from_url_or_key() -> None:
    assert webhook_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc") == "abc"
    assert webhook_key(" abc ") == "abc"
    assert webhook_key("https://qyapi.weixin.qq.com/cgi-bin/webhook/send") == ""
