"""Support access (P-19): the operator sees a client's data only under a time-limited
grant the client gave, and every access is audited.

The back-office (Django's admin) is where operator staff read tenant data. The models
listed in `settings.CHAPPE_SUPPORT["access_models"]` — what a client's own content is:
messages, replies, call records, voicemails, contact imports by default — get their
admin wrapped at start (`gate_admin_site`, called from the app's `ready()`, after the
admin's autodiscovery) in `SupportAccessGate`:

* lists and pages show only the rows of accounts with a running grant;
* each list audits, on each account it showed, `support_access.list` (model, count);
  each opened row audits `support_access.read` on its account — so the client sees in
  its own audit log what the operator looked at.

The operator's own records (billing, the red list it manages, held campaigns it must
review, tickets) are not gated: they are how the platform operates, not a look into the
client's content.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.admin_actions import operator_actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.support.models import SupportAccessGrant


def grants_running(*, now: datetime | None = None):
    now = now or timezone.now()
    return SupportAccessGrant.objects.filter(revoked_at__isnull=True, expires_at__gt=now,
                                             granted_at__lte=now)


@transaction.atomic
def support_access_grant(*, actor: Actor, account: Account, hours: int, reason: str = "",
                         now: datetime | None = None) -> SupportAccessGrant:
    """The client's administrator lets the operator in for `hours` (at most
    `access_max_hours`)."""
    actor.require(Perm.ACCOUNT_MANAGE)
    now = now or timezone.now()
    most = int(settings.CHAPPE_SUPPORT["access_max_hours"])
    if not 1 <= hours <= most:
        raise ValidationFailed(details={"hours": [
            _("Between 1 and %(most)d hours.") % {"most": most}]})
    grant = SupportAccessGrant.objects.create(
        account=account, granted_by=actor.user, granted_at=now,
        expires_at=now + timedelta(hours=hours), reason=reason.strip()[:300])
    audit_record(actor=actor, account=account, action="support_access.grant", target=grant,
                 details={"hours": hours, "expires_at": grant.expires_at.isoformat()})
    return grant


@transaction.atomic
def support_access_revoke(*, actor: Actor, grant: SupportAccessGrant,
                          now: datetime | None = None) -> SupportAccessGrant:
    actor.require(Perm.ACCOUNT_MANAGE)
    if grant.revoked_at is not None:
        raise Conflict(_("This access was already revoked."))
    grant.revoked_at = now or timezone.now()
    grant.save(update_fields=["revoked_at"])
    audit_record(actor=actor, account=grant.account, action="support_access.revoke",
                 target=grant)
    return grant


class SupportAccessGate:
    """Mixed in front of a tenant model's ModelAdmin (see the module doc)."""

    def get_queryset(self, request):
        granted = grants_running().values("account_id")
        return super().get_queryset(request).filter(Q(account_id__in=granted))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            shown = Counter(row.account_id for row in changelist.result_list)
            for account_id, count in shown.items():
                audit_record(actor=operator_actor(request), account=Account(pk=account_id),
                             action="support_access.list",
                             details={"model": self.model._meta.label_lower, "rows": count})
        return response

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        response = super().changeform_view(request, object_id, form_url, extra_context)
        obj = getattr(response, "context_data", {}).get("original")
        if obj is not None:
            audit_record(actor=operator_actor(request), account=Account(pk=obj.account_id),
                         action="support_access.read", target=obj,
                         details={"model": self.model._meta.label_lower})
        return response


def gate_admin_site(site: admin.AdminSite = admin.site) -> list[str]:
    """Wrap the registered admins of the gated models (idempotent)."""
    gated = []
    for label in settings.CHAPPE_SUPPORT["access_models"]:
        model = apps.get_model(label)
        current = site._registry.get(model)
        if current is None or isinstance(current, SupportAccessGate):
            continue
        site.unregister(model)
        site.register(model, type(f"Gated{type(current).__name__}",
                                  (SupportAccessGate, type(current)), {}))
        gated.append(label)
    return gated
