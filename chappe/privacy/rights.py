"""Recipients' rights (P-12, decision 0018): the client, as controller, rectifies and erases
what it holds about one phone number (access and export are `selectors.recipient_data`
and `export.recipient_document`).

Erasure runs in one transaction, app by app, each erasing its own copies — called here
explicitly, in this order, so a reader sees every place a number lives:

1. the address book and the red list (`contacts_erase_number`): waits (409) while an
   import runs; the red-list entry keeps only a keyed hash, unless `keep_opt_out=False`;
2. messages, replies and send reports (`messages_erase_number`): waits (409) while a
   message is handed to a carrier; what has not left is canceled and credited back;
3. webhook events about those messages or mentioning the number (after 2: a cancel
   announces itself by webhook);
4. the audit trail, redacted (after 2: a cancel may be audited);
5. call records, voicemails and recorded conversations (`calls_erase_number`), and the
   queues' caller-priority rules and callback requests naming it (`agents_erase_number`);
6. campaign audiences and launch snapshots (`campaigns_erase_number`, after 2: it checks
   that no launch committed a message to the number meanwhile);
7. the inbox's threads with the number (`conversations_erase_number`) and its Time2Chat
   sessions (`t2c_erase_number`; RCS sessions go with 2), kept without the number as
   the proof of what they cost.

Call campaigns' consents, attempts and refusals are not erased here yet: a refusal must
keep blocking calls to the number for 60 days, and keeping it by a keyed hash (as the red
list does) is still to build.

Then one audit entry records the erasure, with the number's hash and the counts.
"""

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.agents.services.setup import agents_erase_number
from chappe.audit.services import audit_entries_redact, audit_record
from chappe.callcenter.retention import calls_erase_number
from chappe.campaigns.services import campaigns_erase_number
from chappe.common.errors import NotFound
from chappe.contacts.models import Contact
from chappe.contacts.pseudonym import number_hash
from chappe.contacts.services import contact_update, contacts_erase_number, recipient_number
from chappe.inbox.services import conversations_erase_number
from chappe.messaging.services.erasure import WEBHOOK_PERSONAL_KEYS, messages_erase_number
from chappe.time2chat.services import t2c_erase_number
from chappe.webhooks.services import webhook_events_erase_number


@dataclass
class ErasureReport:
    number_hash: str = ""
    contacts: int = 0
    phones_cleared: int = 0
    messages: int = 0
    canceled: int = 0
    replies: int = 0
    sends: int = 0
    webhook_events: int = 0
    audit_entries: int = 0
    import_rows: int = 0
    imports_dropped: int = 0
    opt_outs_kept: int = 0
    opt_outs_deleted: int = 0


@transaction.atomic
def recipient_rectify(*, actor: Actor, account: Account, number: str,
                      values: Mapping[str, Any] | None = None,
                      custom: Mapping[str, Any] | None = None) -> Contact:
    """Correct the contact of a number (P-12 rectification)."""
    e164 = recipient_number(account=account, number=number)
    contact = Contact.objects.filter(account=account, mobile=e164).first()
    if contact is None:
        raise NotFound(_("No contact has this number."))
    return contact_update(actor=actor, contact=contact, values=values, custom=custom)


@transaction.atomic
def recipient_erase(*, actor: Actor, account: Account, number: str,
                    keep_opt_out: bool = True) -> ErasureReport:
    """Erase what the account holds about a number (P-12); see the module docstring."""
    actor.require(Perm.ACCOUNT_MANAGE)
    e164 = recipient_number(account=account, number=number)
    report = ErasureReport(number_hash=number_hash(account_id=account.pk, number=e164),
                           **contacts_erase_number(account=account, number=e164,
                                                   keep_opt_out=keep_opt_out))
    messages = messages_erase_number(actor=actor, account=account, number=e164)
    report.messages, report.canceled = messages.messages, messages.canceled
    report.replies, report.sends = messages.replies, messages.sends
    report.webhook_events = webhook_events_erase_number(
        account=account, number=e164, subject_ids=messages.message_ids,
        personal_keys=WEBHOOK_PERSONAL_KEYS)
    report.audit_entries = audit_entries_redact(account=account, number=e164)
    calls_erase_number(account=account, number=e164)
    agents_erase_number(account=account, number=e164)
    campaigns_erase_number(account=account, number=e164)
    conversations_erase_number(account=account, number=e164)
    t2c_erase_number(account=account, number=e164)
    audit_record(actor=actor, account=account, action="recipient.erase",
                 details={**asdict(report), "keep_opt_out": keep_opt_out})
    return report
