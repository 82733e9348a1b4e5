"""Taking money out of the personal account: which situations allow it and what to bring."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from region_data.city_policy import Provenance

from . import national as nat

__all__ = [
    "Condition",
    "Consequence",
    "Eligibility",
    "Material",
    "WithdrawalAssessment",
    "WithdrawalCase",
    "WithdrawalInputs",
    "withdrawal_eligibility",
]


class WithdrawalCase(StrEnum):
    """The user's situation."""

    EMIGRATION = "emigration"
    LONG_TERM_ELSEWHERE = "long_term_elsewhere"
    NEW_PLACE_REFUSES = "new_place_refuses"
    SERIOUS_ILLNESS = "serious_illness"
    DEATH = "death"
    QUIT_EMPLOYEE_SCHEME = "quit_employee_scheme"
    TO_WALLET = "to_wallet"  # "move it to WeChat / Alipay"
    OTHER = "other"


class Eligibility(StrEnum):
    """Whether the balance can be taken out."""

    YES = "yes"
    NO = "no"
    SOME_PLACES = "some_places"
    IF_CONDITIONS = "if_conditions"  # allowed once the listed conditions hold


class Condition(StrEnum):
    """What must hold before the balance can be taken out (template keys)."""

    FOREIGN_RESIDENCE_HUKOU_CANCELLED = "foreign_residence_hukou_cancelled"
    REMOTE_CARE_REGISTERED_6_MONTHS = "remote_care_registered_6_months"
    NEW_PLACE_WONT_ACCEPT = "new_place_wont_accept"
    LOCAL_ILLNESS_LIST = "local_illness_list"
    LEGAL_HEIR_APPLIES = "legal_heir_applies"
    LOCAL_RULE_ON_QUITTING = "local_rule_on_quitting"
    USE_E_CARD_INSTEAD = "use_e_card_instead"
    NORMALLY_NOT_ALLOWED = "normally_not_allowed"


class Consequence(StrEnum):
    """What follows once the balance is taken out: said apart from the conditions."""

    ACCOUNT_CLOSED = "account_closed"


class Material(StrEnum):
    """Documents to bring (template keys)."""

    ID_CARD = "id_card"
    SOCIAL_SECURITY_CARD = "social_security_card"
    FOREIGN_RESIDENCE_PROOF = "foreign_residence_proof"
    HUKOU_CANCELLATION_PROOF = "hukou_cancellation_proof"
    REMOTE_CARE_RECORD = "remote_care_record"
    NON_ACCEPTANCE_PROOF = "non_acceptance_proof"
    HOSPITAL_PROOF = "hospital_proof"
    ITEMISED_BILL = "itemised_bill"
    DEATH_CERTIFICATE = "death_certificate"
    KINSHIP_PROOF = "kinship_proof"


@dataclass(frozen=True, slots=True)
class WithdrawalInputs:
    case: WithdrawalCase
    months_elsewhere: int | None


@dataclass(frozen=True, slots=True)
class WithdrawalAssessment:
    """Whether a withdrawal is possible, on what conditions, with which materials."""

    inputs: WithdrawalInputs
    allowed: Eligibility
    conditions: tuple[Condition, ...]
    consequences: tuple[Consequence, ...]  # empty where nothing can be taken out
    materials: tuple[Material, ...]
    basis: str
    provenance: tuple[Provenance, ...]


_CARDS = (Material.ID_CARD, Material.SOCIAL_SECURITY_CARD)
# Cases with no withdrawal route at all, so no materials to prepare.
_NO_PATHWAY = frozenset({WithdrawalCase.TO_WALLET, WithdrawalCase.OTHER})

# case -> (eligibility, conditions, case-specific materials, basis)
_TABLE: dict[
    WithdrawalCase, tuple[Eligibility, tuple[Condition, ...], tuple[Material, ...], str]
] = {
    WithdrawalCase.EMIGRATION: (
        Eligibility.IF_CONDITIONS,
        (Condition.FOREIGN_RESIDENCE_HUKOU_CANCELLED,),
        (Material.FOREIGN_RESIDENCE_PROOF, Material.HUKOU_CANCELLATION_PROOF),
        "出国定居：取得国外永久居留权并注销国内户籍后可申请",
    ),
    WithdrawalCase.NEW_PLACE_REFUSES: (
        Eligibility.IF_CONDITIONS,
        (Condition.NEW_PLACE_WONT_ACCEPT,),
        (Material.NON_ACCEPTANCE_PROOF,),
        "跨地区工作调动，新参保地不接收个人账户余额时可申请",
    ),
    WithdrawalCase.SERIOUS_ILLNESS: (
        Eligibility.SOME_PLACES,
        (Condition.LOCAL_ILLNESS_LIST,),
        (Material.HOSPITAL_PROOF, Material.ITEMISED_BILL),
        "部分地区对重大疾病或大额医疗费用允许提取，病种范围以当地为准",
    ),
    WithdrawalCase.DEATH: (
        Eligibility.YES,
        (Condition.LEGAL_HEIR_APPLIES,),
        (Material.DEATH_CERTIFICATE, Material.KINSHIP_PROOF),
        "参保人去世后，法定继承人可申请支取个人账户余额",
    ),
    WithdrawalCase.QUIT_EMPLOYEE_SCHEME: (
        Eligibility.SOME_PLACES,
        (Condition.LOCAL_RULE_ON_QUITTING,),
        (),
        "部分地区允许主动放弃职工医保后提取个人账户余额",
    ),
    WithdrawalCase.TO_WALLET: (
        Eligibility.NO,
        (Condition.USE_E_CARD_INSTEAD,),
        (),
        "余额不能转到微信或支付宝，可用医保电子凭证支付",
    ),
    WithdrawalCase.OTHER: (
        Eligibility.NO,
        (Condition.NORMALLY_NOT_ALLOWED,),
        (),
        "个人账户余额一般不能提取现金",
    ),
}


def withdrawal_eligibility(
    case: WithdrawalCase, *, months_elsewhere: int | None = None
) -> WithdrawalAssessment:
    """Whether ``case`` allows taking the balance out; ``months_elsewhere`` for long stays."""
    if case is WithdrawalCase.LONG_TERM_ELSEWHERE:
        allowed, conditions, materials, basis = _long_term(months_elsewhere)
    else:
        allowed, conditions, materials, basis = _TABLE[case]
    provenance = [nat.WITHDRAWAL]
    if case is WithdrawalCase.TO_WALLET:
        provenance.append(nat.NO_CASH_TO_WALLET)
    if case is WithdrawalCase.LONG_TERM_ELSEWHERE:
        provenance.append(nat.LONG_TERM_ELSEWHERE_MONTHS.provenance)
    return WithdrawalAssessment(
        inputs=WithdrawalInputs(case, months_elsewhere),
        allowed=allowed,
        conditions=conditions,
        # Taking the balance out closes the account (source 004); no route, no consequence.
        consequences=() if case in _NO_PATHWAY else (Consequence.ACCOUNT_CLOSED,),
        materials=() if case in _NO_PATHWAY else (*_CARDS, *materials),
        basis=basis,
        provenance=tuple(provenance),
    )


def _long_term(
    months: int | None,
) -> tuple[Eligibility, tuple[Condition, ...], tuple[Material, ...], str]:
    need = nat.LONG_TERM_ELSEWHERE_MONTHS.value
    conditions = (Condition.REMOTE_CARE_REGISTERED_6_MONTHS,)
    materials = (Material.REMOTE_CARE_RECORD,)
    if months is None:
        allowed = Eligibility.IF_CONDITIONS
    elif months >= need:
        allowed = Eligibility.YES
    else:
        allowed = Eligibility.NO
    basis = f"长期异地居住：办理异地就医备案后满{need}个月未在参保地就医可申请"
    if months is not None:
        basis += f"（目前{months}个月）"
    return allowed, conditions, materials, basis
