"""A follow-up whose answer would repeat the last reply gets the part it asks about.

"那关系要转吗", "能给孙子用吗", "在支付宝能弄吗": the handler answers the same question again
and its reply says nothing the last one did not. Sending it all again buries the one line the
user asked for; instead the lines (or the section) that share the follow-up's own words come
first, and the full answer waits behind the menu.
"""

from __future__ import annotations

import hashlib

from bot.dialog.render import SECTION_TITLES, render_figure, render_parts
from bot.dialog.types import Reply

# Characters that carry no topic of their own: a shared "能" or "吗" says nothing.
_FUNCTION_CHARS = frozenset(
    "那么呢吗吧啊呀的了是我你他她它要能可以会不没有在给用怎么样咋办啥什么这个还就也都和与及或把被让去来过着上下里中多少几哪谁"
)
_PUNCTUATION = frozenset(" ,.?!;:，。？！；：、“”‘’（）()【】·—-…《》\n")


def line_keys(reply: Reply) -> list[str]:
    """A short key for each line of a reply's answer and figures (what the user read)."""
    text = render_parts(reply.answer)
    if reply.figures:
        text += "\n" + "\n".join(render_figure(f) for f in reply.figures)
    return [_key(line) for line in text.splitlines() if line.strip()]


def repeats(reply: Reply, before: list[str]) -> bool:
    """Does a reply say nothing, in its answer and figures, that the last one did not?"""
    keys = line_keys(reply)
    return bool(keys) and set(keys) <= set(before)


def asked_part(reply: Reply, words: str) -> tuple[str | None, tuple[str, ...]]:
    """What of a reply the follow-up's own ``words`` ask about: a section's name, or the answer
    lines after the first sharing the most of its words (with the first line, the conclusion);
    (None, ()) when nothing does."""
    own = _bigrams(words)
    if not own:
        return None, ()
    lines = [line for line in render_parts(reply.answer).splitlines() if line.strip()]
    scored = [(len(own & _bigrams(line)), i) for i, line in enumerate(lines)]
    best_line = max((s for s, _ in scored), default=0)
    best_section, section = 0, None
    for name in SECTION_TITLES:
        score = len(own & _bigrams(render_parts(getattr(reply, name))))
        if score > best_section:
            best_section, section = score, name
    if best_section > best_line:
        return section, ()
    chosen = [i for s, i in scored if s == best_line and i > 0]
    if best_line == 0 or not chosen:
        return None, ()  # nothing, or only the conclusion, which is no part of its own
    return None, tuple(lines[i] for i in sorted({0, *chosen}))


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c not in _PUNCTUATION]
    pairs = {a + b for a, b in zip(chars, chars[1:], strict=False)}
    return {p for p in pairs if not (set(p) & _FUNCTION_CHARS)}


def _key(line: str) -> str:
    return hashlib.blake2b(line.strip().encode("utf-8"), digest_size=6).hexdigest()
