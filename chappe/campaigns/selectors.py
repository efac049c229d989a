"""Campaign reads: the audience, a preview per recipient, the cost estimate, progress.

Every read takes the account explicitly. The estimate of a million-contact audience
never builds a million objects: contacts are counted in SQL by destination country,
operator and the values the template uses, and each distinct combination is rendered,
segmented and priced once (`encoding.segment`, `billing.rating.rate`).
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from chappe.accounts.models import Account, ServiceKind
from chappe.billing.errors import NoPriceError
from chappe.billing.rating import NoPrice, PriceEntry, Product, UsageEvent, rate
from chappe.billing.selectors import (
    balance_summary,
    price_entries,
    price_list_for,
    price_version_at,
    subscription_live,
)
from chappe.campaigns.models import Campaign, CampaignSample, CampaignStatus
from chappe.campaigns.personalize import Template, parse_template
from chappe.campaigns.skew import Skew, policy_from_config, skew_check
from chappe.common.lookup import get_or_404
from chappe.contacts.fields import CUSTOM_PREFIX, TEXT_FIELDS, mobile_facts, text_of
from chappe.contacts.models import Contact, ListMembership, OptOut
from chappe.contacts.selectors import custom_field_query, opted_out_numbers
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import MessageKind
from chappe.messaging.services.accept import final_text
from chappe.smpp.encoding import Segmentation, segment

M = MessageStatus
_CHUNK = 900  # under SQLite's bound-parameter limit
FILTER_OPS = ("eq", "ne", "contains", "empty", "not_empty", "gte", "lte")
# Message statuses grouped as the progress shows them. A message held by the content
# policy (M-11) waits for the operator: the campaign is not complete while it does.
WAITING = (M.ACCEPTED, M.SCHEDULED, M.QUEUED, M.HELD)
FAILED = (M.UNDELIVERED, M.REJECTED, M.EXPIRED)


# --- campaigns ---------------------------------------------------------------------------


def campaign_query(*, account: Account, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.filter(account=account)
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns.prefetch_related("lists").order_by("-created_at", "-id")


def campaign_get(*, account: Account, id: Any) -> Campaign:
    return get_or_404(Campaign.objects.filter(account=account).prefetch_related("lists"), id)


def campaigns_of_sends(*, account: Account, send_ids: Iterable[Any]) -> dict[str, Any]:
    """{send id: campaign id} for the account's campaigns among `send_ids` (as strings)."""
    return {str(send_id): pk for send_id, pk in Campaign.objects.filter(
        account=account, send_id__in=list(send_ids)).values_list("send_id", "pk")}


# --- what a campaign sends, to whom --------------------------------------------------------


@dataclass(frozen=True)
class Audience:
    """Contacts of `list_ids` (or of the whole book with `all_contacts`) matching every
    filter, plus pasted numbers (E.164)."""

    list_ids: tuple[UUID, ...] = ()
    all_contacts: bool = False
    filters: tuple[Mapping[str, str], ...] = ()
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Content:
    """What each recipient receives: the template, its kind, the STOP option and limit."""

    text: str
    kind: str = MessageKind.MARKETING
    stop_mention: bool = True
    max_segments: int | None = None
    # An RCS campaign: the text is the content's summary (the SMS fallback carries the
    # STOP mention), billed one RCS message each (M-8).
    rcs: bool = False

    @property
    def product(self) -> str:
        return Product.RCS_MESSAGE if self.rcs else Product.SMS

    def units(self, seg: Segmentation) -> int:
        """What one recipient is billed on: SMS segments, or one RCS message."""
        return 1 if self.rcs else seg.segments

    def final(self, template: Template, values: Mapping[str, str]) -> str:
        """One recipient's final text: personalised, with the STOP mention when the
        campaign carries it (always for marketing, M-10; RCS: the fallback's)."""
        if self.rcs:
            return template.render(values)
        stop = self.kind == MessageKind.MARKETING or self.stop_mention
        return final_text(template.render(values), MessageKind.MARKETING if stop else self.kind)


def campaign_audience(campaign: Campaign) -> Audience:
    return Audience(list_ids=tuple(cl.pk for cl in campaign.lists.all()),
                    all_contacts=campaign.all_contacts,
                    filters=tuple(campaign.filters), numbers=tuple(campaign.numbers))


def campaign_content(campaign: Campaign) -> Content:
    return Content(text=campaign.text, kind=campaign.kind, stop_mention=campaign.stop_mention,
                   max_segments=campaign.max_segments, rcs=campaign.rcs_agent_id is not None)


def placeholder_keys(*, account: Account) -> list[str]:
    """What a template may use: the contacts' text fields and the custom field keys."""
    return [*TEXT_FIELDS, *custom_field_query(account=account).values_list("key", flat=True)]


def template_for(*, account: Account, text: str) -> Template:
    """Parse `text` against the account's fields (TemplateError if it cannot be used)."""
    return parse_template(text, known=placeholder_keys(account=account))


def _filter_q(spec: Mapping[str, Any]) -> Q:
    """One audience filter (validated by the services) as a condition on contacts."""
    name, op, value = spec["field"], spec["op"], spec.get("value")
    if name.startswith(CUSTOM_PREFIX):
        key = name.removeprefix(CUSTOM_PREFIX)
        path = f"custom__{key}"
        has = Q(custom__has_key=key)
        match op:
            case "empty":
                return ~has
            case "not_empty":
                return has
            case "eq":
                return Q(**{path: value}) if not isinstance(value, str) else \
                    Q(**{f"{path}__iexact": value})
            case "ne":
                equal = Q(**{path: value}) if not isinstance(value, str) else \
                    Q(**{f"{path}__iexact": value})
                return ~has | (has & ~equal)
            case "contains":
                return Q(**{f"{path}__icontains": value})
            case _:
                return has & Q(**{f"{path}__{op}": value})
    match op:
        case "empty":
            return Q(**{name: ""})
        case "not_empty":
            return ~Q(**{name: ""})
        case "eq":
            return Q(**{f"{name}__iexact": value})
        case "ne":
            return ~Q(**{f"{name}__iexact": value})
        case "contains":
            return Q(**{f"{name}__icontains": value})
        case _:
            return Q(**{f"{name}__{op}": value})


def audience_contacts(*, account: Account, audience: Audience) -> QuerySet[Contact]:
    """The audience's contacts (each once), unordered."""
    contacts = Contact.objects.filter(account=account)
    if not audience.all_contacts:
        if not audience.list_ids:
            return contacts.none()
        contacts = contacts.filter(Exists(ListMembership.objects.filter(
            contact_id=OuterRef("pk"), contact_list__account=account,
            contact_list_id__in=audience.list_ids)))
    for spec in audience.filters:
        contacts = contacts.filter(_filter_q(spec))
    return contacts.order_by()


def _custom_keys(template: Template) -> list[str]:
    return [key for key in template.keys if key not in TEXT_FIELDS]


def value_columns(template: Template, prefix: str = "") -> dict[str, Any]:
    """Expressions giving each placeholder's value for a query over contacts (or over
    rows with a `contact` foreign key when `prefix` is "contact__"), named `v_<key>`.
    Custom values are read as JSON values (not as the database's text of them), so a
    number reads the same here as from a loaded contact (`text_of`)."""
    columns: dict[str, Any] = {}
    for key in template.keys:
        columns[f"v_{key}"] = (F(f"{prefix}{key}") if key in TEXT_FIELDS
                               else KeyTransform(key, f"{prefix}custom"))
    return columns


def values_of(template: Template, row: Mapping[str, Any]) -> dict[str, str]:
    return {key: text_of(row[f"v_{key}"]) for key in template.keys}


# --- pricing ---------------------------------------------------------------------------------


class Pricer:
    """SMS prices of the account's list in force now, one lookup per country."""

    def __init__(self, *, account: Account, at: datetime | None = None,
                 product: str = Product.SMS) -> None:
        self.at, self.product = at or timezone.now(), product
        try:
            self.price_list = price_list_for(account=account, service_kind=ServiceKind.MESSAGING,
                                             at=self.at)
            self.version = price_version_at(price_list=self.price_list, at=self.at)
        except NoPriceError:
            self.price_list = self.version = None
        self.currency = self.price_list.currency if self.price_list else "EUR"
        self._tables: dict[str, list[PriceEntry]] = {}

    def price(self, *, country: str, segments: int, operator: str = "") -> int | None:
        """The charge of one message of `segments` to `country` (rated at `operator`'s
        specific price where given), or None when no price covers it."""
        if self.version is None:
            return None
        if country not in self._tables:
            self._tables[country] = price_entries(version=self.version, product=self.product,
                                                  country=country)
        try:
            return rate(UsageEvent(product=self.product, quantity=segments,
                                   destination_country=country, operator=operator),
                        self._tables[country]).amount_micros
        except NoPrice:
            return None


# --- preview -----------------------------------------------------------------------------------


@dataclass
class PreviewRow:
    number: str
    name: str
    text: str
    encoding: str
    segments: int
    price_micros: int | None
    opted_out: bool
    too_long: bool


def _segmented(text: str, cache: dict[str, Segmentation]) -> Segmentation:
    seg = cache.get(text)
    if seg is None:
        seg = cache[text] = segment(text)
    return seg


def campaign_preview(*, account: Account, audience: Audience, content: Content,
                     limit: int = 20) -> list[PreviewRow]:
    """The first recipients (contacts by name, then pasted numbers) with their own text,
    encoding, segments and price. TemplateError if the template cannot be used."""
    template = template_for(account=account, text=content.text)
    contacts = list(audience_contacts(account=account, audience=audience)
                    .order_by("last_name", "first_name", "mobile", "id")[:limit])
    rows: list[tuple[str, str, str, str, dict[str, str]]] = [
        (c.mobile, c.full_name, c.mobile_country, c.mobile_operator,
         {key: text_of(getattr(c, key) if key in TEXT_FIELDS else c.custom.get(key))
          for key in template.keys}) for c in contacts]
    if len(rows) < limit:
        known = {row[0] for row in rows}
        for number in audience.numbers:
            if len(rows) >= limit:
                break
            if number not in known:
                rows.append((number, "", *mobile_facts(number), {}))
    opted_out = opted_out_numbers(account=account, numbers=[row[0] for row in rows])
    pricer, cache = Pricer(account=account, product=content.product), {}
    preview = []
    for number, name, country, _operator, values in rows:
        seg = _segmented(content.final(template, values), cache)
        preview.append(PreviewRow(
            number=number, name=name, text="".join(seg.parts), encoding=seg.encoding,
            segments=content.units(seg), opted_out=number in opted_out,
            price_micros=pricer.price(country=country, segments=content.units(seg)),
            too_long=content.max_segments is not None and seg.segments > content.max_segments))
    return preview


# --- estimate ------------------------------------------------------------------------------------


@dataclass
class CountryEstimate:
    country: str
    recipients: int = 0
    segments: int = 0
    cost_micros: int = 0
    priced: bool = True


@dataclass
class Estimate:
    # Distinct numbers: audience contacts, and pasted numbers that are not among them.
    contacts: int = 0
    pasted: int = 0
    # Not sent: on the red list (M-5), not a mobile number of a country, over max_segments.
    opted_out: int = 0
    invalid: int = 0
    too_long: int = 0
    billable: int = 0
    segments: int = 0
    encodings: dict[str, int] = field(default_factory=dict)
    # One recipient's text that needs UCS-2 (a name with a character outside GSM-7).
    ucs2_example: str = ""
    by_country: list[CountryEstimate] = field(default_factory=list)
    cost_micros: int = 0
    currency: str = "EUR"
    # Prepaid credit usable now; None for a subscriber (billed monthly, never blocked).
    available_micros: int | None = None
    skews: list[Skew] = field(default_factory=list)

    @property
    def recipients(self) -> int:
        return self.contacts + self.pasted

    @property
    def unpriced(self) -> list[str]:
        return [row.country for row in self.by_country if not row.priced]

    @property
    def short_of_credit(self) -> bool:
        return self.available_micros is not None and self.cost_micros > self.available_micros


def skew_policy():
    return policy_from_config(settings.CHAPPE_OPERATOR_SKEW)


def _pasted_outside(account: Account, audience: Audience,
                    contacts: QuerySet[Contact]) -> list[str]:
    numbers = list(audience.numbers)
    inside: set[str] = set()
    for start in range(0, len(numbers), _CHUNK):
        inside.update(contacts.filter(mobile__in=numbers[start:start + _CHUNK])
                      .values_list("mobile", flat=True))
    return [n for n in numbers if n not in inside]


def _groups(account: Account, contacts: QuerySet[Contact], pasted: Iterable[str],
            template: Template) -> Iterable[tuple[str, str, dict[str, str], int]]:
    """(country, operator, values, recipients) of the audience, not on the red list, with
    recipients of equal country, operator and values counted together."""
    listed = OptOut.objects.filter(account=account, number=OuterRef("mobile"))
    columns = value_columns(template)
    grouped = (contacts.exclude(Exists(listed)).exclude(mobile_country="")
               .annotate(**columns)
               .values("mobile_country", "mobile_operator", *columns)
               .annotate(n=Count("pk")).order_by())
    for row in grouped:
        yield row["mobile_country"], row["mobile_operator"], values_of(template, row), row["n"]
    # Contacts whose number was stored before it was derived: one by one (rare).
    stray = contacts.exclude(Exists(listed)).filter(mobile_country="").annotate(**columns)
    for row in stray.values("mobile", *columns):
        country, operator = mobile_facts(row["mobile"])
        yield country, operator, values_of(template, row), 1
    for number in pasted:
        yield *mobile_facts(number), {}, 1


def campaign_estimate(*, account: Account, audience: Audience, content: Content,
                      operator_pricing: Mapping[str, Mapping[str, str]] | None = None,
                      ) -> Estimate:
    """What launching now would send and cost; see the module docstring. The red list is
    matched by number here (an erased entry, known only by its hash, is skipped at launch)
    and numbers not yet normalised are counted as they will be sent."""
    template = template_for(account=account, text=content.text)
    contacts = audience_contacts(account=account, audience=audience)
    estimate = Estimate()
    estimate.contacts = contacts.count()
    pasted = _pasted_outside(account, audience, contacts)
    estimate.pasted = len(pasted)
    pasted_out = opted_out_numbers(account=account, numbers=pasted)
    estimate.opted_out = len(pasted_out) + contacts.filter(Exists(OptOut.objects.filter(
        account=account, number=OuterRef("mobile")))).count()
    groups = list(_groups(account, contacts, [n for n in pasted if n not in pasted_out],
                          template))
    by_operator: Counter[tuple[str, str]] = Counter()
    for country, operator, _values, count in groups:
        if country:
            by_operator[country, operator] += count
    estimate.skews = skew_check(by_operator, skew_policy())
    pricing = operator_pricing if operator_pricing is not None else {}
    pricer, cache = Pricer(account=account, product=content.product), {}
    estimate.currency = pricer.currency
    countries: dict[str, CountryEstimate] = {}
    for country, operator, values, count in groups:
        if not country:
            estimate.invalid += count
            continue
        seg = _segmented(content.final(template, values), cache)
        if content.max_segments is not None and seg.segments > content.max_segments:
            estimate.too_long += count
            continue
        estimate.encodings[seg.encoding] = estimate.encodings.get(seg.encoding, 0) + count
        if seg.encoding == "ucs2" and not estimate.ucs2_example:
            estimate.ucs2_example = "".join(seg.parts)
        row = countries.setdefault(country, CountryEstimate(country=country))
        row.recipients += count
        row.segments += content.units(seg) * count
        price = pricer.price(country=country, segments=content.units(seg),
                             operator=pricing.get(country, {}).get(operator, ""))
        if price is None:
            row.priced = False
        else:
            row.cost_micros += price * count
    estimate.by_country = sorted(countries.values(), key=lambda r: (-r.recipients, r.country))
    estimate.billable = sum(row.recipients for row in estimate.by_country)
    estimate.segments = sum(row.segments for row in estimate.by_country)
    estimate.cost_micros = sum(row.cost_micros for row in estimate.by_country)
    if subscription_live(account=account, service_kind=ServiceKind.MESSAGING) is None:
        estimate.available_micros = sum(
            row["usable_micros"] for row in balance_summary(account=account)
            if row["currency"] == estimate.currency)
    return estimate


# --- progress ----------------------------------------------------------------------------------


@dataclass
class Point:
    at: datetime
    delivered: int
    failed: int


@dataclass
class Progress:
    campaign: Campaign
    sampled_at: datetime | None = None
    waiting: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    canceled: int = 0
    series: list[Point] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Messages to send (those on the red list are never sent)."""
        return self.waiting + self.sent + self.delivered + self.failed + self.canceled

    @property
    def done(self) -> int:
        """Messages with their final status."""
        return self.delivered + self.failed + self.canceled

    @property
    def percent(self) -> int:
        if self.campaign.status == CampaignStatus.COMPLETED:
            return 100
        return self.done * 100 // self.total if self.total else 0


def progress_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """A sample's counts by status, grouped as the progress shows them."""
    return {
        "waiting": sum(counts.get(s, 0) for s in WAITING),
        "sent": counts.get(M.SENT, 0),
        "delivered": counts.get(M.DELIVERED, 0),
        "failed": sum(counts.get(s, 0) for s in FAILED),
        "canceled": counts.get(M.CANCELED, 0),
    }


MAX_POINTS = 120


def campaign_progress(*, campaign: Campaign) -> Progress:
    """The campaign's latest sample and the delivery curve (at most MAX_POINTS points):
    no count of its messages here, whatever their number."""
    samples = list(CampaignSample.objects.filter(campaign=campaign).order_by("at", "id")
                   .values_list("at", "counts"))
    progress = Progress(campaign=campaign)
    if not samples:
        return progress
    progress.sampled_at = samples[-1][0]
    for name, value in progress_counts(samples[-1][1]).items():
        setattr(progress, name, value)
    step = max(1, -(-len(samples) // MAX_POINTS))
    chosen = samples[::step]
    if chosen[-1] is not samples[-1]:
        chosen.append(samples[-1])
    for at, counts in chosen:
        grouped = progress_counts(counts)
        progress.series.append(Point(at=at, delivered=grouped["delivered"],
                                     failed=grouped["failed"]))
    return progress

