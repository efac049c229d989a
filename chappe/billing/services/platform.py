"""The platform-wide billing settings (seller, VAT, penalties, payment and contest days,
credit validity): one row, changed by the operator, audited."""

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from chappe.accounts.actor import Actor
from chappe.audit.services import audit_record
from chappe.billing.models import BillingSettings
from chappe.common.changes import changes_apply

EDITABLE = tuple(field.name for field in BillingSettings._meta.concrete_fields
                 if not field.primary_key)


@transaction.atomic
def billing_settings_update(*, actor: Actor, changes: Mapping[str, Any]) -> BillingSettings:
    """Change some of the settings (created with their defaults the first time)."""
    actor.require_operator()
    BillingSettings.load()
    settings = BillingSettings.objects.select_for_update().get(pk=1)
    changed = changes_apply(settings, changes, editable=EDITABLE)
    if changed:
        audit_record(actor=actor, action="billing.settings.update", target=settings,
                     details={"fields": changed})
    return settings
