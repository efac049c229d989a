"""Signals of the address book.

`recipient_erased(account, number, number_hash)` is sent inside the transaction of an
erasure (P-12), after the contacts app erased its own data and the messages: an app that
keeps recipients' numbers elsewhere (SMPP submission logs, call records…) connects a
receiver that erases or anonymises its copies in that same transaction.
"""

from django.dispatch import Signal

recipient_erased = Signal()
