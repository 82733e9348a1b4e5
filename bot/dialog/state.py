"""Per-user conversation state, stored as JSON under ``conv:<user>`` with a TTL."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.storage.base import Storage

KEY_PREFIX = "conv:"


@dataclass
class ConversationState:
    """What the bot remembers between two messages of one user."""

    last_intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)  # JSON-safe slot values
    pending_intent: str | None = None  # the question waiting for a missing slot
    pending_slot: str | None = None
    pending_text: str = ""  # the question that is waiting, so the answer is read with it
    asked: list[str] = field(default_factory=list)
    followups: dict[str, str] = field(default_factory=dict)  # "1" → rendered section text
    choices: dict[str, str] = field(default_factory=dict)  # "1" → the menu's question
    last_text: str = ""  # the last question (normalised), read with "那北京呢" after it
    applied_text: str = ""  # the transfer's message saying when it was applied for
    last_lines: list[str] = field(default_factory=list)  # keys of the last answer's lines
    other_insurance_text: str = ""  # the last question, out of scope, about another insurance

    @classmethod
    def from_json(cls, data: Any) -> ConversationState:
        if not isinstance(data, dict):
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            return cls(**known)
        except TypeError:  # a shape written by an older version: start afresh
            return cls()

    def to_json(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict: asdict deep-copies recursively and cost ~25 µs per
        # message on the hot path; storage serialises the result at once, so copies are moot.
        return {
            "last_intent": self.last_intent,
            "slots": self.slots,
            "pending_intent": self.pending_intent,
            "pending_slot": self.pending_slot,
            "pending_text": self.pending_text,
            "asked": self.asked,
            "followups": self.followups,
            "choices": self.choices,
            "last_text": self.last_text,
            "applied_text": self.applied_text,
            "last_lines": self.last_lines,
            "other_insurance_text": self.other_insurance_text,
        }


async def load_state(storage: Storage, user: str) -> ConversationState:
    return ConversationState.from_json(await storage.get(KEY_PREFIX + user))


async def save_state(storage: Storage, user: str, state: ConversationState, ttl: float) -> None:
    await storage.set(KEY_PREFIX + user, state.to_json(), ttl=ttl)


async def clear_state(storage: Storage, user: str) -> None:
    await storage.delete(KEY_PREFIX + user)
