"""Rating and debiting accepted messages through the money engine (M-8)."""

from django.utils import timezone

from chappe.accounts.models import Account
from chappe.billing.services.usage import UsageItem, usage_charge_many
from chappe.common.bulk import bulk_set
from chappe.messaging.models import Message, Send


def messages_charge(*, account: Account, send: Send, product: str,
                    messages: list[Message]) -> None:
    """Charge each message once (idempotency key = message id), in the caller's
    transaction and as one debit for the send: `InsufficientCredit` rolls the whole
    acceptance back."""
    if not messages:
        return
    charges = usage_charge_many(
        account=account, occurred_at=timezone.now(),
        batch_cause_type="messaging.send", batch_cause_id=str(send.pk),
        items=[UsageItem(product=product, quantity=m.segments, destination_country=m.country,
                         cause_type="messaging.message", cause_id=str(m.id),
                         idempotency_key=f"message:{m.id}") for m in messages])
    for message, charge in zip(messages, charges, strict=True):
        message.price_micros = charge.amount_micros
        message.currency = charge.record.currency
    bulk_set(Message, "price_micros", {m.id: m.price_micros for m in messages})
    bulk_set(Message, "currency", {m.id: m.currency for m in messages})
