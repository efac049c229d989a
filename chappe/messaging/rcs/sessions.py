"""RCS sessions and interactions (M-15, decision 0049).

A recipient's interaction with an agent — a text reply or a tap on a suggestion —
arrives as an MO: stored as a reply like any other (`replies.inbound_receive`: the
inbox, the webhook), then recorded here. Billing:

* an interaction with no session open opens a **24-hour session**, billed once at the
  session price (`rcs_session`);
* a **tap** on a suggestion is billed at the session price, always (M-15: "an
  interaction (click) is billed at the session price"); a tap that opens the session
  is that session's charge, not a second one;
* a text reply inside an open session is free;
* every MT is billed at acceptance (`rcs_message`), in a session or not, delivered or not.

The MO is never lost for want of credit: the interaction is recorded, unbilled, and
logged.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from chappe.billing.rating import Product
from chappe.billing.services.usage import usage_charge
from chappe.carriers.base import Inbound
from chappe.common.errors import ChappeError
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.models import Channel, Reply
from chappe.messaging.rcs.models import InteractionKind, RcsInteraction, RcsSession

log = logging.getLogger("chappe.messaging.rcs")
SESSION = timedelta(hours=24)


def _charge(reply: Reply, *, key: str, cause_id: str, at: datetime) -> int:
    try:
        country = normalize(reply.from_number, default_country="FR").country
    except InvalidNumber:
        country = ""
    try:
        with transaction.atomic():
            return usage_charge(account=reply.account, product=Product.RCS_SESSION, quantity=1,
                                destination_country=country, cause_type="messaging.rcs_session",
                                cause_id=cause_id, idempotency_key=key,
                                occurred_at=at).amount_micros
    except ChappeError as exc:
        log.warning("RCS interaction %s not billed: %s", reply.pk, exc.code)
        return 0


def rcs_interaction_record(*, reply: Reply, postback_data: str = "") -> RcsInteraction:
    """Record an RCS MO already stored as `reply` (module doc), in the caller's
    transaction; the same reply is recorded once."""
    if existing := RcsInteraction.objects.filter(reply=reply).first():
        return existing
    at = reply.received_at
    session = (RcsSession.objects.select_for_update()
               .filter(account_id=reply.account_id, agent_sender=reply.to,
                       recipient=reply.from_number, opened_at__lte=at, ends_at__gt=at)
               .order_by("-ends_at").first())
    tap = bool(postback_data)
    opened = session is None
    if opened:
        session = RcsSession.objects.create(account_id=reply.account_id, agent_sender=reply.to,
                                            recipient=reply.from_number, opened_at=at,
                                            ends_at=at + SESSION)
    price = 0
    if tap:
        price = _charge(reply, key=f"rcs-tap:{reply.pk}", cause_id=str(reply.pk), at=at)
    elif opened:
        price = _charge(reply, key=f"rcs-session:{session.pk}", cause_id=str(session.pk), at=at)
    if opened:
        RcsSession.objects.filter(pk=session.pk).update(price_micros=price)
    return RcsInteraction.objects.create(
        reply=reply, session=session, postback_data=postback_data, price_micros=price,
        kind=InteractionKind.SUGGESTION if tap else InteractionKind.TEXT)


def rcs_interactions_record(*, inbound: list[Inbound], replies: list[Reply]) -> int:
    """`rcs_interaction_record` for the replies just stored that answer an RCS message
    (the gateway's poll, after `inbound_receive`)."""
    postbacks = {mo.carrier_id: getattr(mo, "postback_data", "") for mo in inbound}
    count = 0
    for reply in replies:
        if reply.message is not None and reply.message.channel == Channel.RCS:
            rcs_interaction_record(reply=reply, postback_data=postbacks.get(reply.carrier_id, ""))
            count += 1
    return count


def rcs_session_open(*, account_id, agent_sender: str, recipient: str,
                     at: datetime) -> RcsSession | None:
    """The session open with a recipient at `at`, or None."""
    return (RcsSession.objects.filter(account_id=account_id, agent_sender=agent_sender,
                                      recipient=recipient, opened_at__lte=at, ends_at__gt=at)
            .order_by("-ends_at").first())
