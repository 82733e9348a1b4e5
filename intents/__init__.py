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

__all__ = ["ALL", "BY_ID", "Intent"]
