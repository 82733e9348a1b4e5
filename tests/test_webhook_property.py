"""Property tests on the webhook: whatever arrives, never a 5xx, and every reply is valid.

Hypothesis drives the real app (the real pipeline, in-memory storage) through aiohttp's test
client: arbitrary message text in correctly signed messages, arbitrary bodies under a valid
signature, arbitrary query strings. Examples run inside one event loop per test (hypothesis
calls a plain function; ``asyncio.run_coroutine_threadsafe`` hands each request to the loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.settings import Settings
from bot.storage import MemoryStorage
from bot.wechat import MAX_REPLY_BYTES

TOKEN = "property-token"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class LiveApp:
    """The app served on a loop in a background thread, so sync hypothesis tests can call it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client: TestClient = self.call(self._start())

    async def _start(self) -> TestClient:
        settings = Settings.from_env({"WECHAT_TOKEN": TOKEN, "BOT_DATA_DIR": "/nonexistent"})
        client = TestClient(TestServer(create_app(settings, storage=MemoryStorage())))
        await client.start_server()
        return client

    def call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout=30)

    def post(self, query: dict[str, str] | str, body: bytes) -> tuple[int, str]:
        async def send() -> tuple[int, str]:
            resp = await self.client.post(
                "/wechat" + (("?" + query) if isinstance(query, str) else ""),
                params=query if isinstance(query, dict) else None,
                data=body,
            )
            return resp.status, await resp.text()

        result: tuple[int, str] = self.call(send())
        return result

    def close(self) -> None:
        self.call(self.client.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def live() -> Iterator[LiveApp]:
    app = LiveApp()
    yield app
    app.close()


def signed() -> dict[str, str]:
    ts, nonce = str(int(time.time())), "424242"
    sig = hashlib.sha1("".join(sorted([TOKEN, ts, nonce])).encode()).hexdigest()
    return {"signature": sig, "timestamp": ts, "nonce": nonce, "openid": "oProp"}


_counter = iter(range(10**14, 10**15))


def message(text: str) -> bytes:
    cdata = text.replace("]]>", "]]]]><![CDATA[>")
    return (
        "<xml><ToUserName><![CDATA[gh_prop]]></ToUserName>"
        "<FromUserName><![CDATA[oPropUser]]></FromUserName><CreateTime>1700000000</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{cdata}]]></Content>"
        f"<MsgId>{next(_counter)}</MsgId></xml>"
    ).encode("utf-8", errors="surrogatepass")


def assert_valid_reply(status: int, text: str) -> None:
    assert status < 500, (status, text)
    if status != 200:
        return
    if text == "success":
        return
    root = ElementTree.fromstring(text)  # well-formed XML, or this raises
    fields = {child.tag: child.text or "" for child in root}
    assert fields["MsgType"] == "text" and fields["ToUserName"] == "oPropUser"
    assert 0 < len(fields["Content"].encode()) <= MAX_REPLY_BYTES


@PROPERTY
@given(text=st.text(max_size=600))
def test_any_text_gets_a_valid_reply(live: LiveApp, text: str) -> None:
    status, body = live.post(signed(), message(text))
    assert_valid_reply(status, body)
    assert status in (200, 400)  # 400 only for text XML cannot carry (NUL, lone surrogates)


_xmlish = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.lists(
        st.sampled_from(
            ["<xml>", "</xml>", "<MsgType>", "</MsgType>", "<![CDATA[", "]]>", "text", "event",
             "<Content>", "</Content>", "<FromUserName>", "</FromUserName>", "<ToUserName>",
             "</ToUserName>", "<MsgId>", "</MsgId>", "123", "<!DOCTYPE x>", "&amp;", "&x;",
             "<Event>", "</Event>", "subscribe", "<a>", "</a>", " ", "医保"]
        ),
        max_size=30,
    ).map(lambda parts: "".join(parts).encode()),
)  # fmt: skip


@PROPERTY
@given(body=_xmlish)
def test_any_body_never_5xx(live: LiveApp, body: bytes) -> None:
    status, text = live.post(signed(), body)
    assert status in (200, 400, 403, 413), (status, text)
    if status == 200 and text != "success":
        ElementTree.fromstring(text)


@PROPERTY
@given(query=st.text(max_size=200))
def test_any_query_string_never_5xx(live: LiveApp, query: str) -> None:
    status, text = live.post(query.replace("#", "%23"), message("异地就医怎么报销"))
    assert status in (200, 400, 403), (status, text)
