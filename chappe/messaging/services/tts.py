"""TTS voice messages (M-1): a text read by text-to-speech in a call to each recipient,
a channel of messaging like SMS (decision 0027).

**Acceptance** is `sms_send`'s, the one way in: red list (M-5), one message per number
(M-6), Idempotency-Key, marketing hours (M-12), validity (M-7), the credit check and the
charge — one unit of product `tts` per message, at acceptance (M-8: billed whatever its
outcome). The send holds what each call plays (its text, `tts_language`, `tts_voice`,
`tts_repeat`) and its `sender` is the number presented.

**Calls.** The voice engine takes due messages like a gateway's connector takes SMS:
leased to it (`tts_calls_claim`, the dispatch claim on the TTS channel), kept leased by
its heartbeats while the call is in flight (`tts_calls_extend`), and its outcome comes
back as moves of the message lifecycle (`tts_call_finish`), each with its history row and
its `message.status` webhook:

| the call                                            | the message                        |
|-----------------------------------------------------|------------------------------------|
| answered: listened to the end, or hung up before it | sent, then delivered               |
| busy, no answer, refused (a final SIP status)       | sent, then undelivered `sip_<code>` |
| no trunk routes the number                          | rejected `no_route`                |
| every trunk routing it is at one of its caps        | queued again a few seconds later   |
| the engine could not place it                       | rejected `call_failed`             |
| its account or messaging service is suspended       | waits, uncalled, like an SMS (P-8)  |
| past its validity (M-7)                             | expired                            |

The history's detail of the final move names the call's outcome (`listened`,
`answered`, `busy`, `no_answer`, `failed`); a sent message's `carrier_message_id` names
the call record the contact center keeps of the call.
"""

import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.billing.rating import Product
from chappe.common.errors import ValidationFailed
from chappe.common.leases import LEASE_RELEASED, lease_extend
from chappe.common.numbers import InvalidNumber, normalize
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Channel, Message, MessageKind, Send
from chappe.messaging.services.accept import SendOutcome, sms_send
from chappe.messaging.services.dispatch import (
    LEASE,
    RETRY_DELAY,
    dispatch_claim,
    messaging_held_accounts,
)
from chappe.messaging.services.status import messages_transition
from chappe.voice.directory import MessageCall, MessageCallEnd
from chappe.voice.flows import Prompt
from chappe.voice.outbound import ANSWERED, CONGESTED, LISTENED, NO_ROUTE, PLACED

S = MessageStatus
MAX_REPEAT = 5
# How many due messages an engine takes at a time.
CLAIM_LIMIT = 50
# The connector name of a sent TTS message.
VOICE_CONNECTOR = "voice"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _tts_problems(*, account: Account, recipients: list[str], text: str, language: str,
                  voice: str, repeat: int, caller_id: str) -> dict[str, list[str]]:
    """What makes a voice message unplayable, or its call impossible, by field."""
    errors: dict[str, list[str]] = {}
    try:
        Prompt(text=text, language=language, voice=voice or None)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "text"
            errors.setdefault(field, []).append(error["msg"])
    if not 1 <= repeat <= MAX_REPEAT:
        errors["repeat"] = [_("1 to %(n)d plays.") % {"n": MAX_REPEAT}]
    if caller_id and not E164.match(caller_id):
        errors["caller_id"] = [_("A number in E.164 form (+33…), one of yours.")]
    invalid = []
    for raw in recipients:
        try:
            normalize(str(raw), default_country=account.default_country)
        except InvalidNumber:
            invalid.append(str(raw))
    if invalid:
        # A voice message is all or nothing, as its API always was: a call to each number.
        errors["recipients"] = [_("Not a valid phone number: %s") % raw for raw in invalid[:20]]
    return errors


def tts_send(*, actor: Actor, account: Account, recipients: list[str], text: str,
             language: str = "fr", voice: str = "", repeat: int = 1, caller_id: str = "",
             kind: str = MessageKind.TRANSACTIONAL, send_at: datetime | None = None,
             callback_url: str = "", reference: str = "",
             idempotency_key: str | None = None) -> SendOutcome:
    """Accept a voice message to each recipient (see the module doc): the text `repeat`
    times in `language` (an espeak-ng `voice` may be named), presenting `caller_id`."""
    actor.require(Perm.MESSAGING_SEND)  # before saying what is wrong with the request
    problems = _tts_problems(account=account, recipients=recipients, text=text,
                             language=language, voice=voice, repeat=repeat,
                             caller_id=caller_id)
    if problems:
        raise ValidationFailed(details=problems)
    return sms_send(
        actor=actor, account=account, recipients=recipients, text=text, sender=caller_id,
        kind=kind, send_at=send_at, callback_url=callback_url, reference=reference,
        idempotency_key=idempotency_key, product=Product.TTS, channel=Channel.TTS,
        channel_fields={"tts_language": language, "tts_voice": voice, "tts_repeat": repeat})


# --- the voice engine's side ------------------------------------------------------------


def tts_calls_claim(*, worker: str, limit: int = CLAIM_LIMIT,
                    now: datetime | None = None) -> list[MessageCall]:
    """Lease up to `limit` due voice messages to the engine `worker` and say what to call.
    Checked again now, not only at acceptance: a message past its validity expires (M-7)
    uncalled, and those of an account whose messaging is suspended are not taken (P-8:
    they wait, as SMS do at the gateway, `dispatch.messaging_held_accounts`)."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = dispatch_claim(worker=worker, limit=limit, now=now, channel=Channel.TTS,
                                 held=messaging_held_accounts())
        if not claimed:
            return []
        expired = [m.id for m in claimed if m.expires_at <= now]
        messages_transition(expired, S.EXPIRED, at=now, detail="validity period over",
                            updates={i: dict(LEASE_RELEASED) for i in expired})
        live = [m for m in claimed if m.expires_at > now]
        sends = {send.pk: send for send in Send.objects.filter(
            pk__in={m.send_id for m in live})}
        return [_message_call(m, sends[m.send_id]) for m in live]


def _message_call(message: Message, send: Send) -> MessageCall:
    return MessageCall(
        id=str(message.id), account_id=str(message.account_id), recipient=message.recipient,
        caller=(message.sender or "anonymous").lstrip("+"), repeat=send.tts_repeat,
        prompt=Prompt(text=message.text, language=send.tts_language or "fr",
                      voice=send.tts_voice or None))


def tts_calls_extend(*, worker: str, ids: list[str], now: datetime | None = None) -> int:
    """Heartbeat: the messages `ids` stay leased to `worker` (their calls are in flight)."""
    return lease_extend(Message, ids, until=(now or timezone.now()) + LEASE, holder=worker)


def tts_call_finish(*, message_id: str, end: MessageCallEnd, call_ref: str = "") -> None:
    """Record how the call of a claimed voice message ended (the module doc's table);
    `call_ref` names the contact center's record of the call. The lease is given up."""
    released = {message_id: dict(LEASE_RELEASED)}
    now = timezone.now()
    with transaction.atomic():
        if end.status == CONGESTED:
            Message.objects.filter(pk=message_id, status=S.QUEUED).update(
                due_at=now + RETRY_DELAY, **LEASE_RELEASED)
            return
        if end.status not in PLACED:
            code = "no_route" if end.status == NO_ROUTE else "call_failed"
            messages_transition([message_id], S.REJECTED, at=now, error_code=code,
                                detail=end.status, updates=released)
            return
        trunk = f" via trunk {end.trunk}" if end.trunk else ""
        messages_transition(
            [message_id], S.SENT, at=end.started_at, detail=f"called{trunk}",
            updates={message_id: {"connector": VOICE_CONNECTOR, "carrier_message_id": call_ref,
                                  "sent_at": end.started_at, **LEASE_RELEASED}})
        if end.status in (LISTENED, ANSWERED):
            messages_transition([message_id], S.DELIVERED, at=end.ended_at, detail=end.status)
        else:
            messages_transition([message_id], S.UNDELIVERED, at=end.ended_at,
                                error_code=f"sip_{end.sip_status}", detail=end.status)


class TtsCalls:
    """The TTS channel as the voice engine's database directory takes it
    (chappe.voice.directory.MessageCalls), for the engine named `worker`."""

    def __init__(self, *, worker: str) -> None:
        self.worker = worker

    def claim(self, *, limit: int) -> list[MessageCall]:
        return tts_calls_claim(worker=self.worker, limit=limit)

    def extend(self, ids: list[str]) -> None:
        tts_calls_extend(worker=self.worker, ids=ids)

    def finish(self, call: MessageCall, end: MessageCallEnd, *, call_ref: str) -> None:
        tts_call_finish(message_id=call.id, end=end, call_ref=call_ref)
