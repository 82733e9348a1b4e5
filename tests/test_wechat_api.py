"""The async WeChat API client against the fake server: tokens, retries, quotas, the menu."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator

import pytest
from fake_wechat_api import OPENID, FakeWeChatAPI

from bot.menu import menu_json
from bot.settings import Settings
from bot.storage import MemoryStorage
from bot.wechat_api import PushResult, WeChatAPI, WeChatAPIError


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def settings(fake: FakeWeChatAPI) -> Settings:
    return Settings(
        wechat_app_id=fake.app_id, wechat_app_secret=fake.secret, wechat_api_base=fake.base_url
    )


@pytest.fixture
async def storage() -> AsyncIterator[MemoryStorage]:
    store = MemoryStorage()
    yield store
    await store.close()


@pytest.fixture
async def api(settings: Settings, storage: MemoryStorage) -> AsyncIterator[WeChatAPI]:
    client = WeChatAPI(settings, storage)
    yield client
    await client.close()


async def test_concurrent_callers_fetch_one_token(api: WeChatAPI, fake: FakeWeChatAPI) -> None:
    tokens = await asyncio.gather(*(api.access_token() for _ in range(20)))
    assert set(tokens) == {"TOKEN-1"}
    assert fake.token_fetches == 1


async def test_workers_share_the_token_through_storage(
    settings: Settings, storage: MemoryStorage, fake: FakeWeChatAPI
) -> None:
    workers = [WeChatAPI(settings, storage) for _ in range(4)]
    try:
        tokens = await asyncio.gather(*(w.access_token() for w in workers for _ in range(5)))
        assert set(tokens) == {"TOKEN-1"}
        assert fake.token_fetches == 1
        assert len(fake.calls_to("stable_token")) == 1
    finally:
        for w in workers:
            await w.close()


async def test_token_request_carries_credentials(api: WeChatAPI, fake: FakeWeChatAPI) -> None:
    await api.access_token()
    body = fake.calls_to("stable_token")[0].body
    assert body == {
        "grant_type": "client_credential",
        "appid": fake.app_id,
        "secret": fake.secret,
        "force_refresh": False,
    }


async def test_send_retries_once_after_token_invalidated(
    api: WeChatAPI, fake: FakeWeChatAPI
) -> None:
    await api.send_text(OPENID, "第一条")
    fake.revoke_tokens()  # e.g. someone fetched a token with another tool
    await api.send_text(OPENID, "第二条")
    sends = fake.calls_to("message/custom/send")
    assert len(sends) == 3  # ok, 40001, retry ok
    assert sends[2].query["access_token"] == "TOKEN-2"
    assert fake.calls_to("stable_token")[-1].body["force_refresh"] is True
    assert [m["text"]["content"] for m in fake.sent] == ["第一条", "第二条"]


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
async def test_token_errors_retry_at_most_once(
    api: WeChatAPI, fake: FakeWeChatAPI, errcode: int
) -> None:
    fake.fail_next("message/custom/send", errcode, times=25)
    with pytest.raises(WeChatAPIError) as info:
        await api.send_text(OPENID, "你好")
    assert info.value.errcode == errcode
    assert len(fake.calls_to("message/custom/send")) == 2
    assert fake.token_fetches == 2


async def test_bad_credentials_raise(
    settings: Settings, storage: MemoryStorage, fake: FakeWeChatAPI
) -> None:
    client = WeChatAPI(dataclasses.replace(settings, wechat_app_secret="wrong"), storage)
    try:
        with pytest.raises(WeChatAPIError) as info:
            await client.access_token()
        assert info.value.errcode == 40125
        assert "wrong" not in str(info.value)
    finally:
        await client.close()


async def test_unreachable_api_is_a_clean_error(storage: MemoryStorage) -> None:
    settings = Settings(
        wechat_app_id="wx1",
        wechat_app_secret="s",
        wechat_api_base="http://127.0.0.1:9/cgi-bin/",  # discard port: connection refused
    )
    client = WeChatAPI(settings, storage)
    try:
        with pytest.raises(WeChatAPIError) as info:
            await client.send_text(OPENID, "x")
        assert info.value.errcode == -1
        assert "access_token" not in str(info.value)
        assert await client.push_text(OPENID, "x") is PushResult.FAILED
    finally:
        await client.close()


async def test_push_respects_our_quota(
    api: WeChatAPI, fake: FakeWeChatAPI, settings: Settings, storage: MemoryStorage
) -> None:
    results = [await api.push_text(OPENID, f"消息{i}") for i in range(7)]
    assert results == [PushResult.SENT] * 5 + [PushResult.QUOTA] * 2
    assert len(fake.sent) == 5
    assert len(fake.calls_to("message/custom/send")) == 5  # the 6th and 7th never left
    # Another user has their own allowance.
    assert await api.push_text("o_other_user_000000000000000", "你好") is PushResult.SENT


@pytest.mark.parametrize(
    ("errcode", "result"), [(45015, PushResult.OUT_OF_WINDOW), (45047, PushResult.LIMIT)]
)
async def test_push_stops_after_window_or_limit_errors(
    api: WeChatAPI, fake: FakeWeChatAPI, errcode: int, result: PushResult
) -> None:
    fake.fail_next("message/custom/send", errcode)
    assert await api.push_text(OPENID, "一") is result
    # WeChat said no: do not keep knocking for the rest of the window.
    assert await api.push_text(OPENID, "二") is PushResult.QUOTA
    assert len(fake.calls_to("message/custom/send")) == 1


async def test_create_menu(api: WeChatAPI, fake: FakeWeChatAPI) -> None:
    await api.create_menu(menu_json())
    call = fake.calls_to("menu/create")[0]
    assert call.body == menu_json()
    assert call.query["access_token"] == "TOKEN-1"
    fake.fail_next("menu/create", 40016, "invalid button size")
    with pytest.raises(WeChatAPIError) as info:
        await api.create_menu(menu_json())
    assert info.value.errcode == 40016


async def test_chinese_is_sent_as_raw_utf8(api: WeChatAPI, fake: FakeWeChatAPI) -> None:
    await api.send_text(OPENID, "医保")
    assert fake.sent[0]["text"]["content"] == "医保"


async def test_slow_api_does_not_block_the_event_loop(api: WeChatAPI, fake: FakeWeChatAPI) -> None:
    fake.delay = 0.3
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    started = time.monotonic()
    await api.send_text(OPENID, "慢")
    elapsed = time.monotonic() - started
    task.cancel()
    assert elapsed >= 0.6  # token + send, each delayed
    assert ticks >= 30  # the loop kept running throughout
