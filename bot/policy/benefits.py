"""Annual reimbursement caps (最高支付限额) by scheme, continuous months and city."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from region_data.city_policy import CapTier, CityPolicy, Provenance, Scheme

from . import national as nat
from .money import fmt_yuan

__all__ = ["CapEstimate", "CapInputs", "reimbursement_cap"]


@dataclass(frozen=True, slots=True)
class CapInputs:
    scheme: Scheme
    continuous_months: int | None
    city: str | None


@dataclass(frozen=True, slots=True)
class CapEstimate:
    """The annual cap; ``tiers`` lists the city's bands when months are unknown."""

    inputs: CapInputs
    amount: Decimal | None  # None: depends on continuous months the user did not give
    approximate: bool
    tiers: tuple[CapTier, ...]
    critical_illness_example: Decimal | None  # national example including 大病保险
    basis: str
    provenance: tuple[Provenance, ...]


def reimbursement_cap(
    scheme: Scheme, *, city: CityPolicy | None, continuous_months: int | None = None
) -> CapEstimate:
    """The city's cap for this scheme and continuity, else a national example (estimate)."""
    inputs = CapInputs(scheme, continuous_months, city.name if city else None)
    tiers = tuple(
        t for t in (city.reimbursement_caps if city else ()) if t.scheme in (None, scheme)
    )
    if not tiers:
        return _national_cap(inputs, scheme)
    if continuous_months is None:
        # Without months only a cap that holds for any continuity can be named.
        chosen = [t for t in tiers if t.min_months == 0 and t.below_months is None]
    else:
        chosen = [t for t in tiers if t.covers(scheme, continuous_months)]
    if len(chosen) == 1:
        tier = chosen[0]
        about = "约" if tier.approximate else ""
        basis = f"当地年度最高支付限额{about}{fmt_yuan(tier.amount.value)}"
        one = (tier.amount.provenance,)
        return CapEstimate(inputs, tier.amount.value, tier.approximate, (tier,), None, basis, one)
    # Months unknown, or the sources give no band for them: list what the city publishes.
    basis = "当地年度最高支付限额随连续参保时间增加，已知档次见列表"
    prov = tuple(t.amount.provenance for t in tiers)
    return CapEstimate(inputs, None, True, tiers, None, basis, prov)


def _national_cap(inputs: CapInputs, scheme: Scheme) -> CapEstimate:
    example = nat.RESIDENT_CAP_EXAMPLE if scheme is Scheme.RESIDENT else nat.EMPLOYEE_CAP_EXAMPLE
    extra = nat.CRITICAL_ILLNESS_CAP_EXAMPLE
    basis = (
        f"常见年度最高支付限额约{fmt_yuan(example.value)}，"
        f"加大病保险可达约{fmt_yuan(extra.value)}，各地不同"
    )
    prov = (example.provenance, extra.provenance)
    return CapEstimate(inputs, example.value, True, (), extra.value, basis, prov)
