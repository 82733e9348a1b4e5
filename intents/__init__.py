"""All intents, registered explicitly in one place (like aiogram's include_routers)."""

from intents import (
    back_payment,
    balance,
    contribution_years,
    family_share,
    greeting,
    human,
    lapse_effects,
    out_of_scope,
    payment,
    reimbursement,
    remind_cancel,
    remind_subscribe,
    transfer,
    transfer_progress,
    withdraw,
)
from intents.base import Intent

ALL: tuple[Intent, ...] = (
    transfer.INTENT,
    transfer_progress.INTENT,
    back_payment.INTENT,
    lapse_effects.INTENT,
    withdraw.INTENT,
    family_share.INTENT,
    balance.INTENT,
    contribution_years.INTENT,
    payment.INTENT,
    reimbursement.INTENT,
    remind_subscribe.INTENT,
    remind_cancel.INTENT,
    greeting.INTENT,
    human.INTENT,
    out_of_scope.INTENT,
)

BY_ID: dict[str, Intent] = {intent.id: intent for intent in ALL}


def corpus() -> list[tuple[str, str]]:
    """Extra labelled messages (``intents/corpus/*.tsv``) as (intent id, text) pairs.

    They widen what the similarity matcher has seen beyond each module's own examples. A line
    accepting several intents counts for the first (preferred) one.
    """
    from importlib import resources

    pairs: list[tuple[str, str]] = []
    folder = resources.files("intents") / "corpus"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".tsv"):
            continue
        for line in entry.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or line.count("|") < 2:
                continue
            ids, _, text = line.split("|", 2)
            first = ids.split(",")[0]
            if first not in BY_ID:
                raise ValueError(f"{entry.name}: unknown intent {first!r}")
            pairs.append((first, text))
    return pairs


__all__ = ["ALL", "BY_ID", "Intent", "corpus"]
