"""A handler's Reply rendered for a group chat: the conclusion and the key figure, nothing private.

Everyone in the group reads the answer, so it is short (at most ``COMPACT_LIMIT`` characters,
ending with an invitation to ask in private for the full steps) and it never repeats what the
asker typed about themselves. ID, phone and bank numbers are redacted; amounts they stated (their
base, their arrears) are left out; and so is every figure computed from such an amount, because
"4个月补缴3840元" gives an 8000 元 base away as surely as the base itself. Such a figure shows its
formula instead, with the person's amount replaced by its name: "缴费基数 × 4个月 × 10%–12%".

The answer is composed from the Reply's parts rather than cut out of the full text, so nothing
half-finished or private survives by accident; a final pass still scrubs any stray private number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from bot.dialog.render import SECTION_TITLES, Rendered, render_part, render_parts
from bot.dialog.types import Figure, Part, Reply, Slots
from bot.logs import redact
from bot.nlu.entities import Entities

__all__ = [
    "COMPACT_LIMIT",
    "PRIVATE_ONLY_INTENTS",
    "PRIVATE_ONLY_REPLY",
    "private_amounts",
    "render_compact",
]

COMPACT_LIMIT = 400
# Asking for these in a group would invite people to post their salary or debts there.
PRIVATE_SLOTS = frozenset({"base", "arrears"})
# Intents that keep per-person records (reminders are pushed to a private chat, which a group
# member key cannot receive): in a group they only point to the private chat.
PRIVATE_ONLY_INTENTS = frozenset({"remind_subscribe", "remind_cancel"})
PRIVATE_ONLY_REPLY = Reply(answer=(Part("group/private_only"),))
_ROLE_NAMES = {
    "base": "缴费基数",
    "wage": "工资",
    "arrears": "欠费金额",
    "fee": "费用",
    "unknown": "金额",
}
_SLOT_NAMES = {"base": "缴费基数", "arrears": "欠费金额"}
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_AMOUNT = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)(?:元|块)?")
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
_KEY_FIGURE_CHARS = 120
_SCRUBBED = "***"


def private_amounts(slots: Slots, entities: Entities) -> dict[Decimal, str]:
    """Every amount that is about the asker, mapped to what it is ("缴费基数").

    What they typed in this message and what the conversation remembers (a base stated
    earlier, arrears computed from it). Figures derived from these in this reply are found by
    ``render_compact`` itself; the handler's fresh ``remember`` values are not included, since
    they may come from a city's defaults rather than from the person.
    """
    amounts = {m.value: _ROLE_NAMES.get(m.role, "金额") for m in entities.amounts}
    for slot, name in _SLOT_NAMES.items():
        number = _decimal(getattr(slots, slot))
        if number is not None:
            amounts[number] = name
    return amounts


def render_compact(
    reply: Reply,
    private: Mapping[Decimal, str] | None = None,
    focus: str | None = None,
    limit: int = COMPACT_LIMIT,
) -> Rendered:
    """The group version of ``reply``: at most ``limit`` characters, no private numbers.

    ``private`` maps the asker's own amounts to their names (see ``private_amounts``); ``focus``
    names the section the question asked for ("materials"), which then leads the answer.
    """
    hidden = dict(private or {})
    if reply.ask in PRIVATE_SLOTS:
        return _finish(render_part(Part("group/ask_private")), hidden, limit)
    figures = reply.figures
    personal = [_mentions(f.basis, hidden) or _mentions(f.value, hidden) for f in figures]
    key_line = _key_figure(figures[0], hidden, personal[0]) if figures else ""
    for figure, is_personal in zip(figures, personal, strict=True):
        if is_personal:
            # A value computed from someone's amount would let the group work the amount out.
            for number in _numbers(figure.value):
                hidden.setdefault(number, "")
    blocks: list[str] = []
    section: tuple[Part, ...] = getattr(reply, focus, ()) if focus in SECTION_TITLES else ()
    if section and not reply.ask:
        blocks.append(f"【{SECTION_TITLES[focus or '']}】{render_parts(section)}")
    blocks += [text for text in (render_part(p) for p in reply.answer) if text]
    kept = [b for b in blocks if not _mentions(b, hidden)]
    if not kept and not key_line:
        kept = [render_part(Part("group/private_details"))]
    if reply is PRIVATE_ONLY_REPLY:
        tail = []  # it is itself the pointer to the private chat
    elif reply.ask:
        # The bot asked something back: the question is the whole answer, and in a group the
        # reply only reaches the bot again if the asker mentions it.
        tail = [render_part(Part("group/ask_hint"))]
    else:
        tail = [key_line] if key_line else []
        tail.append(render_part(Part("group/invite")))
    tail_text = "\n".join(tail)
    body = _take(kept, limit - len(tail_text) - 1)
    return _finish(f"{body}\n{tail_text}" if body else tail_text, hidden, limit)


def _key_figure(figure: Figure, hidden: Mapping[Decimal, str], is_personal: bool) -> str:
    estimate = "（估算）" if figure.kind == "national" or figure.mixed else ""
    if is_personal:
        line = f"· {figure.label} = {_generalise(figure.basis, hidden)}{estimate}"
    else:
        line = f"· {figure.label}：{figure.value}{estimate}"
    return _take([line], _KEY_FIGURE_CHARS)


def _take(blocks: Iterable[str], budget: int) -> str:
    """Whole blocks while they fit; if even the first does not, its leading sentences."""
    out: list[str] = []
    used = 0
    for block in blocks:
        size = len(block) + (1 if out else 0)
        if used + size <= budget:
            out.append(block)
            used += size
            continue
        if not out:
            out.append(_sentences(block, budget))
        break
    return "\n".join(out)


def _sentences(text: str, budget: int) -> str:
    taken = ""
    for sentence in _SENTENCE_END.split(text):
        if len(taken) + len(sentence) > budget:
            break
        taken += sentence
    if taken.strip():
        return taken.strip()
    return text[: max(budget - 1, 0)] + "…" if budget > 0 else ""


def _finish(text: str, hidden: Mapping[Decimal, str], limit: int) -> Rendered:
    """Last line of defence: scrub stray private numbers and identity numbers, enforce the cap."""

    def scrub(match: re.Match[str]) -> str:
        value = _decimal(match.group(0).replace(",", ""))
        return _SCRUBBED if value is not None and value in hidden else match.group(0)

    text = redact(_NUMBER.sub(scrub, text)).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return Rendered(text, {})


def _generalise(basis: str, hidden: Mapping[Decimal, str]) -> str:
    """Name the asker's amounts: "8000元 × 4个月" → "缴费基数 × 4个月" when 8000 is theirs."""

    def name(match: re.Match[str]) -> str:
        value = _decimal(match.group(1).replace(",", ""))
        if value is None or value not in hidden:
            return match.group(0)
        return hidden[value] or "你的金额"

    return _AMOUNT.sub(name, basis)


def _numbers(text: str) -> list[Decimal]:
    found = (_decimal(m.group(0).replace(",", "")) for m in _NUMBER.finditer(text))
    return [n for n in found if n is not None]


def _mentions(text: str, hidden: Mapping[Decimal, str]) -> bool:
    return bool(hidden) and any(n in hidden for n in _numbers(text))


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    # Decimal("2300.00") == Decimal("2300") and they hash alike, so lookups match any notation.
    return number if number.is_finite() else None
