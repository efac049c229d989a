"""Template helpers of the client web app: money in the reader's locale, status badges."""

from django import template
from django.utils.formats import number_format
from django.utils.html import format_html

from chappe.billing.money import shown_value
from chappe.web.labels import badge_style, status_label

register = template.Library()

@register.filter
def money(micros: int | None, currency: str = "EUR") -> str:
    """An amount held in micros, exact (`from_micros`, never a float), written in the
    active language's number format: at least 2 decimals, more only when the amount has
    them (an SMS priced 0.045 is not shown as 0.05). `format_amount` is the fixed form of
    documents (PDF, CSV); pages localise."""
    if micros is None or micros == "":
        return "—"
    value = shown_value(int(micros))
    return f"{number_format(value, use_l10n=True, force_grouping=True)}\u00a0{currency}"


@register.simple_tag
def status_badge(status: str, label: str = "") -> str:
    """A coloured badge for a message, invoice or order status."""
    return format_html('<span class="badge badge-{}" data-status="{}">{}</span>',
                       badge_style(status), status, label or status_label(status))


@register.filter
def encoding_label(encoding: str) -> str:
    return {"gsm7": "GSM-7", "ucs2": "UCS-2"}.get(str(encoding), str(encoding))
