"""Normalisation: the canonical text every matcher sees."""

import pytest

from bot.nlu.normalize import MAX_CHARS, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("医保转移", "医保转移"),
        ("ＡＢＣ１２３，医保？", "abc123,医保?"),  # full-width to half-width
        ("杭州醫保轉移怎麼辦", "杭州医保转移怎么办"),  # traditional to simplified
        ("深圳醫保餘額可以提現嗎", "深圳医保余额可以提现吗"),
        ("瀋陽 鄭州 廣州", "沈阳 郑州 广州"),
        ("@小助手 昆明医保补缴", "昆明医保补缴"),  # @-mention stripped
        ("@医保小助手\u2005断缴了怎么办", "断缴了怎么办"),  # WeChat's mention separator
        ("医保😀😀转移", "医保 转移"),  # emoji dropped
        ("\x00\x07医保\u200b转移\x1b", "医保转移"),  # control and zero-width characters
        ("转移吗？？？？", "转移吗?"),  # repeated punctuation collapsed
        ("真的吗!!!???", "真的吗!"),
        ("  医保   余额  ", "医保 余额"),
        ("断了三个月 基数8千", "断了三个月 基数8千"),  # numerals left for the entity parser
        ("回覆我", "回复我"),  # phrase-only conversion still applies
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_long_input_is_capped() -> None:
    assert len(normalize("医保" * 10_000)) == MAX_CHARS


@pytest.mark.parametrize("raw", ["!!!", "😀😀😀", "\x00\x01\x02", "   ", "，。？"])
def test_noise_only_gives_short_harmless_text(raw: str) -> None:
    out = normalize(raw)
    assert len(out) <= 3
    assert not any(ord(ch) < 32 for ch in out)
