"""Every figure the bot shows, as pure functions over typed inputs.

No I/O and no clock: the city table is loaded by :mod:`region_data.city_policy` and the
``CityPolicy | None`` for the place is passed in, and ``today`` is always an argument. Money is
``Decimal`` throughout and rounded only for display (:func:`fmt_money`). Every result carries its
inputs, a ``basis`` string and the ``provenance`` of each figure it used (city or national).
"""

from region_data.city_policy import (
    NATIONAL_LABEL,
    CityPolicy,
    PolicyTable,
    Provenance,
    ProvincePolicy,
    RateRange,
    Scheme,
    Sourced,
)

from .benefits import CapEstimate, reimbursement_cap
from .common import (
    SHANGHAI,
    ExplanationKey,
    LapseCause,
    PolicyResult,
    add_months,
    is_estimate,
    shanghai_date,
)
from .deadlines import (
    CollectionPeriod,
    Deadline,
    DeadlineKind,
    NewbornEnrolment,
    newborn_enrolment,
    next_deadline,
    next_monthly_due,
    resident_collection_period,
)
from .lapse import LapseBucket, Resumption, benefit_resumption, lapse_bucket
from .money import MoneyRange, fmt_money, fmt_number, fmt_rate, round_money
from .payment import (
    AccountCredit,
    BackPayment,
    FeeApplies,
    LateFee,
    MemberStatus,
    Sex,
    YearsShortfall,
    back_payment,
    contribution_years_shortfall,
    late_fee,
    monthly_account_credit,
)
from .transfer import (
    BalanceHandling,
    Place,
    TransferAssessment,
    TransferKind,
    TransferTimeline,
    classify_transfer,
    transfer_kind,
    transfer_timeline,
)
from .withdrawal import (
    Condition,
    Eligibility,
    Material,
    WithdrawalAssessment,
    WithdrawalCase,
    withdrawal_eligibility,
)
from .workdays import WorkdayResult, add_working_days, check_working_day

__all__ = [
    "NATIONAL_LABEL",
    "SHANGHAI",
    "AccountCredit",
    "BackPayment",
    "BalanceHandling",
    "CapEstimate",
    "CityPolicy",
    "CollectionPeriod",
    "Condition",
    "Deadline",
    "DeadlineKind",
    "Eligibility",
    "ExplanationKey",
    "FeeApplies",
    "LapseBucket",
    "LapseCause",
    "LateFee",
    "Material",
    "MemberStatus",
    "MoneyRange",
    "NewbornEnrolment",
    "Place",
    "PolicyResult",
    "PolicyTable",
    "Provenance",
    "ProvincePolicy",
    "RateRange",
    "Resumption",
    "Scheme",
    "Sex",
    "Sourced",
    "TransferAssessment",
    "TransferKind",
    "TransferTimeline",
    "WithdrawalAssessment",
    "WithdrawalCase",
    "WorkdayResult",
    "YearsShortfall",
    "add_months",
    "add_working_days",
    "back_payment",
    "benefit_resumption",
    "check_working_day",
    "classify_transfer",
    "contribution_years_shortfall",
    "fmt_money",
    "fmt_number",
    "fmt_rate",
    "is_estimate",
    "lapse_bucket",
    "late_fee",
    "monthly_account_credit",
    "newborn_enrolment",
    "next_deadline",
    "next_monthly_due",
    "reimbursement_cap",
    "resident_collection_period",
    "round_money",
    "shanghai_date",
    "transfer_kind",
    "transfer_timeline",
    "withdrawal_eligibility",
]
