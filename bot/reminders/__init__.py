"""Payment-deadline reminders: the records a user sets up in the chat and their delivery.

* :mod:`.records` — subscriptions in the key/value storage (``sub:<user>``), the source of truth.
* :mod:`.jobs` — the jobs table (SQLite or PostgreSQL): one row per reminder and day, claimed
  with a lease, its result recorded under an idempotency key.
* :mod:`.scheduler` — claims due jobs, sends through :mod:`.channels`, maps WeChat error codes.
* :mod:`.service` — keeps jobs in step with records for the chat, and runs the scheduler
  inside ``serve``; :mod:`.cli` runs it as ``python -m bot reminders run``.

Only the records API is imported here, so ``bot.settings`` can import :mod:`.config` cheaply.
"""

from bot.reminders.records import (
    Subscription,
    add_subscription,
    cancel_subscriptions,
    forget_subscriptions,
    list_subscriptions,
)

__all__ = [
    "Subscription",
    "add_subscription",
    "cancel_subscriptions",
    "forget_subscriptions",
    "list_subscriptions",
]
