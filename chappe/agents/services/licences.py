"""The number of contact-center licences (C-8): how many agents may be logged in at once.

The client changes it any time (web app, API). With a contact-center subscription the
subscription's `licences` follow in the same transaction, so the next monthly invoice
bills the new count (billing.services.monthly, P-6); without one, the licences added are
paid from prepaid credit at once (licence_fees). Lowering it below the agents logged in
now is refused: they would hold licences the account no longer pays for.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, ServiceKind
from chappe.accounts.roles import Perm
from chappe.agents.models import LicencePool
from chappe.agents.selectors import agents_logged_in
from chappe.agents.services.licence_fees import licences_pay
from chappe.audit.services import audit_record
from chappe.billing.selectors import subscription_live
from chappe.billing.services.pricing import subscription_update
from chappe.common.errors import Conflict, ValidationFailed

MAX_LICENCES = 10_000


def licence_pool_lock(*, account: Account) -> LicencePool:
    """The account's licence row, locked until the transaction ends (every login and
    every change of the count takes it, so they happen one after the other). Created on
    first use with the licences of the account's contact-center subscription, if any."""
    subscription = subscription_live(account=account, service_kind=ServiceKind.CONTACT_CENTER)
    LicencePool.objects.get_or_create(
        account=account, defaults={"licences": subscription.licences if subscription else 0})
    return LicencePool.objects.select_for_update().get(account=account)


@transaction.atomic
def licences_set(*, actor: Actor, account: Account, licences: int) -> LicencePool:
    actor.require(Perm.LICENCES_MANAGE)
    if not 0 <= licences <= MAX_LICENCES:
        raise ValidationFailed(details={"licences": [
            _("Between 0 and %(max)d.") % {"max": MAX_LICENCES}]})
    pool = licence_pool_lock(account=account)
    logged_in = agents_logged_in(account=account)
    if licences < logged_in:
        raise Conflict(_("%(count)d agents are logged in: log some out before going down to "
                         "%(licences)d licences.") % {"count": logged_in, "licences": licences},
                       details={"logged_in": logged_in})
    before = pool.licences
    now = timezone.now()
    subscription = subscription_live(account=account, service_kind=ServiceKind.CONTACT_CENTER)
    if subscription is None and licences > before:
        licences_pay(account=account, ranks=range(before + 1, licences + 1), now=now)
    pool.licences = licences
    pool.save(update_fields=["licences", "updated_at"])
    if subscription is not None:
        # The client's own decision, recorded below; the subscription follows it.
        subscription_update(actor=SYSTEM, subscription=subscription,
                            changes={"licences": licences})
    audit_record(actor=actor, account=account, action="agents.licences.set", target=pool,
                 details={"from": before, "to": licences,
                          "subscription": str(subscription.pk) if subscription else None})
    return pool
