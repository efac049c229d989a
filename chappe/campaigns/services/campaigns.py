"""Campaign drafts: create, change, delete — validated the same way for the API and the
web app — and the recipients' right to erasure (P-12) for campaigns."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from chappe.campaigns.personalize import TemplateError
from chappe.campaigns.selectors import FILTER_OPS, template_for
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.fields import (
    BUILTIN_FIELDS,
    CUSTOM_PREFIX,
    FieldValueError,
    coerce_custom,
    text_of,
)
from chappe.contacts.models import ContactList
from chappe.contacts.selectors import field_specs
from chappe.messaging.models import Message, MessageKind
from chappe.messaging.rcs.agents import rcs_agent_get
from chappe.messaging.rcs.send import content_validate, fallback_validate, stored_summary
from chappe.messaging.services.accept import MAX_SCHEDULE_AHEAD

MAX_NUMBERS = 100_000
MAX_FILTERS = 20
MAX_SEGMENTS_LIMIT = 20
# The fields of a campaign a client sets (the audience lists aside).
FIELDS = ("name", "kind", "sender", "text", "stop_mention", "max_segments", "send_at",
          "all_contacts", "filters", "numbers")
_COMPARED = ("eq", "ne", "gte", "lte")


def filters_clean(account: Account, filters: Sequence[Mapping[str, Any]],
                  errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    specs = field_specs(account=account)
    cleaned = []
    if len(filters) > MAX_FILTERS:
        errors["filters"] = [_("At most %(n)d filters.") % {"n": MAX_FILTERS}]
        return []
    for index, spec in enumerate(filters):
        name, op = str(spec.get("field", "")), str(spec.get("op", ""))
        value: Any = text_of(spec.get("value"))
        problem = None
        if op not in FILTER_OPS:
            problem = _("Unknown comparison “%(op)s”.") % {"op": op}
        elif op not in ("empty", "not_empty") and not value:
            problem = _("Give a value to compare with.")
        elif name.startswith(CUSTOM_PREFIX):
            field = specs.get(name.removeprefix(CUSTOM_PREFIX))
            if field is None:
                problem = _("No custom field “%(key)s”.") % {"key": name.removeprefix(
                    CUSTOM_PREFIX)}
            elif op in _COMPARED:
                try:
                    value = coerce_custom(field, value)
                except FieldValueError as exc:
                    problem = exc.message
        elif name not in BUILTIN_FIELDS:
            problem = _("Unknown field “%(field)s”.") % {"field": name}
        if problem:
            errors[f"filters.{index}"] = [problem]
        else:
            cleaned.append({"field": name, "op": op,
                            **({} if op in ("empty", "not_empty") else {"value": value})})
    return cleaned


def numbers_clean(account: Account, numbers: Sequence[str],
                  errors: dict[str, list[str]]) -> list[str]:
    if len(numbers) > MAX_NUMBERS:
        errors["numbers"] = [_("At most %(n)d pasted numbers; import them as contacts "
                               "instead.") % {"n": MAX_NUMBERS}]
        return []
    cleaned: dict[str, None] = {}
    invalid = []
    for raw in numbers:
        if not str(raw).strip():
            continue
        try:
            cleaned[normalize(str(raw), default_country=account.default_country).e164] = None
        except InvalidNumber:
            invalid.append(str(raw))
    if invalid:
        errors["numbers"] = [_("Not valid phone numbers: %(numbers)s.") % {
            "numbers": ", ".join(invalid[:10]) + (" …" if len(invalid) > 10 else "")}]
    return list(cleaned)


def _clean(account: Account, values: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign's fields as stored, or ValidationFailed with every problem found.
    Filters and numbers are checked only when given (pasted numbers are normalised once)."""
    errors: dict[str, list[str]] = {}
    out = dict(values)
    out["name"] = str(values.get("name") or "").strip()
    if not out["name"] or len(out["name"]) > 100:
        errors["name"] = [_("Give the campaign a name of at most 100 characters.")]
    if values.get("kind") not in MessageKind.values:
        errors["kind"] = [_("Either transactional or marketing.")]
    out["sender"] = str(values.get("sender") or "").strip()
    if not out["sender"] or len(out["sender"]) > 20:
        errors["sender"] = [_("Give a sender of at most 20 characters.")]
    if values.get("kind") == MessageKind.MARKETING and not values.get("stop_mention"):
        errors["stop_mention"] = [_("Marketing messages always carry the STOP mention.")]
    text = str(values.get("text") or "")
    if not text.strip():
        errors["text"] = [_("The message text is empty.")]
    else:
        try:
            template_for(account=account, text=text)
        except TemplateError as exc:
            errors["text"] = [exc.message]
    max_segments = values.get("max_segments")
    if max_segments is not None and not 1 <= max_segments <= MAX_SEGMENTS_LIMIT:
        errors["max_segments"] = [_("Between 1 and %(n)d.") % {"n": MAX_SEGMENTS_LIMIT}]
    send_at: datetime | None = values.get("send_at")
    if send_at is not None:
        if send_at.tzinfo is None:
            errors["send_at"] = [_("Give a time zone, e.g. 2026-12-01T09:00:00+01:00.")]
        elif send_at > timezone.now() + MAX_SCHEDULE_AHEAD:
            errors["send_at"] = [_("At most one year ahead.")]
    if "filters" in values:
        out["filters"] = filters_clean(account, values["filters"] or [], errors)
    if "numbers" in values:
        out["numbers"] = numbers_clean(account, values["numbers"] or [], errors)
    if errors:
        raise ValidationFailed(details=errors)
    return out


def _rcs_values(account: Account, *, agent_id: Any, content: Any, fallback_text: str,
                fallback_after: int | None) -> dict[str, Any]:
    """An RCS campaign's fields, checked as a single RCS send checks them (same content
    schema, same fallback rules, the account's own agent; whether the carriers approved
    it is checked at launch, as it may be approved meanwhile)."""
    stored = content_validate(content)
    fallback_validate(fallback_text=fallback_text, fallback_after=fallback_after)
    return {"rcs_agent": rcs_agent_get(account=account, id=agent_id), "rcs_content": stored,
            "fallback_text": fallback_text, "fallback_after": fallback_after}


def _check_lists(account: Account, lists: Sequence[ContactList] | None) -> None:
    if lists and any(cl.account_id != account.pk for cl in lists):
        raise ValidationFailed(details={"lists": [_("Unknown list.")]})


@transaction.atomic
def campaign_create(
    *,
    actor: Actor,
    account: Account,
    name: str,
    sender: str,
    text: str,
    kind: str = MessageKind.MARKETING,
    stop_mention: bool = True,
    max_segments: int | None = None,
    send_at: datetime | None = None,
    lists: Sequence[ContactList] = (),
    all_contacts: bool = False,
    filters: Sequence[Mapping[str, Any]] = (),
    numbers: Sequence[str] = (),
    rcs_agent_id: Any = None,
    rcs_content: Any = None,
    fallback_text: str = "",
    fallback_after: int | None = None,
) -> Campaign:
    """A new draft campaign (nothing is sent until it is launched). With `rcs_agent_id`,
    an RCS campaign (`_rcs_values`): `sender` and `text` are the agent's and the
    content's summary."""
    actor.require(Perm.MESSAGING_SEND)
    _check_lists(account, lists)
    rcs = (_rcs_values(account, agent_id=rcs_agent_id, content=rcs_content,
                       fallback_text=fallback_text, fallback_after=fallback_after)
           if rcs_agent_id is not None else {})
    if rcs:
        sender, text = rcs["rcs_agent"].sender, stored_summary(rcs["rcs_content"])
    values = _clean(account, {
        "name": name, "kind": kind, "sender": sender, "text": text,
        "stop_mention": stop_mention, "max_segments": max_segments, "send_at": send_at,
        "all_contacts": all_contacts, "filters": list(filters), "numbers": list(numbers)})
    campaign = Campaign.objects.create(account=account, created_by=actor.label, **values,
                                       **rcs)
    campaign.lists.set(lists)
    audit_record(actor=actor, account=account, action="campaign.create", target=campaign,
                 details={"kind": kind, "lists": len(lists), "numbers": len(values["numbers"])})
    return campaign


def _locked_draft(campaign: Campaign) -> Campaign:
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if locked.status != CampaignStatus.DRAFT:
        raise Conflict(_("Only a draft campaign can be changed or deleted."),
                       code="campaign_state", details={"status": locked.status})
    return locked


@transaction.atomic
def campaign_update(*, actor: Actor, campaign: Campaign, values: Mapping[str, Any],
                    lists: Sequence[ContactList] | None = None) -> Campaign:
    """Change a draft: the `FIELDS` given in `values`, and its lists when given."""
    actor.require(Perm.MESSAGING_SEND)
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationFailed(details={name: [_("Unknown field.")] for name in sorted(unknown)})
    campaign = _locked_draft(campaign)
    _check_lists(campaign.account, lists)
    current = {f: getattr(campaign, f) for f in FIELDS if f not in ("filters", "numbers")}
    for name, value in _clean(campaign.account, {**current, **values}).items():
        setattr(campaign, name, value)
    campaign.save()
    if lists is not None:
        campaign.lists.set(lists)
    audit_record(actor=actor, account=campaign.account, action="campaign.update",
                 target=campaign, details={"fields": sorted(values) + (
                     ["lists"] if lists is not None else [])})
    return campaign


@transaction.atomic
def campaign_delete(*, actor: Actor, campaign: Campaign) -> None:
    """Delete a draft (a launched campaign stays: its messages are billing records)."""
    actor.require(Perm.MESSAGING_SEND)
    campaign = _locked_draft(campaign)
    audit_record(actor=actor, account=campaign.account, action="campaign.delete",
                 target=campaign)
    campaign.delete()


def campaigns_erase_number(*, account: Account, number: str) -> None:
    """Campaigns' part of a recipient's erasure (P-12), run by `chappe.privacy.rights` in
    its transaction after messaging's part: the number (E.164) leaves pasted audiences and
    launch snapshots. A campaign being launched right now could still send to it, so the
    erasure waits (409) — as it does for a running import."""
    campaigns = list(Campaign.objects.select_for_update().filter(account=account))
    if any(c.status == CampaignStatus.LAUNCHING for c in campaigns):
        raise Conflict(_("A campaign is being launched and could send to this number: erase "
                         "it once the launch is over."), code="campaign_launching")
    for campaign in campaigns:
        if number in campaign.numbers:
            campaign.numbers = [n for n in campaign.numbers if n != number]
            campaign.save(update_fields=["numbers", "updated_at"])
    CampaignRecipient.objects.filter(campaign__account=account, number=number).delete()
    # A launch chunk that committed after the erasure looked at the messages would have
    # left a message with the number: refuse rather than leave it behind.
    if Message.objects.filter(account=account, recipient=number).exists():
        raise Conflict(_("A message to this number was accepted meanwhile; try again."),
                       code="message_in_flight")
