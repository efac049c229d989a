"""Ordered services (P-4, P-8, P-9): the gate every product passes, ordering,
suspension, notice and termination."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import (
    Account,
    AccountStatus,
    Service,
    ServiceKind,
    ServiceStatus,
)
from chappe.accounts.roles import Perm
from chappe.accounts.selectors import account_ancestors
from chappe.accounts.services._common import (
    _require_open,
    _set_status,
)
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ServiceRefused, ValidationFailed
from chappe.common.months import moment_add_months


def service_require(*, account: Account, kind: str) -> Service:
    """The gate every product passes before accepting work (P-4, P-8).

    Raises `ServiceRefused` naming the reason when the account, one of its parents, the
    service itself or the same service of a parent is suspended or terminated, or when
    the service was never ordered. A sub-account works under its parent's contract: the
    parent's suspension for non-payment stops the sub-accounts' sends too."""
    ancestors = account_ancestors(account=account)
    for holder in [account, *ancestors]:
        if holder.status == AccountStatus.SUSPENDED:
            raise ServiceRefused(
                _("The account is suspended: %(reason)s.")
                % {"reason": holder.get_suspension_reason_display() or _("no reason given")},
                code="account_suspended",
                details={"account": str(holder.pk), "reason": holder.suspension_reason},
            )
        if holder.status == AccountStatus.TERMINATED:
            raise ServiceRefused(_("The account is terminated."), code="account_terminated",
                                 details={"account": str(holder.pk)})
    label = ServiceKind(kind).label
    service = account.services.filter(kind=kind).first()
    if service is None:
        raise ServiceRefused(_("The %(service)s service is not ordered on this account.")
                             % {"service": label}, code="service_not_ordered",
                             details={"service": kind})
    if service.status == ServiceStatus.SUSPENDED:
        raise ServiceRefused(
            _("The %(service)s service is suspended: %(reason)s.")
            % {"service": label,
               "reason": service.get_suspension_reason_display() or _("no reason given")},
            code="service_suspended",
            details={"service": kind, "reason": service.suspension_reason},
        )
    if _service_ended(service):
        raise ServiceRefused(_("The %(service)s service is terminated.") % {"service": label},
                             code="service_terminated", details={"service": kind})
    parent_service = Service.objects.filter(
        account__in=ancestors, kind=kind, status=ServiceStatus.SUSPENDED).first()
    if parent_service is not None:
        raise ServiceRefused(
            _("The %(service)s service of the parent account is suspended: %(reason)s.")
            % {"service": label,
               "reason": parent_service.get_suspension_reason_display() or _("no reason given")},
            code="service_suspended",
            details={"service": kind, "reason": parent_service.suspension_reason,
                     "account": str(parent_service.account_id)},
        )
    return service


def services_close_due(*, now: datetime | None = None) -> int:
    """Mark as terminated the services whose notice period is over (P-9); returns how
    many. `service_require` already refuses them; this makes their status say so."""
    now = now or timezone.now()
    closed = 0
    for service in Service.objects.select_related("account").filter(
            termination_effective_at__lte=now).exclude(status=ServiceStatus.TERMINATED):
        with transaction.atomic():
            service.status, service.status_changed_at = ServiceStatus.TERMINATED, now
            service.save(update_fields=["status", "status_changed_at"])
            audit_record(actor=SYSTEM, account=service.account, action="service.close",
                         target=service, details={"reason": "notice period over"})
        closed += 1
    return closed


def _service_ended(service: Service) -> bool:
    """Terminated, or its notice period is over (nothing flips the status at that date)."""
    return service.status == ServiceStatus.TERMINATED or (
        service.termination_effective_at is not None
        and service.termination_effective_at <= timezone.now()
    )


@transaction.atomic
def service_order(*, actor: Actor, account: Account, kind: str) -> Service:
    actor.require(Perm.SERVICES_MANAGE)
    if kind not in ServiceKind.values:
        raise ValidationFailed(details={"kind": [_("Unknown service.")]})
    _require_open(account)
    service, created = Service.objects.get_or_create(account=account, kind=kind)
    if not created:
        if not _service_ended(service):
            raise Conflict(_("This service is already ordered."))
        service.status = ServiceStatus.ACTIVE
        service.suspension_reason = ""
        service.termination_effective_at = None
        service.ordered_at = service.status_changed_at = timezone.now()
        service.save()
    audit_record(actor=actor, account=account, action="service.order", target=service,
                 details={"kind": kind})
    return service


@transaction.atomic
def service_suspend(*, actor: Actor, service: Service, reason: str, note: str = "") -> Service:
    actor.require_operator()
    if service.status == ServiceStatus.TERMINATED:
        raise Conflict(_("A terminated service cannot be suspended."))
    _set_status(actor=actor, obj=service, status=ServiceStatus.SUSPENDED, reason=reason,
                note=note, action="service.suspend", account=service.account)
    return service


@transaction.atomic
def service_reactivate(*, actor: Actor, service: Service, note: str = "") -> Service:
    actor.require_operator()
    if service.status != ServiceStatus.SUSPENDED:
        raise Conflict(_("Only a suspended service can be reactivated."))
    _set_status(actor=actor, obj=service, status=ServiceStatus.ACTIVE, note=note,
                action="service.reactivate", account=service.account)
    return service


@transaction.atomic
def service_terminate(*, actor: Actor, service: Service, immediate: bool = False) -> Service:
    """Terminate a service: by the client with one month's notice (P-9), or at once by
    the operator."""
    if immediate:
        actor.require_operator()
    else:
        actor.require(Perm.SERVICES_MANAGE)
    if _service_ended(service):
        raise Conflict(_("This service is already terminated."))
    if not immediate and service.termination_effective_at is not None:
        # A second notice must not push back the end date of the first.
        raise Conflict(_("Notice was already given for this service."), code="notice_given")
    now = timezone.now()
    if immediate:
        service.status = ServiceStatus.TERMINATED
        service.status_changed_at = service.termination_effective_at = now
    else:
        # One calendar month (31 Jan → 28/29 Feb), the account's wall-clock time.
        service.termination_effective_at = moment_add_months(
            now, settings.CHAPPE_LIFECYCLE["notice_months"],
            ZoneInfo(service.account.timezone or "Europe/Paris"))
    service.save(update_fields=["status", "status_changed_at", "termination_effective_at"])
    audit_record(actor=actor, account=service.account, action="service.terminate",
                 target=service,
                 details={"effective_at": service.termination_effective_at.isoformat()})
    return service
