"""Template helpers of the client web app: money in the reader's locale, status badges."""

from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

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


@register.simple_tag
def click_to_call(number: str) -> str:
    """A phone number the agent calls from their browser with one click (issue 15): a
    link to their workspace, which dials it; anything but an E.164 number stays text."""
    if not number or not number.startswith("+") or not number[1:].isdigit():
        return format_html("{}", number or "—")
    return format_html('<a class="click-to-call" href="{}?{}" title="{}">{}</a>',
                       reverse("web:agent_me"), urlencode({"dial": number}),
                       _("Call from the browser"), number)


@register.simple_tag
def click_to_call_button(number: str) -> str:
    """A small "Call back" button calling `number` from the browser (`click_to_call`)."""
    if not number or not number.startswith("+") or not number[1:].isdigit():
        return ""
    return format_html('<a class="btn btn-small click-to-call" href="{}?{}">{}</a>',
                       reverse("web:agent_me"), urlencode({"dial": number}), _("Call back"))
