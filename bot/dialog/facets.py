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

import re
from collections.abc import Mapping

from bot.nlu.classifier import shape
from bot.nlu.understand import Understanding

# last topic → the topics whose questions, asked as a short follow-up, are facets of it.
FACETS: Mapping[str, frozenset[str]] = {
    # "要多久到账", "钱打到哪": when and where a claim is paid.
    "reimbursement": frozenset({"transfer_progress", "balance"}),
    # "能一次性补吗", "要多少钱": paying the years that are short.
    "contribution_years": frozenset({"back_payment", "payment"}),
    # "以后还能继续交吗": paying on after the lapse, not the years needed at retirement;
    # "要多久到账": how soon the back payment counts.
    "lapse_effects": frozenset({"contribution_years", "transfer_progress"}),
    # "基数5000的话一个月多少": the contribution at another base.
    "payment": frozenset({"back_payment"}),
    # "余额会不会丢", "余额呢": what becomes of the balance on the move.
    "transfer": frozenset({"balance"}),
    "transfer_progress": frozenset({"balance"}),
    # "要多久到账": when a withdrawal is paid out.
    "withdraw": frozenset({"transfer_progress"}),
    # "要多久到账" after a back payment: when it shows and cover resumes (see ``ANSWERED_BY``).
    "back_payment": frozenset({"transfer_progress"}),
}
# (last topic, the follow-up's own topic) → the topic of the last one's family that answers the
# facet, when it is not the last topic itself: how soon a back payment counts is a lapse's
# question (the month cover resumes), not the back payment's steps again.
ANSWERED_BY: Mapping[tuple[str, str], str] = {
    ("back_payment", "transfer_progress"): "lapse_effects",
}
# ... and the question it is then, in that topic's own words: read with the last question's,
# "要多久到账" ("…能用微信交吗 要多久到账") would be a question about the balance.
_ASKED_AS: Mapping[tuple[str, str], str] = {
    ("back_payment", "transfer_progress"): "补缴了多久能报销",
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


def facet_answer(last: str, intent: str) -> str:
    """The topic that answers a follow-up of ``intent`` that is a facet of ``last``."""
    return ANSWERED_BY.get((last, intent), last)


def facet_wording(last: str | None, own: str, intent: str) -> str | None:
    """The question a follow-up read alone as ``own`` asks when another topic of the last
    one's family answers it (``intent``), in that topic's words; None when it is read as said."""
    if last is None or ANSWERED_BY.get((last, own)) != intent:
        return None
    return _ASKED_AS.get((last, own))


# "支付宝行不行", "在微信上能交吗", "网上可以吗": a way or channel, asked whether it will do. It
# names no topic of its own, so it asks about doing the last question's thing that way ("支付宝"
# alone would read as a withdrawal to 支付宝).
_BY_CHANNEL = re.compile(
    r"^(那|那么)?(用|在|通过|走|去|到)?"
    r"(支付宝|微信|网上|线上|线下|手机|手机上|小程序|公众号|app|银行|柜台|窗口|现场|自助机)"
    r"(上|里|里面|上面)?(能|也)?(交|补|缴|办|弄|办理|操作|补缴|缴费|付|付款)?"
    r"(行不行|可以吗|可不可以|可以不|行吗|能行吗|能不能|能吗|也行吗|也可以吗|吗)[?]?$",
    re.IGNORECASE,
)


def asks_by_channel(u: Understanding) -> bool:
    """Does a short follow-up only ask whether a channel or way will do ("支付宝行不行")?"""
    return is_short_follow_up(u) and bool(_BY_CHANNEL.match(u.text.strip(" ,.!?。，！？")))


def _still_explains(last: str, together: Understanding) -> bool:
    ranking = together.classification.ranking
    top = ranking[0].score
    score = next((r.score for r in ranking if r.intent == last), 0.0)
    return top > 0 and score >= _STILL_EXPLAINS * top
