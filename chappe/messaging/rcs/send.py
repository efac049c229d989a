"""`rcs_send`: an RCS message to each recipient, accepted by the same core as SMS and TTS
(`accept.sms_send`: red list, one message per number, Idempotency-Key, marketing hours,
credit check and charge — one `rcs_message` unit each, M-8/M-15).

The send keeps the rich content, the agent and the SMS fallback; each message's `text`
is a one-line summary of the content. The RCS dispatcher (`rcs.dispatch`) checks each
recipient's capability and sends the content, or the fallback as an SMS.
"""

from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.billing.rating import Product
from chappe.common.errors import Conflict, ValidationFailed
from chappe.messaging.models import Channel, MessageKind
from chappe.messaging.rcs.agents import rcs_agent_get
from chappe.messaging.rcs.content import CONTENT, content_summary
from chappe.messaging.rcs.models import AgentStatus, RcsAgent
from chappe.messaging.services.accept import SendOutcome, final_text, sms_send

CONTENT_TYPES = frozenset({"text", "media", "card", "carousel"})
# The client's delay before an undelivered RCS message falls back to SMS, in seconds.
MIN_FALLBACK_AFTER, MAX_FALLBACK_AFTER = 60, 86_400


def content_validate(content: Any) -> dict:
    """The content as stored (JSON), or `ValidationFailed` naming each wrong field
    (`content.cards`, `content.card.suggestions`, …)."""
    try:
        parsed = CONTENT.validate_python(content)
    except ValidationError as exc:
        details: dict[str, list[str]] = {}
        for error in exc.errors():
            parts = [str(p) for p in error["loc"]]
            if parts and parts[0] in CONTENT_TYPES:  # the union's tag, not a field
                parts = parts[1:]
            loc = ".".join(["content", *parts])
            details.setdefault(loc, []).append(error["msg"])
        raise ValidationFailed(details=details) from exc
    return parsed.model_dump(mode="json")


def fallback_validate(*, fallback_text: str, fallback_after: int | None) -> None:
    """Refuse a fallback delay out of bounds, or one without a fallback text (an RCS send
    and an RCS campaign alike)."""
    errors: dict[str, list[str]] = {}
    if fallback_after is not None and not (
            MIN_FALLBACK_AFTER <= fallback_after <= MAX_FALLBACK_AFTER):
        errors["fallback_after"] = [_("%(min)d to %(max)d seconds.") % {
            "min": MIN_FALLBACK_AFTER, "max": MAX_FALLBACK_AFTER}]
    if fallback_after is not None and not fallback_text.strip():
        errors["fallback_text"] = [_("Give the SMS text sent after the delay.")]
    if errors:
        raise ValidationFailed(details=errors)


def stored_summary(stored: dict) -> str:
    """The one-line summary of validated, stored content (each message's `text`)."""
    return content_summary(CONTENT.validate_python(stored))


def send_fields(*, stored: dict, agent: RcsAgent, fallback_text: str,
                fallback_after: int | None, kind: str) -> dict[str, Any]:
    """The `Send` fields that make its messages RCS ones for the dispatcher (`rcs.dispatch`):
    the content, the agent and the fallback (with the STOP mention its kind requires)."""
    return {"rcs_content": stored, "rcs_agent_id": agent.pk,
            "fallback_text": final_text(fallback_text, kind) if fallback_text else "",
            "fallback_after": fallback_after}


def agent_used(agent: RcsAgent) -> None:
    """Note that the agent sent (a send or a campaign): its 6-month inactivity restarts."""
    RcsAgent.objects.filter(pk=agent.pk).update(last_used_at=timezone.now())


def agent_usable(agent: RcsAgent) -> None:
    """Refuse a send through an agent the carriers have not validated (M-15)."""
    if agent.status != AgentStatus.LAUNCHED:
        raise Conflict(_("RCS agent “%(name)s” is %(status)s: only an agent validated by the "
                         "carriers can send.") % {"name": agent.brand_name,
                                                  "status": agent.get_status_display()},
                       code="rcs_agent_not_approved", details={"status": agent.status})


def rcs_send(*, actor: Actor, account: Account, recipients: list[str], agent_id: Any,
             content: Any, fallback_text: str = "", fallback_after: int | None = None,
             kind: str = MessageKind.TRANSACTIONAL, send_at: datetime | None = None,
             callback_url: str = "", reference: str = "",
             idempotency_key: str | None = None) -> SendOutcome:
    """Accept an RCS message to each recipient (see the module doc). `fallback_text` is
    sent as an SMS (billed as SMS) to a phone that is not RCS-capable, or when the message
    is not delivered within `fallback_after` seconds; without it, such a message fails."""
    actor.require(Perm.MESSAGING_SEND)
    stored = content_validate(content)
    fallback_validate(fallback_text=fallback_text, fallback_after=fallback_after)
    agent = rcs_agent_get(account=account, id=agent_id)
    agent_usable(agent)
    outcome = sms_send(
        actor=actor, account=account, recipients=recipients, text=stored_summary(stored),
        sender=agent.sender, kind=kind, send_at=send_at,
        callback_url=callback_url, reference=reference, allow_reply=True,
        idempotency_key=idempotency_key, product=Product.RCS_MESSAGE, channel=Channel.RCS,
        channel_fields=send_fields(stored=stored, agent=agent, fallback_text=fallback_text,
                                   fallback_after=fallback_after, kind=kind))
    if not outcome.replayed:
        agent_used(agent)
    return outcome
