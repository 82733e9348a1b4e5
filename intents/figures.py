"""Figures as intent handlers build them: the dialogue layer's ``figure`` over what a user may be
shown of a policy result (its sources as article numbers, without maintainers' notes)."""

from bot.dialog.figures import figure as _figure
from bot.dialog.types import Figure
from bot.policy import PolicyResult, for_users


def figure(name: str, label: str, value: str, result: PolicyResult) -> Figure:
    """Like :func:`bot.dialog.figures.figure`, with the result's provenance made public."""
    return _figure(name, label, value, for_users(result))
