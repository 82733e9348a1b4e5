"""Logs (JSON lines, redaction), metrics (Prometheus text) and the transport settings."""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.logs import JsonFormatter, hash_user, redact, setup_logging
from bot.metrics import Counter, Histogram, Metrics
from bot.settings import Settings

OPENID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证110101199003074477办理", "身份证[ID]办理"),
        ("身份证11010119900307447X", "身份证[ID]"),
        ("老身份证110101900307447", "老身份证[ID]"),
        ("电话13812345678", "电话[PHONE]"),
        ("电话 138 1234 5678 谢谢", "电话 [PHONE] 谢谢"),
        ("电话+86 13812345678", "电话[PHONE]"),
        ("卡号6222021234567890123", "卡号[CARD]"),
        ("卡号 6222 0212 3456 7890", "卡号 [CARD]"),
        ("缴费基数5000元，比例8%，2024年", "缴费基数5000元，比例8%，2024年"),
        ("MsgId 1234567890", "MsgId 1234567890"),
        (f"user {OPENID} asked", "user [OPENID] asked"),
        (f"POST /wechat?signature=x&openid={OPENID} HTTP/1.1", "POST /wechat?signature=x&openid=[OPENID] HTTP/1.1"),
        ("", ""),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_hash_user_is_stable_short_and_not_the_openid() -> None:
    assert hash_user(OPENID) == hash_user(OPENID)
    assert hash_user(OPENID) != hash_user(OPENID + "x")
    assert len(hash_user(OPENID)) == 16
    assert OPENID not in hash_user(OPENID)


def _record(logger: logging.Logger, stream: io.StringIO) -> dict[str, object]:
    line = stream.getvalue().strip().splitlines()[-1]
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_json_formatter_redacts_message_extras_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("test.observability")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info(
            "asked about %s", "13812345678", extra={"detail": {"id": "110101199003074477"}}
        )
        record = _record(logger, stream)
        assert record["msg"] == "asked about [PHONE]"
        assert record["detail"] == {"id": "[ID]"}
        assert record["level"] == "INFO" and record["logger"] == "test.observability"
        try:
            raise ValueError("card 6222021234567890123")
        except ValueError:
            logger.exception("failed")
        record = _record(logger, stream)
        assert "ValueError: card [CARD]" in str(record["exc"])
        assert "6222021234567890123" not in stream.getvalue()
    finally:
        logger.removeHandler(handler)


def test_setup_logging_writes_json_lines_and_silences_access_log() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        setup_logging("debug", stream)
        logging.getLogger("x").debug("hello", extra={"n": 1})
        logging.getLogger("aiohttp.access").info("GET /?openid=%s", OPENID)
        logging.getLogger("aiosqlite").debug("SELECT ... %s", OPENID)
        lines = [json.loads(line) for line in stream.getvalue().splitlines()]
        assert lines == [lines[0]] and lines[0]["msg"] == "hello" and lines[0]["n"] == 1
        setup_logging("nonsense", stream)
        assert root.level == logging.INFO
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_counter_and_histogram_exposition() -> None:
    counter = Counter("c_total", "A counter.", ("route",))
    counter.inc(route="/a")
    counter.inc(2, route='/"b"\n')
    assert counter.value(route="/a") == 1
    assert list(counter.render()) == [
        "# HELP c_total A counter.",
        "# TYPE c_total counter",
        'c_total{route="/\\"b\\"\\n"} 2',
        'c_total{route="/a"} 1',
    ]
    hist = Histogram("h_seconds", "A histogram.", ("route",), buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 3.0):
        hist.observe(value, route="/a")
    assert hist.count(route="/a") == 4
    assert list(hist.render()) == [
        "# HELP h_seconds A histogram.",
        "# TYPE h_seconds histogram",
        'h_seconds_bucket{route="/a",le="0.1"} 2',
        'h_seconds_bucket{route="/a",le="1"} 3',
        'h_seconds_bucket{route="/a",le="+Inf"} 4',
        'h_seconds_sum{route="/a"} 3.65',
        'h_seconds_count{route="/a"} 4',
    ]


def test_metrics_render_is_valid_exposition() -> None:
    metrics = Metrics()
    metrics.dedup_hits.inc()
    metrics.intents.inc(intent="payment", channel="wechat")
    text = metrics.render()
    assert text.endswith("\n")
    assert "bot_dedup_hits_total 1" in text
    assert 'bot_intents_total{intent="payment",channel="wechat"} 1' in text
    for line in text.splitlines():
        assert line.startswith("# ") or line.split(" ")[-1].replace(".", "", 1).isdigit()


def test_transport_settings_from_env_are_tolerant() -> None:
    defaults = Settings.from_env({})
    assert (defaults.body_limit, defaults.dedup_ttl, defaults.cs_quota) == (65536, 300.0, 5)
    assert defaults.cs_window == 48 * 3600 and defaults.reply_deadline == 4.5
    custom = Settings.from_env(
        {
            "WECHAT_BODY_LIMIT": "1024",
            "DEDUP_TTL": "900",
            "WECHAT_CS_QUOTA": "3",
            "REPLY_DEADLINE": "2.5",
            "WECHAT_TIMESTAMP_WINDOW": "60",
            "SHUTDOWN_TIMEOUT": "3",
        }
    )
    assert (custom.body_limit, custom.dedup_ttl, custom.cs_quota) == (1024, 900.0, 3)
    assert (custom.reply_deadline, custom.timestamp_window, custom.shutdown_timeout) == (
        2.5,
        60.0,
        3.0,
    )
    hostile = Settings.from_env(
        {
            "WECHAT_BODY_LIMIT": "-1",
            "DEDUP_TTL": "10",  # below WeChat's retry horizon: raised to five minutes
            "WECHAT_CS_QUOTA": "lots",
            "REPLY_DEADLINE": "nan",
            "WECHAT_TIMESTAMP_WINDOW": "-5",
            "WECHAT_CS_WINDOW": "inf",
        }
    )
    assert hostile.body_limit == 65536 and hostile.dedup_ttl == 300.0 and hostile.cs_quota == 5
    assert hostile.reply_deadline == 4.5 and hostile.timestamp_window == 300.0
    assert hostile.cs_window == 48 * 3600
