"""Callback requests (C-4): a caller who pressed the queue's callback key left it, and
their request waits in the queue's order for an agent to call them back and mark it done.
(Placing that call from the agent's phone is the dialer's: the request gives the number.)"""

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.agents.models import CallbackRequest
from chappe.agents.selectors import agent_of_user, callback_get
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict


@transaction.atomic
def callback_done(*, actor: Actor, account: Account, callback_id: Any) -> CallbackRequest:
    """The caller was called back: the request leaves the list, naming who did it."""
    actor.require(Perm.CALLS_HANDLE)
    callback = CallbackRequest.objects.select_for_update().get(
        pk=callback_get(account=account, callback_id=callback_id).pk)
    if callback.done_at is not None:
        raise Conflict(_("This callback was already done."), code="already_done")
    callback.done_at = timezone.now()
    callback.done_by = agent_of_user(account=account, user=actor.user) if actor.user else None
    callback.save(update_fields=["done_at", "done_by"])
    audit_record(actor=actor, account=account, action="agents.callback.done", target=callback)
    return callback
