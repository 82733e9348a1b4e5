"""Several questions in one message: where one ends, and how their answers become one reply.

The manager asks each question's intent (``clauses`` splits a message at question marks,
commas, spaces and "顺便问下"), answers the others of the same topic in full and those of
another topic in short (``fits`` keeps the asides within ``ASIDE_BUDGET``), and ``combined``
merges the replies: answers in the order asked, shared sections and figures said once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.dialog.render import render_figure, render_parts, utf8_len
from bot.dialog.types import Figure, Part, Reply
from bot.nlu.understand import Understanding

QUESTION_WORDS = (
    "什么",
    "怎么",
    "如何",
    "吗",
    "多少",
    "几",
    "哪",
    "影响",
    "能不能",
    "是不是",
    "?",
)


# Where one question of a message ends and the next begins (normalised text: ASCII "?").
QUESTION_END = re.compile(r"[?]+")


# Clauses joined by commas or spaces, or by "顺便问下", are questions of their own when they ask
# ("补多少,多久能报销", "医保咋转 顺便问下能给我妈用吗").
_CLAUSE_END = re.compile(r"[,; ]+|顺便问一?下|顺便问问|另外问一?下|再问一?下|还想问")


_ASKING = (*QUESTION_WORDS, "多久", "怎样", "咋", "能否")


# An asking clause shorter than this ("咋办") leans on the clause before it.
_MIN_QUESTION_CHARS = 3


def split_clauses(question: str) -> list[str]:
    """A question's clauses grouped into questions: each asking clause ends one, and the
    clauses before it that ask nothing ("我在上海交的职工医保 要去北京了") belong to it; a
    trailing statement belongs to the last. Itself when fewer than two clauses ask."""
    clauses = [c.strip() for c in _CLAUSE_END.split(question) if c.strip()]
    groups: list[str] = []
    pending: list[str] = []
    for clause in clauses:
        pending.append(clause)
        asks = any(w in clause for w in _ASKING) and len(clause) >= _MIN_QUESTION_CHARS
        if asks:
            groups.append(" ".join(pending))
            pending = []
    if pending and groups:
        groups[-1] = " ".join([groups[-1], *pending])
    return groups if len(groups) > 1 else [question]


def near_family(u: Understanding, family: frozenset[str]) -> bool:
    """Is a question of another topic nearly as much one of ``family`` (within 25%)?"""
    top = u.classification.ranking[0].score
    return any(r.intent in family and r.score >= 0.75 * top for r in u.classification.ranking)


def fits_aside(reply: Reply) -> bool:
    """Do the answer and figures of a reply fit one message with room for the menu?"""
    head = render_parts(reply.answer)
    if reply.figures:
        head += "\n\n" + "\n".join(render_figure(f) for f in reply.figures)
    return utf8_len(head) <= _ASIDE_BUDGET


# The answer part of a reply with asides stays under this, leaving room for notes and a menu.
_ASIDE_BUDGET = 1600


def combine_replies(replies: list[Reply]) -> Reply:
    """Several replies as one: their answers in order, then the sections and figures of all,
    each said once (two questions of one topic share steps like "国家医保服务平台App"). Only
    the last may ask for a detail."""

    def once(parts: Iterable[Part]) -> tuple[Part, ...]:
        out: list[Part] = []
        for part in parts:
            if part not in out:
                out.append(part)
        return tuple(out)

    figures: dict[str, Figure] = {}
    remember: dict[str, Any] = {}
    for r in replies:
        figures.update((f.name, f) for f in r.figures if f.name not in figures)
        remember.update(r.remember)
    return Reply(
        answer=once(p for r in replies for p in r.answer),
        figures=tuple(figures.values()),
        steps=once(p for r in replies for p in r.steps),
        materials=once(p for r in replies for p in r.materials),
        check=once(p for r in replies for p in r.check),
        ask=replies[-1].ask,
        remember=remember,
        estimate=any(r.estimate for r in replies),
        choices=replies[0].choices,
    )
