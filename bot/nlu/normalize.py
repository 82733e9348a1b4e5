"""Text normalisation before any matching.

Everything downstream (jieba, the place resolver, the intent matcher, the entity parser) sees the
same canonical text: simplified characters, half-width ASCII, no @-mentions, emoji or control
characters, and runs of punctuation collapsed. Digits and Chinese numerals are kept as they are so
the entity parser can read amounts and durations.
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
    text = text.replace("，", ",").replace("。", ".").replace("？", "?").replace("！", "!")
    text = _MIXED_QE.sub(r"\1", text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = _SPACES.sub(" ", text).strip().lower()
    return text[:MAX_CHARS]
