"""Contact-center reads, always scoped to one account."""

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from chappe.accounts.models import Account
from chappe.callcenter.models import (
    AudioPrompt,
    CallFlow,
    CallRecord,
    NumberRental,
    NumberStatus,
    PhoneNumber,
    RentalStatus,
    Voicemail,
)
from chappe.common.lookup import filtered, get_or_404


def catalogue_list(*, country: str | None = None,
                   number_type: str | None = None) -> QuerySet[PhoneNumber]:
    """Numbers the operator offers (not tenant data: the same for every account)."""
    return filtered(PhoneNumber.objects.filter(status=NumberStatus.AVAILABLE),
                    country=country.upper() if country else None, number_type=number_type)


def rental_list(*, account: Account, status: str | None = None) -> QuerySet[NumberRental]:
    return filtered(NumberRental.objects.filter(account=account).select_related("number"),
                    status=status)


def rental_get(*, account: Account, rental_id: Any) -> NumberRental:
    return get_or_404(NumberRental.objects.filter(account=account).select_related("number"),
                      rental_id)


def flow_list(*, account: Account) -> QuerySet[CallFlow]:
    return CallFlow.objects.filter(account=account).prefetch_related("versions")


def flow_get(*, account: Account, flow_id: Any) -> CallFlow:
    return get_or_404(CallFlow.objects.filter(account=account), flow_id)


def call_list(*, account: Account, direction: str | None = None,
              disposition: str | None = None, since: datetime | None = None,
              until: datetime | None = None, number: str | None = None) -> QuerySet[CallRecord]:
    records = filtered(CallRecord.objects.filter(account=account), direction=direction,
                       disposition=disposition, started_at__gte=since, started_at__lt=until)
    if number:
        records = records.filter(Q(from_number=number) | Q(to_number=number))
    return records


def audio_prompt_list(*, account: Account) -> QuerySet[AudioPrompt]:
    return AudioPrompt.objects.filter(account=account)


def call_get(*, account: Account, call_id: Any) -> CallRecord:
    return get_or_404(CallRecord.objects.filter(account=account), call_id)


def voicemail_list(*, account: Account) -> QuerySet[Voicemail]:
    return Voicemail.objects.filter(account=account).select_related("call")


def voicemail_get(*, account: Account, voicemail_id: Any) -> Voicemail:
    return get_or_404(Voicemail.objects.filter(account=account), voicemail_id)


def number_route(*, e164: str) -> NumberRental | None:
    """The active rental of a called number (the engine's inbound routing)."""
    return (NumberRental.objects.filter(number__e164=e164, status=RentalStatus.ACTIVE)
            .select_related("number__trunk", "flow").first())
