"""jieba, initialised once per process with a trimmed dictionary plus our domain vocabulary."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from importlib import resources

import jieba

_DATA = resources.files("bot.nlu") / "data"
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _domain_words() -> list[tuple[str, int | None, str | None]]:
    words: list[tuple[str, int | None, str | None]] = []
    for line in (_DATA / "domain_words.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        words.append((parts[0], freq, parts[2] if len(parts) > 2 else None))
    return words


def init(extra_words: Iterable[str] = ()) -> jieba.Tokenizer:
    """Build the process-wide tokenizer (idempotent; later calls only add new words)."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer(str(_DATA / "jieba_dict.txt"))
            tk.initialize()
            for word, freq, tag in _domain_words():
                tk.add_word(word, freq, tag)
            _tokenizer = tk
        for word in extra_words:
            # A high frequency keeps place names and keywords whole ("哈尔滨", "转移接续").
            if len(word) > 1 and word not in _tokenizer.FREQ:
                _tokenizer.add_word(word, 3000)
        return _tokenizer


def tokens(text: str) -> list[str]:
    """Words of an already normalised message; HMM off: it is slower and guesses odd words."""
    tk = _tokenizer or init()
    return [t for t in tk.lcut(text, HMM=False) if t.strip()]


def stands_alone(text: str, pos: int, reach: int = 4) -> bool:
    """Is the character at ``pos`` a word of its own (转 in 福州转北京, not in 转发)?

    Segmentation is local, so a window of a few characters either side decides it at a
    fraction of the cost of segmenting the whole message.
    """
    tk = _tokenizer or init()
    start = max(0, pos - reach)
    offset = start
    for word in tk.cut(text[start : pos + reach + 1], HMM=False):
        if offset == pos:
            return len(word) == 1
        offset += len(word)
        if offset > pos:
            return False
    return False
