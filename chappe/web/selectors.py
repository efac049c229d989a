"""Reads the web pages need that the apps' selectors do not offer (yet). Tenant-scoped
like every selector: they take the account, or an object already fetched through one."""

from chappe.accounts.models import Account
from chappe.messaging.models import Send
from chappe.messaging.services.accept import RecipientOutcome, send_report


def recent_senders(*, account: Account, limit: int = 10) -> list[str]:
    """The senders the account used last, most recent first, without repeats (the send
    form suggests them)."""
    senders: list[str] = []
    rows = (Send.objects.filter(account=account, channel="sms").order_by("-created_at")
            .values_list("sender", flat=True)[:200])
    for sender in rows:
        if sender and sender not in senders:
            senders.append(sender)
            if len(senders) == limit:
                break
    return senders


def send_outcome_rows(*, send: Send) -> list[RecipientOutcome]:
    """The per-recipient outcome of a send as it was answered (its stored report, in the
    order given), each with its message's *current* state; a send without a report (made
    before reports existed) lists its messages."""
    messages = {str(m.id): m for m in send.messages.all()}
    report = send_report(send)
    if not report:
        return [RecipientOutcome(input=m.recipient, status=m.status, message=m, e164=m.recipient,
                                 country=m.country)
                for m in sorted(messages.values(), key=lambda m: m.created_at)]
    rows = []
    for row in report:
        message = messages.get(row.get("message_id", ""))
        rows.append(RecipientOutcome(
            input=row.get("input", ""), status=message.status if message else row["status"],
            message=message, e164=row.get("e164", ""), country=row.get("country", ""),
            error_code=row.get("error_code", ""), error_message=row.get("error_message", "")))
    return rows
