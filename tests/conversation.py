"""Helpers for reply tests that hold a conversation with the real pipeline."""

from __future__ import annotations

from datetime import date

from bot.dialog.render import MAX_BYTES
from bot.dialog.types import Answer
from bot.pipeline import Pipeline

TODAY = date(2026, 11, 25)


async def chat(bot: Pipeline, *turns: str, today: date = TODAY, user: str = "u") -> list[Answer]:
    """Each turn's answer; every one fits one WeChat message and has no unfilled template."""
    out = []
    for text in turns:
        answer = await bot.respond(user, text, today=today)
        assert len(answer.text.encode("utf-8")) <= MAX_BYTES, answer.text
        assert "${" not in answer.text
        out.append(answer)
    return out


def head(answer: Answer) -> str:
    """The answer's first paragraph: what it says first."""
    return answer.text.split("\n\n")[0]


def figure_lines(answer: Answer) -> list[str]:
    return [line for line in answer.text.splitlines() if line.startswith("· ")]
