"""One call from raw message to what the bot understood: normalise, tokenise, places, intent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from bot.memo import RepeatMemo
from bot.nlu import tokenize
from bot.nlu.classifier import PLACE_MARK, Classification, IntentClassifier
from bot.nlu.normalize import normalize
from intents import ALL, corpus

CLASSIFY_CACHE = 2048

if TYPE_CHECKING:
    from bot.nlu.places import PlaceResolver, Places


@dataclass(frozen=True)
class Understanding:
    """The normalised text, its words, its places and its intent."""

    text: str
    intent: str
    confidence: float
    runner_up: str | None
    cities: tuple[str, ...]
    provinces: tuple[str, ...]
    places: Places
    classification: Classification

    def words(self) -> list[str]:
        """jieba's segmentation of the normalised text (not needed to classify it)."""
        return tokenize.tokens(self.text)


class NLU:
    """Holds the resolver and classifier built once; ``understand`` is pure per message."""

    def __init__(self, resolver: PlaceResolver) -> None:
        self.resolver = resolver
        self.classifier = IntentClassifier(
            ALL, mask=self._mask_places, corpus=corpus(), alone=tokenize.stands_alone
        )
        tokenize.init([*self.classifier.vocabulary(), *resolver.vocabulary()])
        # Classifying depends only on the masked text, which many messages share: "福州…" and
        # "厦门…" asking the same thing differ only in the place (see bot.memo).
        self._classify = RepeatMemo(self.classifier.classify, CLASSIFY_CACHE)
        self._emoji = _emoji_words()

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> NLU:
        from bot.nlu.places import PlaceResolver

        return cls(PlaceResolver.default())

    def _mask_places(self, text: str) -> str:
        """Replace place names by one symbol: a city says nothing about what is asked."""
        mentions = self.resolver.resolve(text).mentions
        for m in reversed(mentions):
            text = text[: m.start] + PLACE_MARK + text[m.end :]
        return text

    def understand(self, raw: str, leave_out: bool = False) -> Understanding:
        """Everything the bot reads from one raw message (``leave_out``: see the classifier)."""
        text = normalize(raw)
        places = self.resolver.resolve(text)
        masked = text
        for m in reversed(places.mentions):
            masked = masked[: m.start] + PLACE_MARK + masked[m.end :]
        stripped = _strip_noise(masked)
        if (not stripped[:1].isalnum() and not _WORD.search(stripped)) or (
            text[:1] == "[" and _STICKERS.fullmatch(text)
        ):
            # Nothing but emoji (normalising dropped them) or WeChat sticker codes: read those
            # that greet or thank as their word (👋 -> 你好); any other says nothing.
            stripped = self._sticker_words(raw, text) or stripped
        result = (
            self.classifier.classify(stripped, leave_out)
            if leave_out
            else self._classify(stripped)
        )
        return Understanding(
            text=text,
            intent=result.intent,
            confidence=result.confidence,
            runner_up=result.runner_up,
            cities=tuple(places.cities),
            provinces=tuple(places.provinces),
            places=places,
            classification=result,
        )

    def emoji_words(self, raw: str) -> str:
        """What a message of nothing but emoji says as words (👋 -> 你好, 🙏🙏 -> 谢谢), or ""
        when it is not emoji alone or none of its emoji greets, thanks or acknowledges."""
        text = normalize(raw)
        if _WORD.search(_strip_noise(text)):
            return ""
        return self._sticker_words(raw, text)

    def _sticker_words(self, raw: str, text: str) -> str:
        """The words the sticker codes of ``text``, or else the emoji of ``raw``, stand for."""
        table = self._emoji
        if _WORD.search(text):
            found = [table.get(code) for code in _STICKER.findall(text)]
        else:
            found = [table.get(ch) for ch in raw[:100]]
        return " ".join(dict.fromkeys(w for w in found if w))


def _emoji_words() -> dict[str, str]:
    """``data/emoji.tsv``: emoji and sticker codes that stand for a word."""
    table: dict[str, str] = {}
    text = (resources.files("bot.nlu") / "data" / "emoji.tsv").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, _, word = line.partition("\t")
            table[code] = word
    return table


_WORD = re.compile(r"\w")
# WeChat sends its own stickers as bracketed names, [微笑][抱拳]: read before _strip_noise drops
# the brackets and leaves what looks like words.
_STICKER = re.compile(r"\[[^\[\]\s]{1,4}\]")
_STICKERS = re.compile(r"(?:\[[^\[\]\s]{1,4}\]\s*)+")
_NOISE = re.compile(r"[\s,.!?;:、~…\"'()\[\]<>/\\|-]+")


def _strip_noise(text: str) -> str:
    return _NOISE.sub(" ", text).strip()
