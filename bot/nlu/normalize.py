"""Text normalisation before any matching.

Everything downstream (jieba, the place resolver, the intent matcher, the entity parser) sees the
same canonical text: simplified characters, half-width ASCII, no @-mentions, emoji or control
characters, and runs of punctuation collapsed. Digits and Chinese numerals are kept as they are so
the entity parser can read amounts and durations. Common Cantonese function words become their
Mandarin equivalents (幾耐 → 多久, 喺 → 在, 定係 → 还是), so every matcher reads them as the words
it knows, and none mistakes one for a place (定系 is "or", not a typo of 定西).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc
from opencc import OpenCC

# Messages longer than this are cut: no real question is longer, and the cap bounds the work any
# single hostile line can cause in jieba and the fuzzy matcher.
MAX_CHARS = 500

_MENTION = re.compile(r"@[^\s@,，:：!！?？]{1,24}[\s\u2005\u2006\u00a0:：,，]*")
_SPACES = re.compile(r"\s+")
# A run of the same punctuation collapses to one; a mixed run of ?/! keeps its first mark.
_PUNCT_RUN = re.compile(r"([^\w\s])\1+")
_MIXED_QE = re.compile(r"([?!])[?!]+")


@lru_cache(maxsize=1)
def _t2s() -> tuple[OpenCC, frozenset[str]]:
    """The converter and the set of characters that can make it change anything.

    Converting costs ~40 µs a message, most messages are already simplified, so we convert only
    when a character that OpenCC would change is present. Phrase-only conversions (回覆→回复) are
    covered by adding the few characters that occur only in phrase entries.
    """
    converter = OpenCC("t2s")
    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    gate = set("瞭藉覆沈牴衹")
    for line in table.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if value.split(" ")[0] != key:
            gate.add(key)
    return converter, frozenset(gate)


def _clean(ch: str) -> str:
    """Control and format characters vanish (a zero-width space inside a word must not split
    it); emoji and other symbols become a space, since they often stand between words."""
    cat = unicodedata.category(ch)
    if cat[0] == "C":  # Cc control, Cf format (zero-width joiners), Co private use, Cs surrogates
        return " " if ch in "\t\n\r" else ""
    return " " if cat in ("So", "Sk") else ch


# Characters _clean keeps as they are, and no compatibility form NFKC would fold: common CJK,
# CJK punctuation and printable ASCII. Most messages are made only of these, and for them the
# per-character pass (a function call per character, ~10 µs a message) can be skipped.
_PLAIN = re.compile(
    r"[\u4e00-\u9fff\u3001\u3002\u3008-\u3011\u3014-\u301b，？！\x20-\x5d\x5f\x61-\x7e]*"
)

# Cantonese (written, after conversion to simplified characters) -> Mandarin. Only function words
# and fixed phrases with one clear Mandarin reading; longer phrases first, so 可唔可以 is read
# before 唔.
_DIALECT = {
    "可唔可以": "可不可以",
    "系唔系": "是不是",
    "使唔使": "用不用",
    "要唔要": "要不要",
    "得唔得": "行不行",
    "有冇": "有没有",
    "系咪": "是不是",
    "唔系": "不是",
    "唔该": "谢谢",
    "唔": "不",
    "冇": "没",
    "几耐": "多久",
    "咁耐": "这么久",
    "几多": "多少",
    "点样": "怎样",
    "定系": "还是",
    "搞掂": "搞定",
    "乜嘢": "什么",
    "而家": "现在",
    "嘅": "的",
    "喺": "在",
    "咗": "了",
    "嚟": "来",
    "佢哋": "他们",
    "我哋": "我们",
    "你哋": "你们",
    "佢": "他",
    "攞": "拿",
    "畀": "给",
    "睇": "看",
    "揾": "找",
}
# Guards where a pattern is also part of ordinary Mandarin: 唔 alone is an interjection ("唔,
# 好的"), Cantonese only before a word; 定系 after 确/固/一… is 确定|系统, 一定|系 ("must be");
# 点样 after 一/有 is 一点|样子; 而家 after 然/从/因… is 然而|家里.
_DIALECT_GUARDS = {
    "唔": "唔(?=[\u4e00-\u9fff])",
    "定系": "(?<![一确固鉴制设规约肯决认稳判限指特锁预审假测])定系",
    "点样": "(?<![一有差])点样",
    "而家": "(?<![然从因进反继故])而家",
}
_DIALECT_RE = re.compile(
    "|".join(_DIALECT_GUARDS.get(k, re.escape(k)) for k in sorted(_DIALECT, key=len, reverse=True))
)
# A cheap test first: a character found only in Cantonese, or one of the patterns made only of
# characters common in Mandarin too.
_DIALECT_GATE = re.compile("[唔冇耐掂嘢嘅喺咗嚟哋佢攞畀睇揾咁咪]|几多|点样|定系|而家")

_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20  # ideographic space


@lru_cache(maxsize=4096)
def normalize(text: str) -> str:
    """Return the canonical form of a user message (cached: users repeat the same questions)."""
    if not text:
        return ""
    text = text[: MAX_CHARS * 2]
    # Full-width ASCII (ＡＢＣ１２３，？) to half-width; NFKC would also fold other compatibility forms
    # (circled numbers, ㎡) that we want, so apply it after the explicit table.
    if not _PLAIN.fullmatch(text):
        text = unicodedata.normalize("NFKC", text.translate(_FULLWIDTH))
        text = "".join(map(_clean, text))
    text = _MENTION.sub(" ", text)
    converter, gate = _t2s()
    if not gate.isdisjoint(text):
        text = converter.convert(text)
    if _DIALECT_GATE.search(text):
        text = _DIALECT_RE.sub(lambda m: _DIALECT[m.group()], text)
    text = text.replace("，", ",").replace("。", ".").replace("？", "?").replace("！", "!")
    text = _MIXED_QE.sub(r"\1", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip().lower()
    return text[:MAX_CHARS]
