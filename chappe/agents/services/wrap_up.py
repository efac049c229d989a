"""The agent's wrap-up of a call (issue 15): a disposition code of the account's list and
a note, written on the call's record by the agent who took it."""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.agents.models import WrapUpCode
from chappe.agents.selectors import agent_of_user
from chappe.callcenter.models import CallRecord
from chappe.common.errors import Conflict, NotFound, ValidationFailed
from chappe.common.lookup import is_uuid

NOTE_MAX = 2000


@transaction.atomic
def call_wrap_up(*, actor: Actor, account: Account, call_ref: str, code_id: Any = None,
                 note: str = "") -> CallRecord:
    """Write the wrap-up on the record of the call `call_ref` names: the Call-ID of the
    actor's agent leg of a queue call (the record of the inbound leg it belongs to, else
    of that leg), or of the trunk leg of an outbound call the agent placed (its record).
    Only the agent who took or placed the call writes it."""
    actor.require(Perm.CALLS_HANDLE)
    agent = agent_of_user(account=account, user=actor.user) if actor.user else None
    if agent is None:
        raise NotFound(_("You are not an agent of this account."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(details={"note": [_("At most %(max)d characters.")
                                                 % {"max": NOTE_MAX}]})
    code = None
    if code_id:
        code = WrapUpCode.objects.filter(account=account, pk=code_id).first() \
            if is_uuid(code_id) else None
        if code is None:
            raise ValidationFailed(details={"code": [_("Choose one of the account's "
                                                       "disposition codes.")]})
    leg = (CallRecord.objects.filter(account=account, sip_call_id=call_ref,
                                     to_number=f"agent:{agent.pk}").first()
           or CallRecord.objects.filter(account=account, sip_call_id=call_ref,
                                        direction="outbound", agent_id=agent.pk).first())
    if leg is None:
        raise Conflict(_("This call is still being recorded: try again in a moment."),
                       code="call_not_recorded")
    record = CallRecord.objects.select_for_update().get(pk=leg.parent_id or leg.pk)
    record.wrap_up_code = code.name if code is not None else ""
    record.wrap_up_note = note
    record.save(update_fields=["wrap_up_code", "wrap_up_note"])
    return record

