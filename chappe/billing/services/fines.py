"""Fines passed on (P-18): recorded by the operator, re-billed in full on the client's
next monthly invoice (`monthly.invoice_monthly_issue` adds a line per pending fine)."""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.audit.services import audit_record
from chappe.billing.models import Fine
from chappe.billing.money import to_micros
from chappe.billing.services.invoices import LineDraft
from chappe.common.errors import ValidationFailed


@transaction.atomic
def fine_record(*, actor: Actor, account: Account, imposed_by: str, reason: str,
                amount: Decimal | str, imposed_on: date, reference: str = "",
                currency: str = "EUR", service_kind: str = ServiceKind.MESSAGING,
                now: datetime | None = None) -> Fine:
    """The operator records a fine a carrier or an authority imposed for this client."""
    actor.require_operator()
    errors = {}
    try:
        micros = to_micros(Decimal(str(amount)))
    except (InvalidOperation, ValueError):
        micros = 0
    if micros <= 0:
        errors["amount"] = [_("A positive amount.")]
    if not imposed_by.strip():
        errors["imposed_by"] = [_("Name the carrier or authority.")]
    if not reason.strip():
        errors["reason"] = [_("Give the reason.")]
    if service_kind not in ServiceKind.values:
        errors["service_kind"] = [_("Unknown service.")]
    if errors:
        raise ValidationFailed(details=errors)
    fine = Fine.objects.create(
        account=account, service_kind=service_kind, imposed_by=imposed_by.strip()[:200],
        reason=reason.strip()[:300], reference=reference.strip()[:100], amount_micros=micros,
        currency=currency, imposed_on=imposed_on, recorded_at=now or timezone.now(),
        recorded_by=actor.user)
    audit_record(actor=actor, account=account, action="billing.fine.record", target=fine,
                 details={"amount_micros": micros, "imposed_by": fine.imposed_by})
    return fine


def fines_pending(*, account: Account, service_kind: str, currency: str,
                  before: datetime) -> list[Fine]:
    return list(Fine.objects.select_for_update().filter(
        account=account, service_kind=service_kind, currency=currency, invoice__isnull=True,
        recorded_at__lt=before).order_by("recorded_at"))


def fine_lines(fines: list[Fine]) -> list[LineDraft]:
    return [LineDraft(
        _("Fine re-billed: %(by)s, %(reason)s (%(date)s)%(ref)s")
        % {"by": fine.imposed_by, "reason": fine.reason, "date": fine.imposed_on.isoformat(),
           "ref": f", ref. {fine.reference}" if fine.reference else ""},
        "1", fine.amount_micros, fine.amount_micros, "fine") for fine in fines]
