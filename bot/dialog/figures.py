"""Turning policy results into the figures a reply shows (value, basis, provenance)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bot.dialog.types import Figure, Part
from bot.policy import PolicyResult, Provenance


def figure(name: str, label: str, value: str, result: PolicyResult) -> Figure:
    """A "city" figure names the local sources it used; one built only on national defaults
    says it is an estimate. A city figure computed with some national defaults says so too."""
    city = [p for p in result.provenance if p.kind == "city"]
    national = any(p.kind == "national" for p in result.provenance)
    if city:
        return Figure(
            name, label, value, result.basis, "city", _sources(city), _years(city), national
        )
    return Figure(name, label, value, result.basis, "national")


def _sources(items: list[Provenance]) -> str:
    notes = [f"{p.note}（资料{p.source}）" if p.note else f"资料{p.source}" for p in items]
    return "；".join(dict.fromkeys(notes))


def _years(items: list[Provenance]) -> str:
    return "、".join(dict.fromkeys(str(p.as_of) for p in items))


def fmt_date(day: date | None) -> str:
    """'2026年10月16日' (dates in replies are written the Chinese way)."""
    return "" if day is None else f"{day.year}年{day.month}月{day.day}日"


def is_estimate(result: PolicyResult) -> bool:
    return any(p.kind == "national" for p in result.provenance)


def explain(key: object, fields: Mapping[str, object] | None = None) -> Part:
    """The ``explain/<key>`` block for a policy ExplanationKey; its optional fields default to
    neutral words so any key can be rendered from any handler."""
    value = getattr(key, "value", key)
    defaults: dict[str, object] = {"city": "当地", "wait": "一段时间", "resume_from": ""}
    return Part(f"explain/{value}", {**defaults, **(fields or {})})
