"""Billing's errors, in the one error vocabulary (chappe/common/errors.py)."""

from django.utils.translation import gettext_lazy as _

from chappe.common.errors import ChappeError


class InsufficientCredit(ChappeError):
    """The prepaid balance cannot pay for this use: it is refused, nothing is debited."""

    status = 402
    code = "insufficient_credit"
    default_message = _("Not enough prepaid credit for this operation.")


class NoPriceError(ChappeError):
    """No price list or price row covers this use: it cannot be billed, so it is refused."""

    status = 422
    code = "no_price"
    default_message = _("No price is defined for this destination and product.")


class PaymentDeclined(ChappeError):
    status = 402
    code = "payment_declined"
    default_message = _("The payment was declined.")
