"""The send form's live counter: what the text and recipients typed so far will give,
computed with the platform's own code (never re-implemented in JavaScript):
segmentation (`encoding.segment`), the marketing STOP mention (`accept.final_text`),
number normalisation (`common.numbers.normalize`) and rating (`billing.selectors.price_quote`)."""

import re
from collections import Counter
from dataclasses import dataclass, field

from chappe.accounts.models import Account
from chappe.billing.errors import NoPriceError
from chappe.billing.rating import Product
from chappe.billing.selectors import balance_summary, price_quote
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.models import MessageKind
from chappe.messaging.services.accept import MAX_RECIPIENTS, final_text, stop_mention
from chappe.smpp.encoding import segment

_SEPARATORS = re.compile(r"[\r\n,;]+")


def split_recipients(raw: str) -> list[str]:
    """One number per line, or separated by commas or semicolons; blanks dropped.
    Duplicates are kept: the service reports them, one row per input."""
    return [part.strip() for part in _SEPARATORS.split(raw or "") if part.strip()]


@dataclass
class Preview:
    characters: int = 0
    # Characters the STOP mention adds (marketing), 0 when it is not added.
    mention_characters: int = 0
    mention: str = ""
    encoding: str = "gsm7"
    units: int = 0
    segments: int = 0
    remaining: int = 0
    per_segment: int = 160
    max_segments: int | None = None
    recipients: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    too_many: bool = False
    countries: dict[str, int] = field(default_factory=dict)
    price_micros: int | None = None
    currency: str = "EUR"
    unpriced: list[str] = field(default_factory=list)
    short_of_credit: bool = False

    @property
    def over_max_segments(self) -> bool:
        return self.max_segments is not None and self.segments > self.max_segments


def sms_preview(*, account: Account, text: str, kind: str, recipients: str,
                max_segments: int | None = None) -> Preview:
    if kind not in MessageKind.values:
        kind = MessageKind.TRANSACTIONAL
    preview = Preview(max_segments=max_segments)
    if text:
        body = final_text(text, kind)
        seg = segment(body)
        preview.characters = len(text)
        if body != text:
            preview.mention = stop_mention()
            preview.mention_characters = len(body) - len(text.rstrip())
        preview.encoding = seg.encoding
        preview.units = seg.units
        preview.segments = seg.segments
        preview.remaining = seg.remaining
        preview.per_segment = seg.per_segment

    inputs = split_recipients(recipients)
    preview.recipients = len(inputs)
    preview.too_many = len(inputs) > MAX_RECIPIENTS
    seen: set[str] = set()
    countries: Counter[str] = Counter()
    for raw in inputs[:MAX_RECIPIENTS]:
        try:
            number = normalize(raw, default_country=account.default_country)
        except InvalidNumber:
            preview.invalid += 1
            continue
        if number.e164 in seen:
            preview.duplicates += 1
            continue
        seen.add(number.e164)
        countries[number.country] += 1
    preview.valid = len(seen)
    preview.countries = dict(countries.most_common())

    if preview.segments and countries:
        total, currency = 0, ""
        for country, count in countries.items():
            try:
                quote = price_quote(account=account, product=Product.SMS,
                                    quantity=preview.segments, destination_country=country)
            except NoPriceError:
                preview.unpriced.append(country)
                continue
            total += quote.amount_micros * count
            currency = quote.currency
        if not preview.unpriced:
            preview.price_micros, preview.currency = total, currency or "EUR"
            usable = sum(row["usable_micros"] for row in balance_summary(account=account)
                         if row["currency"] == preview.currency)
            preview.short_of_credit = total > usable
    return preview
