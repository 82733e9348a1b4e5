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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Cantonese function words become the Mandarin ones every matcher knows
        ("東莞轉惠州嘅醫保要幾耐", "东莞转惠州的医保要多久"),
        ("我喺中山交咗兩年", "我在中山交了两年"),
        ("可唔可以網上補交", "可不可以网上补交"),
        ("係唔係要本人去辦", "是不是要本人去办"),
        ("自己交定係公司交", "自己交还是公司交"),
        ("我冇交醫保", "我没交医保"),
        ("有冇欠費", "有没有欠费"),
        ("點樣查餘額", "怎样查余额"),
        ("補交幾多錢", "补交多少钱"),
        ("唔該晒", "谢谢晒"),
        # ... but not where the same characters are ordinary Mandarin
        ("唔,知道了", "唔,知道了"),
        ("确定系统没问题", "确定系统没问题"),
        ("医保关系转移", "医保关系转移"),
        ("有一点样子", "有一点样子"),
        ("然而家里没钱", "然而家里没钱"),
        ("一定系统地看", "一定系统地看"),
        ("我而家喺广州", "我现在在广州"),
    ],
)
def test_cantonese_function_words(raw: str, expected: str) -> None:
    assert normalize(raw) == expected
