"""Reads of recipients' rights (P-12): everything an account holds about one number, put
together from the address book's and messaging's own selectors."""

from dataclasses import dataclass

from django.db.models import QuerySet

from chappe.accounts.models import Account
from chappe.contacts.models import Contact, ContactImportError, OptOut
from chappe.contacts.selectors import number_in_address_book
from chappe.messaging.models import Message, Reply
from chappe.messaging.selectors import messages_to_number, replies_from_number


@dataclass
class RecipientData:
    """Everything an account holds about one phone number."""

    number: str
    contacts: list[Contact]
    # Contacts that have the number as their other phone.
    phone_of: list[Contact]
    opt_outs: list[OptOut]
    messages: QuerySet[Message]
    replies: QuerySet[Reply]
    import_errors: QuerySet[ContactImportError]

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.phone_of or self.opt_outs or self.messages.exists()
                    or self.replies.exists() or self.import_errors.exists())


def recipient_data(*, account: Account, number: str) -> RecipientData:
    """What the account holds about `number` (E.164): contacts, lists, messages, replies,
    red-list entries (an erased entry is found by its hash) and import error rows."""
    book = number_in_address_book(account=account, number=number)
    return RecipientData(
        number=number, contacts=book.contacts, phone_of=book.phone_of, opt_outs=book.opt_outs,
        messages=messages_to_number(account=account, number=number),
        replies=replies_from_number(account=account, number=number),
        import_errors=book.import_errors,
    )
