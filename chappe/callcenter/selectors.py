"""Contact-center reads, always scoped to one account."""

from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
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
    Trunk,
    Voicemail,
    VoicemailAlert,
)
from chappe.common.errors import NotFound
from chappe.common.lookup import filtered, get_or_404
from chappe.voice.trunking import TrunkRoute


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
    records = filtered(CallRecord.objects.filter(account=account).select_related("recording"),
                       direction=direction,
                       disposition=disposition, started_at__gte=since, started_at__lt=until)
    if number:
        records = records.filter(Q(from_number=number) | Q(to_number=number))
    return records


def audio_prompt_list(*, account: Account) -> QuerySet[AudioPrompt]:
    return AudioPrompt.objects.filter(account=account)


def audio_prompt_get(*, account: Account, prompt_id: Any) -> AudioPrompt:
    return get_or_404(AudioPrompt.objects.filter(account=account), prompt_id)


def call_get(*, account: Account, call_id: Any) -> CallRecord:
    return get_or_404(CallRecord.objects.filter(account=account), call_id)


def voicemail_list(*, account: Account, listened: bool | None = None) -> QuerySet[Voicemail]:
    return filtered(Voicemail.objects.filter(account=account).select_related("call"),
                    listened=listened)


def voicemail_get(*, account: Account, voicemail_id: Any) -> Voicemail:
    return get_or_404(Voicemail.objects.filter(account=account).select_related("call"),
                      voicemail_id)


def voicemail_alert_on(*, user) -> bool:
    """Whether `user` asked for an e-mail for each new voicemail."""
    return VoicemailAlert.objects.filter(user=user).exists()


def data_file(relative: str) -> Path:
    """A stored recording or prompt under the data dir, or NotFound (missing, or a path
    that would leave the data dir)."""
    root = Path(settings.DATA_DIR).resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound()
    return path


def number_route(*, e164: str) -> NumberRental | None:
    """The active rental of a called number (the engine's inbound routing)."""
    return (NumberRental.objects.filter(number__e164=e164, status=RentalStatus.ACTIVE)
            .select_related("number__trunk", "flow", "account").first())


def trunk_route(trunk: Trunk) -> TrunkRoute:
    """What the voice engine needs of a trunk, as plain data."""
    return TrunkRoute(
        name=trunk.name, host=trunk.host, port=trunk.port, transport=trunk.transport,
        username=trunk.username, password=trunk.password,
        inbound_username=trunk.inbound_username, inbound_password=trunk.inbound_password,
        allowed_ips=tuple(trunk.allowed_ips or ()),
        number_prefixes=tuple(trunk.number_prefixes or ()),
        max_concurrent_calls=trunk.max_concurrent_calls,
        calls_per_second=trunk.calls_per_second)


def trunks_active() -> list[TrunkRoute]:
    """Every active trunk (operator data), by name: the engine's outbound routes."""
    return [trunk_route(t) for t in Trunk.objects.filter(is_active=True).order_by("name")]
