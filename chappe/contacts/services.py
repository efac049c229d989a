from django.db import IntegrityError, transaction

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.contacts.models import OptOut
from chappe.privacy.services import audit_record


def opt_out_add(*, actor: Actor, account: Account, number: str, source: str) -> OptOut:
    """Put a number (E.164) on the red list; adding it again changes nothing."""
    try:
        with transaction.atomic():
            opt_out = OptOut.objects.create(account=account, number=number, source=source)
            audit_record(actor=actor, account=account, action="opt_out.add", target=opt_out,
                         details={"source": source})
    except IntegrityError:
        return OptOut.objects.get(account=account, number=number)
    return opt_out
