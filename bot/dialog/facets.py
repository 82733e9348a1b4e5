"""Follow-ups that ask another topic's kind of question about the last topic itself.

Read alone, a short follow-up is classified by its words: "要多久到账" is a transfer's
progress, "能一次性补吗" a lapse's back payment, "余额会不会丢" a balance question. Read after
the last question it is often a facet of that question's own topic: how long a manual claim
takes to be paid, paying the years short at retirement, whether the balance survives the
transfer. ``FACETS`` says which topics' questions a topic answers for itself; a follow-up is one
of them only when, read together with the last question, the last topic still explains the pair
nearly as well as the follow-up's own topic does (so "那补缴呢" after a transfer still changes the
subject: a transfer has no back payment of its own).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.nlu.classifier import shape
from bot.nlu.understand import Understanding

# last topic → the topics whose questions, asked as a short follow-up, are facets of it.
FACETS: Mapping[str, frozenset[str]] = {
    # "要多久到账", "钱打到哪": when and where a claim is paid.
    "reimbursement": frozenset({"transfer_progress", "balance"}),
    # "能一次性补吗", "要多少钱": paying the years that are short.
    "contribution_years": frozenset({"back_payment", "payment"}),
    # "以后还能继续交吗": paying on after the lapse, not the years needed at retirement.
    "lapse_effects": frozenset({"contribution_years"}),
    # "基数5000的话一个月多少": the contribution at another base.
    "payment": frozenset({"back_payment"}),
    # "余额会不会丢", "余额呢": what becomes of the balance on the move.
    "transfer": frozenset({"balance"}),
    "transfer_progress": frozenset({"balance"}),
    # "要多久到账": when a withdrawal is paid out.
    "withdraw": frozenset({"transfer_progress"}),
}
# A follow-up this long or longer, or naming a place, is a question of its own. A number counts
# as one character: "按基数6000算" gives one detail, however many digits it has.
FOLLOW_UP_CHARS = 14
# Read with the last question, the last topic scores at least this share of the best one.
_STILL_EXPLAINS = 0.75


def is_short_follow_up(u: Understanding) -> bool:
    """A message short enough to lean on the last question, and naming no place of its own."""
    return len(shape(u.text)) < FOLLOW_UP_CHARS and not u.places.mentions


def facet_of(last: str | None, intent: str, together: Understanding) -> bool:
    """Is a follow-up read alone as a question of ``intent`` a facet of ``last``?
    ``together`` is the follow-up read after the last question."""
    if last is None or intent not in FACETS.get(last, frozenset()):
        return False
    return _still_explains(last, together)


def _still_explains(last: str, together: Understanding) -> bool:
    ranking = together.classification.ranking
    top = ranking[0].score
    score = next((r.score for r in ranking if r.intent == last), 0.0)
    return top > 0 and score >= _STILL_EXPLAINS * top
