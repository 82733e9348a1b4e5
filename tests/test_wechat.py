"""The pure protocol layer (bot/wechat.py) and the menu: vectors, parsing, rendering, crypto."""

from __future__ import annotations

import re
from typing import Any

import pytest
import xmltodict
from fake_wechat_api import (
    OFFICIAL_ID,
    OPENID,
    OTHER_AES_KEY,
    TEST_AES_KEY,
    WeChatSender,
    xml_message,
)
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto

from bot import menu
from bot.wechat import (
    MAX_REPLY_BYTES,
    ActionKind,
    BadRequest,
    BadSignature,
    Crypto,
    cdata,
    check_signature,
    check_timestamp,
    classify,
    parse_message,
    parse_xml,
    render_text,
    sanitize,
    signature,
    split_text,
    truncate_utf8,
)

# -- signatures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "nonce", "expected"),
    [  # the official vectors (doc "消息推送", Token=AAAAA)
        ("1714036504", "1514711492", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
        ("1714037059", "486452656", "899cf89e464efb63f54ddac96b0a0a235f53aa78"),
    ],
)
def test_official_signature_vectors(timestamp: str, nonce: str, expected: str) -> None:
    assert signature("AAAAA", timestamp, nonce) == expected
    check_signature("AAAAA", expected, timestamp, nonce)
    with pytest.raises(BadSignature):
        check_signature("AAAAB", expected, timestamp, nonce)
    with pytest.raises(BadSignature):
        check_signature("AAAAA", expected[:-1] + "0", timestamp, nonce)


@pytest.mark.parametrize(
    "args",
    [("", "sig", "1", "2"), ("tok", "", "1", "2"), ("tok", "s", "", "2"), ("t", "s", "1", "")],
)
def test_missing_signature_parts_are_refused(args: tuple[str, str, str, str]) -> None:
    with pytest.raises(BadSignature):
        check_signature(*args)


def test_timestamp_window() -> None:
    now = 1_800_000_000.0
    check_timestamp("1800000000", now, 300)
    check_timestamp("1799999700", now, 300)
    check_timestamp("1800000300", now, 300)
    for bad in (
        "1799999699",
        "1800000301",
        "",
        "abc",
        "-5",
        "1e9",
        "１８００００００００",
        "9" * 20,
    ):
        with pytest.raises(BadSignature):
            check_timestamp(bad, now, 300)


# -- parsing ----------------------------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<xml><ToUserName>&lol2;</ToUserName></xml>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>&xxe;</FromUserName><MsgType>text</MsgType></xml>"""


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        "<!doctype xml><xml><A>1</A></xml>",
        "<xml><A>1</A>",  # malformed
        "not xml at all",
        "",
        "<root><A>1</A></root>",  # wrong root
        "<xml/>",
        "<xml></xml>",
        "<xml>text only</xml>",
        "<xml><A>1</A></xml><xml><A>2</A></xml>",
        "\x00\x01<xml>",
    ],
)
def test_hostile_xml_is_a_bad_request(body: str) -> None:
    with pytest.raises(BadRequest):
        parse_message(body)


def test_missing_required_fields() -> None:
    with pytest.raises(BadRequest):
        parse_message("<xml><ToUserName>a</ToUserName><MsgType>text</MsgType></xml>")
    with pytest.raises(BadRequest):
        parse_message(
            f"<xml><ToUserName>a</ToUserName><FromUserName>{'x' * 200}</FromUserName>"
            "<MsgType>text</MsgType></xml>"
        )
    with pytest.raises(BadRequest):
        parse_message(
            "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName>"
            "<MsgType>text</MsgType><MsgId>12abc</MsgId></xml>"
        )


def test_parse_text_message() -> None:
    sender = WeChatSender()
    msg = parse_message(sender.text("  异地就医怎么报销  ", msg_id=1234567890123456))
    assert msg.to_user == OFFICIAL_ID
    assert msg.from_user == OPENID
    assert msg.msg_type == "text"
    assert msg.content == "异地就医怎么报销"
    assert msg.msg_id == "1234567890123456"
    assert msg.dedup_key == "m:1234567890123456"
    assert classify(msg).kind is ActionKind.ASK


def test_event_dedup_key_uses_sender_time_and_event() -> None:
    sender = WeChatSender()
    click = parse_message(sender.event("CLICK", create_time=1700000000, EventKey="Q_PAYMENT"))
    view = parse_message(sender.event("VIEW", create_time=1700000000, EventKey="https://x"))
    assert click.dedup_key == f"e:{OPENID}:1700000000:click"
    assert click.dedup_key != view.dedup_key


@pytest.mark.parametrize(
    ("msg_type", "extra", "kind", "text"),
    [
        ("text", {"Content": "你好"}, ActionKind.ASK, "你好"),
        ("text", {"Content": ""}, ActionKind.PROMPT, ""),
        ("voice", {"MediaId": "m", "Format": "amr", "Recognition": "医保怎么交"}, ActionKind.ASK,
         "医保怎么交"),
        ("voice", {"MediaId": "m", "Format": "amr", "Recognition": ""}, ActionKind.PROMPT, ""),
        ("voice", {"MediaId": "m", "Format": "amr"}, ActionKind.PROMPT, ""),
        ("image", {"PicUrl": "http://x/y.jpg", "MediaId": "m"}, ActionKind.UNSUPPORTED, ""),
        ("location", {"Location_X": "23.1", "Location_Y": "113.3", "Scale": "20",
                      "Label": "广州"}, ActionKind.UNSUPPORTED, ""),
        ("link", {"Title": "t", "Description": "d", "Url": "http://x"}, ActionKind.UNSUPPORTED,
         ""),
        ("video", {"MediaId": "m", "ThumbMediaId": "t"}, ActionKind.UNSUPPORTED, ""),
        ("shortvideo", {"MediaId": "m", "ThumbMediaId": "t"}, ActionKind.UNSUPPORTED, ""),
        ("hologram", {}, ActionKind.UNSUPPORTED, ""),
    ],
)  # fmt: skip
def test_classify_messages(
    msg_type: str, extra: dict[str, str], kind: ActionKind, text: str
) -> None:
    sender = WeChatSender()
    msg = parse_message(xml_message(sender.fields(msg_type, MsgId=sender.next_id(), **extra)))
    action = classify(msg)
    assert action.kind is kind
    assert action.text == text


@pytest.mark.parametrize(
    ("event", "extra", "kind", "text"),
    [
        ("subscribe", {}, ActionKind.WELCOME, ""),
        ("subscribe", {"EventKey": "qrscene_123", "Ticket": "T"}, ActionKind.WELCOME, ""),
        ("SCAN", {"EventKey": "123", "Ticket": "T"}, ActionKind.WELCOME, ""),
        ("unsubscribe", {}, ActionKind.FORGET, ""),
        ("CLICK", {"EventKey": "Q_PAYMENT"}, ActionKind.CLICK, "Q_PAYMENT"),
        ("VIEW", {"EventKey": "https://example.org/", "MenuId": "1"}, ActionKind.IGNORE, ""),
        ("LOCATION", {"Latitude": "23.1", "Longitude": "113.3", "Precision": "100"},
         ActionKind.IGNORE, ""),
        ("TEMPLATESENDJOBFINISH", {"MsgID": "200163836", "Status": "success"}, ActionKind.IGNORE,
         ""),
        ("subscribe_msg_popup_event", {}, ActionKind.IGNORE, ""),
        ("view_miniprogram", {"EventKey": "pages/index"}, ActionKind.IGNORE, ""),
    ],
)  # fmt: skip
def test_classify_events(event: str, extra: dict[str, str], kind: ActionKind, text: str) -> None:
    msg = parse_message(WeChatSender().event(event, **extra))
    action = classify(msg)
    assert action.kind is kind
    assert action.text == text


# -- rendering --------------------------------------------------------------------------------


def test_cdata_terminator_cannot_break_the_reply() -> None:
    nasty = "A]]><MsgType>image</MsgType><![CDATA[B]]>]]>"
    xml = render_text(OPENID, OFFICIAL_ID, nasty, 1700000000)
    fields = xmltodict.parse(xml)["xml"]
    assert fields["Content"] == nasty
    assert fields["MsgType"] == "text"
    assert fields["ToUserName"] == OPENID
    assert fields["FromUserName"] == OFFICIAL_ID
    assert fields["CreateTime"] == "1700000000"


def test_control_characters_are_dropped() -> None:
    xml = render_text(OPENID, OFFICIAL_ID, "a\x00b\x08c\x1fd\ttab\nline\ud800", 1)
    assert xmltodict.parse(xml)["xml"]["Content"] == "abcd\ttab\nline"
    assert sanitize("正常文本") == "正常文本"


@given(st.text())
def test_cdata_round_trips_any_text(text: str) -> None:
    doc = xmltodict.parse(f"<xml><C>{cdata(text)}</C></xml>", strip_whitespace=False)
    assert (doc["xml"]["C"] or "") == sanitize(text).replace("\r\n", "\n").replace("\r", "\n")


def test_split_700_cjk_chars_at_sentence_boundaries() -> None:
    sentence = "职工医保住院报销比例一般在百分之八十以上。"  # 21 chars, 63 bytes
    text = sentence * 34  # 714 chars, 2142 bytes
    assert len(text.encode()) > MAX_REPLY_BYTES
    pieces = split_text(text)
    assert len(pieces) == 2
    assert all(len(p.encode()) <= MAX_REPLY_BYTES for p in pieces)
    assert all(p.endswith("。") for p in pieces)
    assert "".join(pieces) == text


def test_split_without_boundaries_cuts_on_utf8_characters() -> None:
    text = "医" * 1000  # 3000 bytes, no punctuation
    pieces = split_text(text)
    assert [len(p.encode()) for p in pieces] == [2046, 954]
    assert "".join(pieces) == text


def test_short_and_empty_texts() -> None:
    assert split_text("你好") == ["你好"]
    assert split_text("   ") == []


@given(st.text(max_size=3000), st.integers(min_value=4, max_value=2048))
def test_split_property(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(p.encode("utf-8")) <= limit for p in pieces)
    squash = re.compile(r"\s+")
    assert squash.sub("", "".join(pieces)) == squash.sub("", sanitize(text))


@given(st.text(), st.integers(min_value=0, max_value=64))
def test_truncate_utf8_never_splits_a_character(text: str, limit: int) -> None:
    cut = truncate_utf8(sanitize(text), limit)
    assert len(cut.encode("utf-8")) <= limit
    assert sanitize(text).startswith(cut)


# -- safe mode --------------------------------------------------------------------------------


def _envelope(
    sender: WeChatSender, plaintext: str, **kwargs: str
) -> tuple[dict[str, str], dict[str, Any]]:
    query, body = sender.encrypt(plaintext, **kwargs)  # type: ignore[arg-type]
    return query, parse_xml(body)


def test_crypto_round_trip() -> None:
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    crypto = Crypto(sender.token, TEST_AES_KEY, sender.app_id)
    plaintext = sender.text("医保怎么转移")
    query, envelope = _envelope(sender, plaintext)
    decrypted = crypto.decrypt(
        envelope, query["msg_signature"], query["timestamp"], query["nonce"]
    )
    assert decrypted == plaintext
    reply = crypto.encrypt(render_text(OPENID, OFFICIAL_ID, "答复", 1), "42", "1700000000")
    fields = sender.decrypt_reply(reply)
    assert fields["Content"] == "答复"
    assert fields["ToUserName"] == OPENID


def test_crypto_refuses_bad_signature_wrong_key_and_wrong_appid() -> None:
    sender = WeChatSender(aes_key=TEST_AES_KEY)
    crypto = Crypto(sender.token, TEST_AES_KEY, sender.app_id)
    plaintext = sender.text("你好")
    query, envelope = _envelope(sender, plaintext)
    with pytest.raises(BadSignature):
        crypto.decrypt(envelope, "0" * 40, query["timestamp"], query["nonce"])
    with pytest.raises(BadSignature):
        crypto.decrypt(envelope, "", query["timestamp"], query["nonce"])
    with pytest.raises(BadRequest):
        crypto.decrypt({"ToUserName": "x"}, query["msg_signature"], query["timestamp"], "1")
    # Encrypted with another key: signature fine, plaintext garbage (UnicodeDecodeError inside).
    query, envelope = _envelope(sender, plaintext, aes_key=OTHER_AES_KEY)
    with pytest.raises(BadRequest):
        crypto.decrypt(envelope, query["msg_signature"], query["timestamp"], query["nonce"])
    query, envelope = _envelope(sender, plaintext, app_id="wx_someone_else")
    with pytest.raises(BadSignature):
        crypto.decrypt(envelope, query["msg_signature"], query["timestamp"], query["nonce"])


def test_crypto_survives_garbage_ciphertext() -> None:
    crypto = Crypto("t", TEST_AES_KEY, "wx1")
    for garbage in ("!!!notbase64", "QUJD", "A" * 64, "=" * 8):
        sig = signature("t", "1", "2", garbage)
        with pytest.raises(BadRequest):
            crypto.decrypt({"Encrypt": garbage}, sig, "1", "2")


@pytest.mark.parametrize("key", ["short", TEST_AES_KEY + "A", "!" * 43])
def test_bad_aes_key_configuration_fails_loudly(key: str) -> None:
    with pytest.raises(ValueError):
        Crypto("t", key, "wx1")
    with pytest.raises(ValueError):
        Crypto("t", TEST_AES_KEY, "")


def test_wechatpy_interoperates_with_our_signature() -> None:
    crypto = WeChatCrypto("t", TEST_AES_KEY, "wx1")
    envelope = xmltodict.parse(crypto.encrypt_message("<xml><A>1</A></xml>", "9", "100"))["xml"]
    assert envelope["MsgSignature"] == signature("t", "100", "9", envelope["Encrypt"])


# -- menu -------------------------------------------------------------------------------------


def test_menu_respects_wechat_limits() -> None:
    body = menu.menu_json()
    buttons = body["button"]
    assert 1 <= len(buttons) <= 3
    keys = []
    for button in buttons:
        assert len(button["name"].encode()) <= 16
        assert 1 <= len(button["sub_button"]) <= 5
        for sub in button["sub_button"]:
            assert sub["type"] == "click"
            assert len(sub["name"].encode()) <= 60
            assert 0 < len(sub["key"].encode()) <= 128
            keys.append(sub["key"])
    assert len(keys) == len(set(keys))
    assert menu.KEY_HELP in keys and menu.KEY_RESET in keys


def test_every_question_key_has_a_question_and_quick_replies_match() -> None:
    for key in (item["key"] for item in menu.quick_replies()):
        item = menu.item_for(key)
        assert item is not None
        assert item.question or key in (menu.KEY_HELP, menu.KEY_RESET)
    assert menu.item_for("NOPE") is None


def test_fixed_texts_fit_a_passive_reply() -> None:
    for text in (menu.WELCOME_TEXT, menu.HELP_TEXT, menu.RESET_TEXT, menu.PROMPT_TEXT,
                 menu.UNSUPPORTED_TEXT, menu.BUSY_TEXT):  # fmt: skip
        assert 0 < len(text.encode()) <= MAX_REPLY_BYTES
