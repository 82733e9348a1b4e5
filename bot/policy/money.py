"""Money and rate helpers: exact Decimal arithmetic, rounded to the cent only for display."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from region_data.city_policy import RateRange

__all__ = ["MoneyRange", "fmt_money", "fmt_number", "fmt_rate", "require_money", "round_money"]

CENT = Decimal("0.01")


def require_money(name: str, value: object) -> Decimal:
    """Return ``value`` if it is a finite, non-negative Decimal; floats are refused outright."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a finite non-negative amount, got {value}")
    return value


def round_money(value: Decimal) -> Decimal:
    """Quantise to 0.01 with half-up rounding, the way amounts are printed on receipts."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def fmt_money(value: Decimal) -> str:
    """'3200.00元'."""
    return f"{round_money(value):f}元"


def fmt_yuan(value: Decimal) -> str:
    """Large round sums the way people say them: '50万元', '35万元'; others '3200元'."""
    if value >= 10000 and value % 1000 == 0:
        return f"{fmt_number(value / 10000)}万元"
    return f"{fmt_number(value)}元"


def fmt_number(value: Decimal | int) -> str:
    """A plain number without trailing zeros or exponent: 8000, 0.5."""
    if isinstance(value, int):
        return str(value)
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fmt_rate(rates: RateRange) -> str:
    """'10%–12%' (or '10%' when both ends agree)."""
    low, high = (fmt_number(r * 100) + "%" for r in (rates.low, rates.high))
    return low if low == high else f"{low}–{high}"


@dataclass(frozen=True, slots=True)
class MoneyRange:
    """An exact amount range in yuan; ``display`` rounds once, at the edge."""

    low: Decimal
    high: Decimal

    def __post_init__(self) -> None:
        require_money("low", self.low)
        require_money("high", self.high)
        if self.low > self.high:
            raise ValueError(f"empty range {self.low}–{self.high}")

    @property
    def rounded(self) -> tuple[Decimal, Decimal]:
        """Both ends quantised to the cent."""
        return round_money(self.low), round_money(self.high)

    @property
    def display(self) -> str:
        """'3200.00–3840.00元', or a single amount when both ends agree."""
        low, high = self.rounded
        return fmt_money(low) if low == high else f"{low:f}–{fmt_money(high)}"

    def scale(self, factor: Decimal) -> MoneyRange:
        """Both ends multiplied by an exact factor."""
        return MoneyRange(self.low * factor, self.high * factor)
