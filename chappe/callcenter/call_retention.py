"""Call records past their 10 years (C-10, P-13): a call record is the proof of the usage
an invoice billed, kept `CHAPPE_CALLS_KEEP_YEARS` (10) from the issue date of the
invoice that references it — then deleted, with its voicemail and recording if any are
left (their own, shorter retention usually took them already: `recordings.py`).

Never deleted: a record that no invoice references (a call billed from prepaid credit, an
unbilled inbound leg: nothing dates its proof, so it is kept), one that an invoice less
than 10 years old also references, and the inbound leg of a transfer whose outbound leg
is still kept (the legs' link is PROTECT)."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.audit.services import audit_record
from chappe.billing.models import InvoicedUsage
from chappe.callcenter.models import CallRecord, CallRecording, Voicemail
from chappe.callcenter.voicemails import recorded_forget

CAUSE = "callcenter.callrecord"


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def call_records_expired(*, now: datetime) -> list[Any]:
    """The ids of the call records past their retention (module doc), children first."""
    cutoff = years_before(now, settings.CHAPPE_CALLS_KEEP_YEARS)
    latest = (InvoicedUsage.objects.filter(usage__cause_type=CAUSE)
              .values("usage__cause_id").annotate(last=Max("invoice__issued_at"))
              .filter(last__lte=cutoff).values_list("usage__cause_id", flat=True))
    expired = {str(pk) for pk in CallRecord.objects.filter(
        pk__in=[str(i) for i in latest]).values_list("pk", flat=True)}
    # A parent stays while one of its legs stays; a leg with an expired parent is only
    # deleted when it expired itself.
    while True:
        kept_parents = {str(p) for p in CallRecord.objects.filter(parent_id__in=expired)
                        .exclude(pk__in=expired).values_list("parent_id", flat=True)}
        if not kept_parents:
            break
        expired -= kept_parents
    legs = [str(pk) for pk in CallRecord.objects.filter(
        pk__in=expired, parent__isnull=False).values_list("pk", flat=True)]
    return legs + sorted(expired - set(legs))


def call_records_expire(*, now: datetime | None = None, dry_run: bool = False,
                        ) -> dict[str, Any]:
    """Delete the call records past their retention; `dry_run` only counts them."""
    now = now or timezone.now()
    ids = call_records_expired(now=now)
    report = {"dry_run": dry_run, "call_records": len(ids)}
    if dry_run or not ids:
        return report
    with transaction.atomic():
        report["voicemails"] = recorded_forget(rows=Voicemail.objects.filter(call_id__in=ids))
        report["call_recordings"] = recorded_forget(
            rows=CallRecording.objects.filter(call_id__in=ids))
        legs = CallRecord.objects.filter(pk__in=ids, parent__isnull=False)
        legs.delete()
        CallRecord.objects.filter(pk__in=ids).delete()
        audit_record(actor=SYSTEM, action="callcenter.call_records_expire", details=report)
    return report
