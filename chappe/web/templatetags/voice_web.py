"""Template helpers of the contact-center pages."""

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def seconds(milliseconds: int | None) -> str:
    """A duration held in milliseconds, as seconds with one decimal, in the reader's
    number format ("7,5 s" in French)."""
    if milliseconds in (None, ""):
        return "—"
    value = (Decimal(int(milliseconds)) / 1000).quantize(Decimal("0.1"))
    return f"{number_format(value, use_l10n=True)}\u00a0s"
