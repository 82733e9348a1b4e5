"""The webhook end to end through aiohttp's test client, with real wechatpy-encrypted payloads.

The bot is a counting double (``FakeBot``) so every test can assert how often it ran; the
customer-service API is ``FakeWeChatAPI`` on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from typing import Any

import aiohttp
import pytest
import xmltodict
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from fake_wechat_api import (
    OFFICIAL_ID,
    OPENID,
    OTHER_AES_KEY,
    TEST_AES_KEY,
    FakeWeChatAPI,
    WeChatSender,
    xml_message,
)

from bot import menu
from bot.app import STORAGE_KEY, Webhook, create_app
from bot.logs import JsonFormatter, hash_user
from bot.pipeline import Answer
from bot.settings import Settings
from bot.storage import MemoryStorage
from bot.wechat import MAX_REPLY_BYTES

TOKEN = "test-token"
SECRET_ID = "110101199003074477"


class FakeBot:
    """Counts calls; optionally slow or failing."""

    def __init__(self, delay: float = 0.0, fail: bool = False, reply: str | None = None) -> None:
        self.delay = delay
        self.fail = fail
        self.reply = reply
        self.calls: list[tuple[str, str, str]] = []
        self.forgotten: list[str] = []
        self.warmed = False

    def warmup(self) -> None:
        self.warmed = True

    async def respond(
        self, user: str, text: str, *, today: date | None = None, channel: str = "wechat"
    ) -> Answer:
        self.calls.append((user, text, channel))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError(f"boom while reading {SECRET_ID}")
        return Answer(
            text=self.reply if self.reply is not None else f"答：{text}", intent="payment"
        )

    async def forget(self, user: str) -> None:
        self.forgotten.append(user)


Make = Callable[..., Awaitable[tuple[TestClient[Any, Any], FakeBot]]]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeChatAPI]:
    server = FakeWeChatAPI()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def storage() -> AsyncIterator[MemoryStorage]:
    store = MemoryStorage()
    yield store
    await store.close()


@pytest.fixture
def make(aiohttp_client: Any, fake: FakeWeChatAPI, storage: MemoryStorage) -> Make:
    async def build(bot: FakeBot | None = None, **overrides: Any) -> tuple[Any, FakeBot]:
        bot = bot or FakeBot()
        values: dict[str, Any] = {
            "wechat_token": TOKEN,
            "wechat_app_id": fake.app_id,
            "wechat_app_secret": fake.secret,
            "wechat_api_base": fake.base_url,
            "reply_deadline": 1.0,
        }
        values.update(overrides)
        app = create_app(Settings(**values), responder=bot, storage=storage)
        return await aiohttp_client(app), bot

    return build


@pytest.fixture
def log_output() -> Any:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


async def post(
    client: Any, body: str | bytes | AsyncIterator[bytes], query: dict[str, str], **kwargs: Any
) -> tuple[int, str]:
    resp = await client.post("/wechat", params=query, data=body, **kwargs)
    return resp.status, await resp.text()


def reply_fields(text: str) -> dict[str, Any]:
    fields: dict[str, Any] = xmltodict.parse(text)["xml"]
    return fields


async def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        await asyncio.sleep(0.01)


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and 'File "' not in text and "Error" not in text


# -- URL verification -------------------------------------------------------------------------


async def test_get_official_vector_returns_echostr(make: Make) -> None:
    client, bot = await make(wechat_token="AAAAA", timestamp_window=1e12)
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    resp = await client.get("/wechat", params=query)
    assert resp.status == 200
    assert await resp.text() == "4375120948345356249"
    assert bot.warmed  # the responder is warmed up before the app serves


async def test_get_checks_signature_and_timestamp(make: Make) -> None:
    client, _ = await make(wechat_token="AAAAA")
    query = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",  # a 2024 timestamp: valid signature, outside the window
        "nonce": "1514711492",
        "echostr": "x",
    }
    assert (await client.get("/wechat", params=query)).status == 403
    bad = WeChatSender(token="AAAAA").query(token="wrong")
    assert (await client.get("/wechat", params={**bad, "echostr": "x"})).status == 403
    assert (await client.get("/wechat")).status == 403
    good = WeChatSender(token="AAAAA").query()
    assert (await client.get("/wechat", params={**good, "echostr": "abc"})).status == 200
    assert (await client.get("/wechat", params=good)).status == 400  # no echostr


# -- plain mode -------------------------------------------------------------------------------


async def test_text_message_round_trip(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    status, text = await post(client, sender.text("异地就医怎么报销"), sender.query())
    assert status == 200
    fields = reply_fields(text)
    assert fields["ToUserName"] == OPENID
    assert fields["FromUserName"] == OFFICIAL_ID
    assert fields["MsgType"] == "text"
    assert fields["Content"] == "答：异地就医怎么报销"
    assert abs(int(fields["CreateTime"]) - time.time()) < 5
    assert bot.calls == [(OPENID, "异地就医怎么报销", "wechat")]


@pytest.mark.parametrize(
    "query_change",
    [
        {"signature": "0" * 40},
        {"signature": ""},
        {"nonce": "other"},
        {"timestamp": "1"},
    ],
)
async def test_bad_signature_is_403_and_bot_not_called(
    make: Make, query_change: dict[str, str]
) -> None:
    client, bot = await make()
    sender = WeChatSender()
    status, text = await post(client, sender.text("你好"), {**sender.query(), **query_change})
    assert status == 403
    assert bot.calls == []
    assert no_traceback(text)


@pytest.mark.parametrize(("skew", "status"), [(-299, 200), (299, 200), (-301, 403), (301, 403)])
async def test_timestamp_window(make: Make, skew: int, status: int) -> None:
    client, bot = await make()
    sender = WeChatSender()
    got, _ = await post(client, sender.text("你好"), sender.query(int(time.time()) + skew))
    assert got == status
    assert len(bot.calls) == (1 if status == 200 else 0)


async def test_timestamp_window_is_configurable(make: Make) -> None:
    client, bot = await make(timestamp_window=30)
    sender = WeChatSender()
    got, _ = await post(client, sender.text("你好"), sender.query(int(time.time()) - 60))
    assert got == 403


async def test_body_cap_before_parsing(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    big = sender.text("医" * 22_000)  # > 64 KiB
    assert len(big.encode()) > 64 * 1024
    status, text = await post(client, big, sender.query())
    assert status == 413
    assert bot.calls == []

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer
        for _ in range(70):
            yield b"<xml>" + b"a" * 1024

    status, _ = await post(client, chunks(), sender.query())
    assert status == 413
    # Exactly at the cap is still accepted (then refused for what it is, not its size).
    at_cap = b"<xml><Pad>" + b"a" * (64 * 1024 - 22) + b"</Pad></xml>"
    assert len(at_cap) == 64 * 1024
    status, _ = await post(client, at_cap, sender.query())
    assert status == 400


async def test_body_cap_is_configurable(make: Make) -> None:
    client, bot = await make(body_limit=512)
    sender = WeChatSender()
    status, _ = await post(client, sender.text("医" * 200), sender.query())
    assert status == 413


HOSTILE_BODIES = [
    """<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>&lol3;</ToUserName></xml>""",
    f"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName>
<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>""",
    "<xml><ToUserName>gh</ToUserName><FromUserName>o",  # malformed
    "<notxml><MsgType>text</MsgType></notxml>",  # wrong root
    "<xml/>",
    "<xml></xml>",
    "",
    "\xff\xfe garbage",
    "<xml><ToUserName>gh</ToUserName><MsgType>text</MsgType></xml>",  # no sender
    '{"ToUserName": "gh", "MsgType": "text"}',  # JSON push format
]


@pytest.mark.parametrize("body", HOSTILE_BODIES)
async def test_hostile_bodies_get_4xx_never_500(make: Make, body: str, log_output: Any) -> None:
    client, bot = await make()
    status, text = await post(
        client, body.encode("utf-8", "surrogateescape"), WeChatSender().query()
    )
    assert 400 <= status < 500
    assert bot.calls == []
    assert no_traceback(text)
    assert "root:x:" not in text


async def test_reply_with_cdata_terminator_stays_valid_xml(make: Make) -> None:
    nasty = "注意]]><MsgType>image</MsgType>]]>结束"
    client, _ = await make(FakeBot(reply=nasty))
    sender = WeChatSender()
    status, text = await post(client, sender.text("你好"), sender.query())
    assert status == 200
    fields = reply_fields(text)
    assert fields["Content"] == nasty
    assert fields["MsgType"] == "text"


async def test_long_answer_is_split_and_the_rest_pushed(make: Make, fake: FakeWeChatAPI) -> None:
    long_answer = "职工医保住院报销比例一般在百分之八十以上。" * 40  # 840 chars, 2520 bytes
    client, _ = await make(FakeBot(reply=long_answer))
    sender = WeChatSender()
    status, text = await post(client, sender.text("报销比例"), sender.query())
    assert status == 200
    first = reply_fields(text)["Content"]
    assert len(first.encode()) <= MAX_REPLY_BYTES
    await wait_for(lambda: len(fake.sent) == 1)
    rest = fake.sent[0]["text"]["content"]
    assert len(rest.encode()) <= MAX_REPLY_BYTES
    assert fake.sent[0]["touser"] == OPENID
    assert first + rest == long_answer


# -- safe and compatible modes ----------------------------------------------------------------


async def test_safe_mode_round_trip(make: Make) -> None:
    client, bot = await make(wechat_encoding_aes_key=TEST_AES_KEY)
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    query, body = sender.encrypt(sender.text("医保断缴了怎么办"))
    status, text = await post(client, body, query)
    assert status == 200
    fields = sender.decrypt_reply(text)  # checks MsgSignature like WeChat would
    assert fields["ToUserName"] == OPENID
    assert fields["FromUserName"] == OFFICIAL_ID
    assert fields["Content"] == "答：医保断缴了怎么办"
    assert bot.calls == [(OPENID, "医保断缴了怎么办", "wechat")]


async def test_compatible_mode_uses_the_ciphertext(make: Make) -> None:
    client, bot = await make(wechat_encoding_aes_key=TEST_AES_KEY)
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    query, body = sender.encrypt(sender.text("兼容模式"), compatible=True)
    assert "<Content>" in body and "<Encrypt>" in body
    status, text = await post(client, body, query)
    assert status == 200
    assert sender.decrypt_reply(text)["Content"] == "答：兼容模式"


async def test_safe_mode_events_without_reply_answer_plain_success(make: Make) -> None:
    client, _ = await make(wechat_encoding_aes_key=TEST_AES_KEY)
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    query, body = sender.encrypt(sender.event("VIEW", EventKey="https://example.org/"))
    assert await post(client, body, query) == (200, "success")


async def test_safe_mode_refusals(make: Make) -> None:
    client, bot = await make(wechat_encoding_aes_key=TEST_AES_KEY)
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    plaintext = sender.text("你好")

    query, body = sender.encrypt(plaintext)
    status, text = await post(client, body, {**query, "msg_signature": "0" * 40})
    assert status == 403 and no_traceback(text)

    query, body = sender.encrypt(plaintext, aes_key=OTHER_AES_KEY)  # UnicodeDecodeError inside
    status, text = await post(client, body, query)
    assert 400 <= status < 500 and no_traceback(text)

    query, body = sender.encrypt(plaintext, app_id="wx_another_account")
    status, text = await post(client, body, query)
    assert status == 403 and no_traceback(text)

    # Plaintext when a key is configured: only the URL signature covers it, so it is refused.
    status, _ = await post(client, plaintext, sender.query())
    assert status == 403

    query, body = sender.encrypt(plaintext)
    tampered = body.replace("<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA")
    status, _ = await post(client, tampered, query)
    assert status == 403

    query, _ = sender.encrypt(plaintext)
    for body in ("<xml><ToUserName>x</ToUserName></xml>", "<xml/>", "<oops>", HOSTILE_BODIES[0]):
        status, text = await post(client, body, query)
        assert 400 <= status < 500 and no_traceback(text)
    assert bot.calls == []


async def test_encrypted_request_without_configured_key(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    query, body = sender.encrypt(sender.text("你好"))
    status, _ = await post(client, body, query)
    assert status == 400
    assert bot.calls == []


def test_malformed_aes_key_fails_at_startup(storage: MemoryStorage) -> None:
    with pytest.raises(ValueError, match="AES"):
        create_app(
            Settings(wechat_token="t", wechat_app_id="wx", wechat_encoding_aes_key="nope"),
            responder=FakeBot(),
            storage=storage,
        )


# -- message and event types ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg_type", "extra"),
    [
        ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m"}),
        (
            "location",
            {"Location_X": "23.13", "Location_Y": "113.26", "Scale": "20", "Label": "广州"},
        ),
        ("link", {"Title": "t", "Description": "d", "Url": "http://x"}),
        ("video", {"MediaId": "m", "ThumbMediaId": "t"}),
        ("shortvideo", {"MediaId": "m", "ThumbMediaId": "t"}),
        ("file", {"Title": "a.pdf", "FileKey": "k"}),
    ],
)
async def test_unsupported_messages_get_a_polite_note(
    make: Make, msg_type: str, extra: dict[str, str]
) -> None:
    client, bot = await make()
    sender = WeChatSender()
    body = xml_message(sender.fields(msg_type, MsgId=sender.next_id(), **extra))
    status, text = await post(client, body, sender.query())
    assert status == 200
    assert reply_fields(text)["Content"] == menu.UNSUPPORTED_TEXT
    assert bot.calls == []


async def test_voice_with_recognition_goes_to_the_bot(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    body = xml_message(
        sender.fields(
            "voice", MediaId="m", Format="amr", Recognition="医保怎么交费", MsgId=sender.next_id()
        )
    )
    status, text = await post(client, body, sender.query())
    assert reply_fields(text)["Content"] == "答：医保怎么交费"
    assert bot.calls == [(OPENID, "医保怎么交费", "wechat")]


@pytest.mark.parametrize("recognition", [{"Recognition": ""}, {}])
async def test_voice_without_recognition_asks_to_type(
    make: Make, recognition: dict[str, str]
) -> None:
    client, bot = await make()
    sender = WeChatSender()
    body = xml_message(
        sender.fields("voice", MediaId="m", Format="amr", MsgId=sender.next_id(), **recognition)
    )
    status, text = await post(client, body, sender.query())
    assert status == 200
    assert reply_fields(text)["Content"] == menu.PROMPT_TEXT
    assert bot.calls == []


@pytest.mark.parametrize(
    "extra", [{}, {"EventKey": "qrscene_123123", "Ticket": "TICKET"}], ids=["plain", "qrscene"]
)
async def test_subscribe_gets_the_welcome(make: Make, extra: dict[str, str]) -> None:
    client, bot = await make()
    sender = WeChatSender()
    status, text = await post(client, sender.event("subscribe", **extra), sender.query())
    assert status == 200
    fields = reply_fields(text)
    assert fields["Content"] == menu.WELCOME_TEXT
    assert fields["ToUserName"] == OPENID
    assert bot.calls == []


async def test_scan_gets_the_welcome(make: Make) -> None:
    client, _ = await make()
    sender = WeChatSender()
    body = sender.event("SCAN", EventKey="123123", Ticket="TICKET")
    status, text = await post(client, body, sender.query())
    assert reply_fields(text)["Content"] == menu.WELCOME_TEXT


async def test_unsubscribe_forgets_the_user(make: Make, storage: MemoryStorage) -> None:
    client, bot = await make()
    other = "o_someone_else_00000000000000"
    for key in (f"conv:{OPENID}", f"sub:{OPENID}:payment", f"csq:{OPENID}", f"sub:{other}"):
        await storage.set(key, 1)
    sender = WeChatSender()
    assert await post(client, sender.event("unsubscribe"), sender.query()) == (200, "success")
    assert bot.forgotten == [OPENID]
    for key in (f"conv:{OPENID}", f"sub:{OPENID}:payment", f"csq:{OPENID}"):
        assert await storage.get(key) is None
    assert await storage.get(f"sub:{other}") == 1


async def test_menu_click_asks_the_canned_question(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    status, text = await post(client, sender.event("CLICK", EventKey="Q_REMOTE"), sender.query())
    question = menu.item_for("Q_REMOTE").question  # type: ignore[union-attr]
    assert reply_fields(text)["Content"] == f"答：{question}"
    assert bot.calls == [(OPENID, question, "wechat")]


@pytest.mark.parametrize(
    ("key", "expected"), [("HELP", menu.HELP_TEXT), ("BOGUS", menu.HELP_TEXT)]
)
async def test_menu_help_and_unknown_keys(make: Make, key: str, expected: str) -> None:
    client, bot = await make()
    sender = WeChatSender()
    _, text = await post(client, sender.event("CLICK", EventKey=key), sender.query())
    assert reply_fields(text)["Content"] == expected
    assert bot.calls == []


async def test_menu_reset_forgets_and_confirms(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    _, text = await post(client, sender.event("CLICK", EventKey="RESET"), sender.query())
    assert reply_fields(text)["Content"] == menu.RESET_TEXT
    assert bot.forgotten == [OPENID]


@pytest.mark.parametrize(
    ("event", "extra"),
    [
        ("VIEW", {"EventKey": "https://example.org/", "MenuId": "1"}),
        ("LOCATION", {"Latitude": "23.13", "Longitude": "113.26", "Precision": "119.38"}),
        ("TEMPLATESENDJOBFINISH", {"MsgID": "200163836", "Status": "success"}),
        ("subscribe_msg_popup_event", {}),
        ("some_future_event", {"Whatever": "1"}),
    ],
)
async def test_events_without_reply_answer_success(
    make: Make, event: str, extra: dict[str, str]
) -> None:
    client, bot = await make()
    sender = WeChatSender()
    assert await post(client, sender.event(event, **extra), sender.query()) == (200, "success")
    assert bot.calls == [] and bot.forgotten == []


async def test_failing_bot_gets_an_apology_not_a_500(make: Make, log_output: Any) -> None:
    client, bot = await make(FakeBot(fail=True))
    sender = WeChatSender()
    status, text = await post(client, sender.text("你好"), sender.query())
    assert status == 200
    assert reply_fields(text)["Content"] == menu.BUSY_TEXT
    logged = log_output.getvalue()
    assert "boom" in logged  # the traceback is in the log …
    assert SECRET_ID not in logged  # … redacted
    assert OPENID not in logged
    assert hash_user(OPENID) in logged


async def test_unexpected_error_on_webhook_is_success_without_trace(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def explode(self: Webhook, msg: Any, deadline: float) -> str:
        raise KeyError("internal")

    monkeypatch.setattr(Webhook, "_dispatch", explode)
    client, _ = await make()
    sender = WeChatSender()
    assert await post(client, sender.text("你好"), sender.query()) == (200, "success")


async def test_logs_are_json_without_openids(make: Make, log_output: Any) -> None:
    client, _ = await make()
    sender = WeChatSender()
    await post(client, sender.text(f"我的身份证是{SECRET_ID}，电话13812345678"), sender.query())
    lines = [json.loads(line) for line in log_output.getvalue().splitlines() if line]
    assert any(line["msg"] == "wechat message" for line in lines)
    raw = log_output.getvalue()
    assert OPENID not in raw and SECRET_ID not in raw and "13812345678" not in raw


# -- retries and the deadline -----------------------------------------------------------------


async def test_sequential_retries_run_the_bot_once(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    body = sender.text("医保怎么转移", msg_id=777)
    replies = [await post(client, body, sender.query()) for _ in range(4)]
    assert len(bot.calls) == 1
    # Compared by content: CreateTime may tick between renderings.
    assert {(status, reply_fields(body)["Content"]) for status, body in replies} == {
        (200, "答：医保怎么转移")
    }
    metrics = await (await client.get("/metrics")).text()
    assert "bot_dedup_hits_total 3" in metrics


async def test_concurrent_retries_wait_for_the_first(make: Make) -> None:
    client, bot = await make(FakeBot(delay=0.2))
    sender = WeChatSender()
    body = sender.text("断缴了怎么补", msg_id=888)
    replies = await asyncio.gather(*(post(client, body, sender.query()) for _ in range(5)))
    assert len(bot.calls) == 1
    assert {(status, reply_fields(body)["Content"]) for status, body in replies} == {
        (200, "答：断缴了怎么补")
    }


async def test_different_messages_are_not_deduplicated(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    await post(client, sender.text("一"), sender.query())
    await post(client, sender.text("二"), sender.query())
    assert [c[1] for c in bot.calls] == ["一", "二"]


async def test_event_retries_dedup_on_sender_time_and_event(make: Make) -> None:
    client, bot = await make()
    sender = WeChatSender()
    click = sender.event("CLICK", create_time=1_700_000_000, EventKey="Q_PAYMENT")
    for _ in range(3):
        await post(client, click, sender.query())
    assert len(bot.calls) == 1
    later = sender.event("CLICK", create_time=1_700_000_001, EventKey="Q_PAYMENT")
    await post(client, later, sender.query())
    assert len(bot.calls) == 2


async def test_retry_in_another_worker_gets_the_same_reply(
    aiohttp_client: Any, fake: FakeWeChatAPI, storage: MemoryStorage
) -> None:
    settings = Settings(
        wechat_token=TOKEN,
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        reply_deadline=2.0,
    )
    bot = FakeBot(delay=0.3)
    # Two workers, one shared store: the second never saw the message start.
    worker_a = await aiohttp_client(create_app(settings, responder=bot, storage=storage))
    worker_b = await aiohttp_client(create_app(settings, responder=bot, storage=storage))
    sender = WeChatSender()
    body = sender.text("跨进程", msg_id=999)
    first = asyncio.create_task(post(worker_a, body, sender.query()))
    await asyncio.sleep(0.05)
    second = await post(worker_b, body, sender.query())
    first_status, first_body = await first
    # Same reply, compared field by field: CreateTime may tick between the two renderings.
    assert first_status == second[0] == 200
    assert (
        reply_fields(first_body)["Content"] == reply_fields(second[1])["Content"] == "答：跨进程"
    )
    assert len(bot.calls) == 1


async def test_slow_answer_returns_success_then_pushes(make: Make, fake: FakeWeChatAPI) -> None:
    client, bot = await make(FakeBot(delay=0.4), reply_deadline=0.15)
    sender = WeChatSender()
    body = sender.text("慢问题", msg_id=4242)
    started = time.monotonic()
    assert await post(client, body, sender.query()) == (200, "success")
    assert time.monotonic() - started < 0.35
    await wait_for(lambda: len(fake.sent) == 1)
    assert fake.sent[0] == {
        "touser": OPENID,
        "msgtype": "text",
        "text": {"content": "答：慢问题"},
        "_ok": True,
    }
    # A retry after the push must not deliver the answer a second time.
    assert await post(client, body, sender.query()) == (200, "success")
    await asyncio.sleep(0.05)
    assert len(fake.sent) == 1
    assert len(bot.calls) == 1
    metrics = await (await client.get("/metrics")).text()
    assert "bot_late_answers_total 1" in metrics
    assert 'bot_customer_service_pushes_total{result="sent"} 1' in metrics


async def test_retry_during_a_slow_answer_gets_it_passively(
    make: Make, fake: FakeWeChatAPI
) -> None:
    client, bot = await make(FakeBot(delay=0.6), reply_deadline=0.4)
    sender = WeChatSender()
    body = sender.text("稍慢", msg_id=5151)
    assert await post(client, body, sender.query()) == (200, "success")  # gives up at 0.4 s
    status, text = await post(client, body, sender.query())  # the retry gets it at 0.6 s
    assert reply_fields(text)["Content"] == "答：稍慢"
    await asyncio.sleep(0.1)
    assert fake.sent == []  # delivered once, passively
    assert len(bot.calls) == 1


async def test_pushes_respect_the_quota(make: Make, fake: FakeWeChatAPI) -> None:
    client, bot = await make(FakeBot(delay=0.1), reply_deadline=0.01)
    sender = WeChatSender()
    for i in range(7):
        assert await post(client, sender.text(f"问题{i}"), sender.query()) == (200, "success")
    await wait_for(lambda: len(fake.sent) == 5)
    await asyncio.sleep(0.3)  # the 6th and 7th answers are done by now, and not sent
    assert len(bot.calls) == 7
    assert len(fake.sent) == 5
    assert len(fake.calls_to("message/custom/send")) == 5


async def test_push_errors_45015_45047_are_handled(make: Make, fake: FakeWeChatAPI) -> None:
    client, bot = await make(FakeBot(delay=0.05), reply_deadline=0.01)
    fake.fail_next("message/custom/send", 45015)
    sender = WeChatSender()
    assert await post(client, sender.text("一"), sender.query()) == (200, "success")
    await wait_for(lambda: len(fake.calls_to("message/custom/send")) == 1)
    assert await post(client, sender.text("二"), sender.query()) == (200, "success")
    await asyncio.sleep(0.2)
    assert len(fake.calls_to("message/custom/send")) == 1  # stopped trying for this user
    metrics = await (await client.get("/metrics")).text()
    assert 'result="out_of_window"' in metrics and 'result="quota"' in metrics


async def test_real_deadline_is_four_and_a_half_seconds(make: Make, fake: FakeWeChatAPI) -> None:
    client, _ = await make(FakeBot(delay=5.0), reply_deadline=Settings().reply_deadline)
    sender = WeChatSender()
    started = time.monotonic()
    assert await post(client, sender.text("很慢的问题"), sender.query()) == (200, "success")
    elapsed = time.monotonic() - started
    assert 4.45 <= elapsed < 4.9  # WeChat gives up at 5 s
    await wait_for(lambda: len(fake.sent) == 1)
    assert fake.sent[0]["text"]["content"] == "答：很慢的问题"


async def test_storage_outage_still_answers(make: Make, storage: MemoryStorage) -> None:
    client, bot = await make()
    await storage.close()  # every storage call now raises
    sender = WeChatSender()
    status, text = await post(client, sender.text("还在吗"), sender.query())
    assert status == 200
    assert reply_fields(text)["Content"] == "答：还在吗"
    resp = await client.get("/healthz")
    assert resp.status == 503


# -- health, metrics, shutdown ----------------------------------------------------------------


async def test_healthz_and_metrics(make: Make) -> None:
    client, _ = await make()
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok", "storage": "ok"}
    sender = WeChatSender()
    await post(client, sender.text("你好"), sender.query())
    await post(client, "<xml/>", sender.query())
    resp = await client.get("/metrics")
    assert resp.content_type == "text/plain"
    body = await resp.text()
    assert 'bot_http_requests_total{route="/wechat",status="200"} 1' in body
    assert 'bot_http_requests_total{route="/wechat",status="400"} 1' in body
    assert 'bot_intents_total{intent="payment",channel="wechat"} 1' in body
    assert 'bot_wechat_messages_total{type="text"} 1' in body
    assert 'bot_http_request_duration_seconds_count{route="/wechat"} 2' in body
    assert "# TYPE bot_http_request_duration_seconds histogram" in body


async def test_shutdown_finishes_pending_answers_and_closes_owned_storage(
    fake: FakeWeChatAPI,
) -> None:
    settings = Settings(
        wechat_token=TOKEN,
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        database_url="memory://",
        reply_deadline=0.05,
    )
    bot = FakeBot(delay=0.3)
    app = create_app(settings, responder=bot)
    server = TestServer(app)
    client = TestClient(server)
    await client.start_server()
    sender = WeChatSender()
    assert await post(client, sender.text("关机前"), sender.query()) == (200, "success")
    store = app[STORAGE_KEY]
    await client.close()  # runs the cleanup context
    assert [m["text"]["content"] for m in fake.sent] == ["答：关机前"]
    assert await store.ping() is False


async def test_injected_storage_is_left_open(make: Make, storage: MemoryStorage) -> None:
    client, _ = await make()
    await client.close()
    assert await storage.ping() is True


def test_app_is_an_aiohttp_application(storage: MemoryStorage) -> None:
    app = create_app(Settings(), responder=FakeBot(), storage=storage)
    assert isinstance(app, web.Application)


async def test_shutdown_lets_open_requests_finish(fake: FakeWeChatAPI) -> None:
    settings = Settings(
        wechat_token=TOKEN,
        wechat_app_id=fake.app_id,
        wechat_app_secret=fake.secret,
        wechat_api_base=fake.base_url,
        database_url="memory://",
        reply_deadline=2.0,
    )
    app = create_app(settings, responder=FakeBot(delay=0.3))
    server = TestServer(app)
    await server.start_server()
    sender = WeChatSender()
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(
            session.post(
                server.make_url("/wechat"), params=sender.query(), data=sender.text("关机中")
            )
        )
        await asyncio.sleep(0.1)  # the answer is being computed …
        await server.close()  # … when the server is told to stop
        resp = await request
        assert resp.status == 200
        assert reply_fields(await resp.text())["Content"] == "答：关机中"
    assert fake.sent == []  # answered in time, nothing pushed
