"""Exact money: `Decimal` amounts with an explicit currency, stored as integer micro-units.

Storage is an integer count of millionths of the currency unit (1 EUR = 1_000_000 micros)
in a BigIntegerField: SMS prices need sub-cent precision, and SQLite has no exact decimal
type (a SUM over a DecimalField comes back as a float there). Python code converts at the
edges with `to_micros` / `from_micros` and never touches floats: both refuse them.

Invoices show cents: `round_to_cents` rounds half up (ROUND_HALF_UP), the commercial rule.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

MICROS = 1_000_000
MICROS_PER_CENT = 10_000
DEFAULT_CURRENCY = "EUR"
# ISO 4217 codes we price in; extend as the operator needs.
CURRENCIES = ("EUR", "USD", "GBP", "CHF")


class MoneyError(ValueError):
    pass


def to_micros(value: Decimal | int | str) -> int:
    """An amount in currency units (Decimal, int or a decimal string) as exact micros.

    Refuses floats and amounts finer than one micro, rather than rounding silently."""
    if isinstance(value, (float, bool)):
        raise MoneyError("money is never a float")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    micros = amount * MICROS
    if micros != micros.to_integral_value():
        raise MoneyError(f"{value} has more than 6 decimal places")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    """Exact Decimal value of an integer count of micros (6 decimal places)."""
    return (Decimal(int(micros)) / MICROS).quantize(Decimal("0.000001"))


def shown_value(micros: int) -> Decimal:
    """An amount as people read it: cents (`50.00`), with more decimals only when the
    amount has them (an SMS priced `0.045` is not shown as `0.05`, a balance of
    `12.345678` is not rounded)."""
    value = from_micros(micros)
    cents = value.quantize(Decimal("0.01"))
    return cents if value == cents else value.normalize()


def round_to_cents(micros: int) -> int:
    """Round an amount in micros to whole cents, half up (away from zero), in micros."""
    cents = (Decimal(int(micros)) / MICROS_PER_CENT).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cents) * MICROS_PER_CENT


def format_amount(micros: int, currency: str = DEFAULT_CURRENCY, *, places: int = 2) -> str:
    """`1234.50 EUR` — for documents; the API returns decimal strings."""
    quantum = Decimal(1).scaleb(-places)
    value = from_micros(micros).quantize(quantum, rounding=ROUND_HALF_UP)
    return f"{value} {currency}"


@dataclass(frozen=True, order=True)
class Money:
    """An amount of one currency, held as exact integer micros."""

    micros: int
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not isinstance(self.micros, int) or isinstance(self.micros, bool):
            raise MoneyError("Money holds integer micros")
        if self.currency not in CURRENCIES:
            raise MoneyError(f"unknown currency {self.currency!r}")

    @classmethod
    def of(cls, value: Decimal | int | str, currency: str = DEFAULT_CURRENCY) -> "Money":
        return cls(to_micros(value), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> "Money":
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return from_micros(self.micros)

    def _same(self, other: "Money") -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise MoneyError("cannot mix currencies")

    def __add__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.micros + other.micros, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        self._same(other)
        return Money(self.micros - other.micros, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.micros, self.currency)

    def rounded(self) -> "Money":
        return Money(round_to_cents(self.micros), self.currency)

    def __str__(self) -> str:
        return format_amount(self.micros, self.currency)
