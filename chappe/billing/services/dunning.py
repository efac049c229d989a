"""Due dates, penalties, contests and suspension for non-payment (P-7, P-8).

* Penalties are charged on a separate "penalty" invoice (no VAT), when a late invoice is
  finally paid (interest up to the payment) or when the operator charges them (interest
  up to now; later interest continues from there). Interest runs on what remained unpaid
  over each stretch between the due date, each payment received after it and the
  settlement (penalties.late_interest): one line per stretch when partial payments cut
  the lateness. The 40 € recovery fee is charged once
  per late invoice. Credit-purchase invoices bear no penalty (unpaid credits are simply
  never granted), and penalty invoices bear none either.
* A contest (15 days from issue for messaging, 30 for the contact center) freezes
  penalties while open; rejected, they resume (frozen time excluded); accepted, the
  invoice's penalties are waived.
* Suspension: with `BillingSettings.auto_suspend_after_days` set, the daily dunning run
  suspends the invoice's service (reason non_payment) once it is that many days past due,
  unless a contest is open; the operator may also suspend by hand. Paying the last overdue
  monthly invoice of a service lifts a non-payment suspension (an unpaid penalty invoice
  does not hold it: that is the operator's call). Everything is audited.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import ServiceKind, ServiceStatus, SuspensionReason
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_reactivate, service_suspend
from chappe.audit.services import audit_record
from chappe.billing.models import (
    BillingSettings,
    ContestStatus,
    Invoice,
    InvoiceContest,
    InvoiceKind,
    InvoiceStatus,
)
from chappe.billing.money import format_amount, from_micros
from chappe.billing.penalties import InterestStretch, days_late, late_interest
from chappe.billing.services.invoices import LineDraft, invoice_issue
from chappe.common.errors import Conflict, ValidationFailed

PENALISED_KINDS = (InvoiceKind.MONTHLY,)
# Invoices whose non-payment suspends (and whose payment lifts) a service automatically;
# unpaid penalty invoices are left to the operator's judgement (manual suspension).
DUNNED_KINDS = (InvoiceKind.MONTHLY,)


def contest_window_days(*, service_kind: str, billing: BillingSettings) -> int:
    return (billing.contact_center_contest_days if service_kind == ServiceKind.CONTACT_CENTER
            else billing.messaging_contest_days)


def payment_days_default(*, service_kind: str, billing: BillingSettings) -> int:
    return (billing.contact_center_payment_days if service_kind == ServiceKind.CONTACT_CENTER
            else billing.messaging_payment_days)


def _frozen(invoice: Invoice, until: datetime) -> list[tuple[datetime, datetime]]:
    return [(c.opened_at, c.resolved_at or until) for c in invoice.contests.all()]


@dataclass(frozen=True)
class PenaltyPreview:
    days: int
    interest_micros: int
    recovery_fee_micros: int
    # The stretches of lateness that bear interest (unpaid amount, days, interest).
    stretches: tuple[InterestStretch, ...] = ()

    @property
    def total_micros(self) -> int:
        return self.interest_micros + self.recovery_fee_micros


def penalty_rate(*, service_kind: str, billing: BillingSettings) -> Decimal:
    """The yearly late-payment rate of a service (P-7)."""
    if service_kind == ServiceKind.CONTACT_CENTER:
        return billing.contact_center_penalty_multiplier * billing.legal_interest_rate
    return billing.messaging_penalty_rate


def invoice_penalty_preview(*, invoice: Invoice, until: datetime | None = None) -> PenaltyPreview:
    """Penalties not yet charged on `invoice`, as of `until` (its payment, or now)."""
    until = until or invoice.paid_at or timezone.now()
    none = PenaltyPreview(0, 0, 0)
    if invoice.kind not in PENALISED_KINDS or invoice.status == InvoiceStatus.CANCELLED:
        return none
    if invoice.contests.filter(status=ContestStatus.ACCEPTED).exists():
        return none
    frozen = _frozen(invoice, until)
    if days_late(invoice.due_at, until, frozen) <= 0:
        return none
    billing = BillingSettings.load()
    # Interest runs on what was still unpaid over each stretch, cut at every payment.
    result = late_interest(
        amount_micros=invoice.total_micros, due_at=invoice.due_at, until=until,
        annual_rate=penalty_rate(service_kind=invoice.service_kind, billing=billing),
        payments=list(invoice.payments.values_list("received_at", "amount_micros")),
        frozen=frozen, since=invoice.penalties_charged_until)
    fee = 0 if invoice.recovery_fee_charged else billing.recovery_fee_micros
    return PenaltyPreview(result.days, result.interest_micros, fee, result.charged_stretches)


def _interest_lines(invoice: Invoice, preview: PenaltyPreview) -> list[LineDraft]:
    stretches = preview.stretches
    if len(stretches) == 1 and stretches[0].unpaid_micros == invoice.total_micros:
        # Nothing was paid during the lateness: the one-line form.
        return [LineDraft(
            _("Late-payment interest on %(number)s (%(days)s days)")
            % {"number": invoice.number, "days": stretches[0].days},
            str(stretches[0].days), preview.interest_micros, preview.interest_micros,
            "penalty")]
    return [LineDraft(
        _("Late-payment interest on %(number)s: %(days)s days on %(unpaid)s unpaid")
        % {"number": invoice.number, "days": s.days,
           "unpaid": format_amount(s.unpaid_micros, invoice.currency)},
        str(s.days), s.interest_micros, s.interest_micros, "penalty") for s in stretches]


def _penalties_charge(*, actor: Actor, invoice: Invoice, until: datetime) -> Invoice | None:
    preview = invoice_penalty_preview(invoice=invoice, until=until)
    if preview.total_micros == 0:
        return None
    lines = _interest_lines(invoice, preview) if preview.interest_micros else []
    if preview.recovery_fee_micros:
        lines.append(LineDraft(_("Flat recovery fee (%(number)s)") % {"number": invoice.number},
                               "1", preview.recovery_fee_micros, preview.recovery_fee_micros,
                               "recovery_fee"))
    penalty = invoice_issue(account=invoice.account, kind=InvoiceKind.PENALTY,
                            service_kind=invoice.service_kind, currency=invoice.currency,
                            lines=lines, due_at=until, issued_at=until, vat_rate=0,
                            penalised_invoice=invoice)
    invoice.penalties_charged_until = until
    invoice.recovery_fee_charged = True
    invoice.save(update_fields=["penalties_charged_until", "recovery_fee_charged"])
    audit_record(actor=actor, account=invoice.account, action="billing.penalty.charge",
                 target=penalty, details={"invoice": invoice.number, "days": preview.days,
                                          "amount": str(from_micros(penalty.total_micros))})
    return penalty


@transaction.atomic
def invoice_penalties_charge(*, actor: Actor, invoice: Invoice,
                             now: datetime | None = None) -> Invoice | None:
    """The operator charges the penalties accrued so far on a late invoice."""
    actor.require_operator()
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.contests.filter(status=ContestStatus.OPEN).exists():
        raise Conflict(_("Penalties are frozen while a contest is open."), code="contested")
    return _penalties_charge(actor=actor, invoice=invoice, until=now or timezone.now())


def _overdue(service_kind: str, account_id, now: datetime):
    return (Invoice.objects.filter(account_id=account_id, service_kind=service_kind,
                                   status=InvoiceStatus.ISSUED, kind__in=DUNNED_KINDS,
                                   due_at__lt=now)
            .exclude(contests__status=ContestStatus.OPEN))


def invoice_settled(*, invoice: Invoice, actor: Actor) -> None:
    """Called in the payment's transaction when an invoice becomes fully paid."""
    if invoice.kind in PENALISED_KINDS and invoice.paid_at and invoice.paid_at > invoice.due_at:
        _penalties_charge(actor=actor, invoice=invoice, until=invoice.paid_at)
    _lift_if_clear(account=invoice.account, service_kind=invoice.service_kind,
                   now=timezone.now())


def _lift_if_clear(*, account, service_kind: str, now: datetime) -> None:
    service = account.services.filter(kind=service_kind).first()
    if (service is None or service.status != ServiceStatus.SUSPENDED
            or service.suspension_reason != SuspensionReason.NON_PAYMENT):
        return
    if _overdue(service_kind, account.pk, now).exists():
        return
    service_reactivate(actor=SYSTEM, service=service, note=_("Overdue invoices paid."))


# --- contests ---------------------------------------------------------------------------


@transaction.atomic
def invoice_contest_open(*, actor: Actor, invoice: Invoice, reason: str,
                         now: datetime | None = None) -> InvoiceContest:
    """The client disputes an invoice within the contest window (P-7)."""
    actor.require(Perm.BILLING_MANAGE)
    now = now or timezone.now()
    if not reason.strip():
        raise ValidationFailed(details={"reason": [_("Say what is wrong.")]})
    if invoice.status == InvoiceStatus.CANCELLED:
        raise Conflict(_("This invoice is cancelled."))
    days = contest_window_days(service_kind=invoice.service_kind, billing=BillingSettings.load())
    if now > invoice.issued_at + timedelta(days=days):
        raise Conflict(_("The %(days)s-day contest window of this invoice is over.")
                       % {"days": days}, code="contest_window_closed")
    if invoice.contests.filter(status=ContestStatus.OPEN).exists():
        raise Conflict(_("This invoice is already contested."), code="already_contested")
    contest = InvoiceContest.objects.create(account=invoice.account, invoice=invoice,
                                            reason=reason.strip(), opened_at=now,
                                            opened_by=actor.label)
    audit_record(actor=actor, account=invoice.account, action="billing.contest.open",
                 target=contest, details={"invoice": invoice.number})
    return contest


@transaction.atomic
def invoice_contest_resolve(*, actor: Actor, contest: InvoiceContest, accepted: bool,
                            note: str = "", now: datetime | None = None) -> InvoiceContest:
    """The operator closes a contest: accepted waives the invoice's penalties (correct the
    amount with a credit note), rejected lets penalties resume."""
    actor.require_operator()
    if contest.status != ContestStatus.OPEN:
        raise Conflict(_("This contest is already resolved."))
    contest.status = ContestStatus.ACCEPTED if accepted else ContestStatus.REJECTED
    contest.resolved_at = now or timezone.now()
    contest.resolution_note = note
    contest.resolved_by = actor.label
    contest.save(update_fields=["status", "resolved_at", "resolution_note", "resolved_by"])
    audit_record(actor=actor, account=contest.account, action="billing.contest.resolve",
                 target=contest, details={"invoice": contest.invoice.number,
                                          "status": contest.status})
    return contest


# --- suspension ------------------------------------------------------------------------


@transaction.atomic
def service_suspend_for_non_payment(*, actor: Actor, account, service_kind: str,
                                    note: str = "") -> None:
    """Suspend one service of an account for non-payment (the operator's manual choice)."""
    actor.require_operator()
    service = account.services.filter(kind=service_kind).first()
    if service is None or service.status != ServiceStatus.ACTIVE:
        raise Conflict(_("This service is not active."))
    service_suspend(actor=actor, service=service, reason=SuspensionReason.NON_PAYMENT,
                    note=note or _("Invoices unpaid past their due date."))


def dunning_run(*, now: datetime | None = None) -> int:
    """Suspend services whose invoices are unpaid `auto_suspend_after_days` past due
    (when the operator enabled it). Returns how many services were suspended."""
    now = now or timezone.now()
    billing = BillingSettings.load()
    if billing.auto_suspend_after_days is None:
        return 0
    limit = now - timedelta(days=billing.auto_suspend_after_days)
    pairs = (Invoice.objects.filter(status=InvoiceStatus.ISSUED, kind__in=DUNNED_KINDS,
                                    due_at__lte=limit)
             .exclude(contests__status=ContestStatus.OPEN)
             .values_list("account_id", "service_kind").distinct())
    suspended = 0
    for account_id, service_kind in list(pairs):
        with transaction.atomic():
            invoice = Invoice.objects.filter(account_id=account_id,
                                             service_kind=service_kind).first()
            service = invoice.account.services.filter(kind=service_kind).first()
            if service is None or service.status != ServiceStatus.ACTIVE:
                continue
            service_suspend(actor=SYSTEM, service=service, reason=SuspensionReason.NON_PAYMENT,
                            note=_("Automatic: invoices unpaid %(days)s days past due.")
                            % {"days": billing.auto_suspend_after_days})
            suspended += 1
    return suspended
