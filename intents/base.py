"""What an intent declares: its evidence (keywords, examples) and, separately, its handler.

Matching is data: the classifier reads ``keywords`` and ``examples`` of every intent and never
calls a handler. Handling is code: the dialogue layer calls ``handler`` with the understood turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.dialog.types import Reply, Turn

Handler = Callable[["Turn"], Awaitable["Reply"]]


@dataclass(frozen=True)
class Intent:
    """One thing users want.

    ``keywords`` maps a phrase to its weight as evidence for this intent. A phrase may be a
    conjunction ``"断缴+报销"``: every part must occur in the message (in any order). Negative
    weights are evidence against. ``social`` intents (greeting, human) only win when no topic
    intent has real evidence, so "你好, 医保怎么转移" is a transfer question.
    """

    id: str
    description: str
    keywords: Mapping[str, float]
    examples: tuple[str, ...]
    handler: Handler | None = None
    slots: tuple[str, ...] = ()
    priority: int = 0
    social: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.examples) < 25 and self.id != "out_of_scope":
            raise ValueError(f"intent {self.id} needs at least 25 examples")
        if len(set(self.examples)) != len(self.examples):
            raise ValueError(f"intent {self.id} has duplicate examples")
