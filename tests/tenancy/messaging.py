"""Tenant data and path parameters of chappe.messaging: a scheduled message (cancelable,
editable), a delivered one, a reply, a scheduled voice message (TTS) and an archived
message (M-13, in the archive files)."""

from datetime import timedelta

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.carriers.base import Inbound
from chappe.messaging.archive import history_retention_run
from chappe.messaging.models import Message
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.replies import inbound_receive
from chappe.messaging.services.tts import tts_send
from tests.tenancy import IdFactory, NotTenantScoped, Tenant


def seed(t: Tenant) -> None:
    o = t.objects
    actor = SYSTEM.on(t.account)
    number = f"+33612{abs(hash(t.tag)) % 1_000_000:06d}"
    scheduled = sms_send(actor=actor, account=t.account, recipients=[number], sender="Shop",
                         text=f"Later {t.tag}", reference=t.tag[:40],
                         send_at=timezone.now() + timedelta(days=2))
    o["scheduled_send"] = scheduled.send
    o["scheduled"] = scheduled.recipients[0].message
    sent = sms_send(actor=actor, account=t.account, recipients=[number], sender="Shop",
                    text=f"Now {t.tag}")
    message = sent.recipients[0].message
    Message.objects.filter(pk=message.pk).update(status="sent", connector="tenancy",
                                                 carrier_message_id=t.tag[:20])
    o["sent"] = message
    o["voice_message"] = tts_send(actor=actor, account=t.account, recipients=[number],
                                  text=f"Bonjour {t.tag}",
                                  send_at=timezone.now() + timedelta(days=2)).send
    old = sms_send(actor=actor, account=t.account, recipients=[number], sender="Shop",
                   text=f"Archived {t.tag}").recipients[0].message
    Message.objects.filter(pk=old.pk).update(status="delivered",
                                             created_at=timezone.now() - timedelta(days=400))
    history_retention_run()
    inbound_receive(connector="tenancy", inbound=[Inbound(
        carrier_id=f"mo-{t.tag}"[:60], from_number=number, to="Shop", text=f"Reply {t.tag}",
        received_at=timezone.now())])


PATH_PARAMS: dict[str, IdFactory | NotTenantScoped] = {
    "message_id": lambda t: [t.objects["scheduled"].pk, t.objects["sent"].pk],
    "send_id": lambda t: [t.objects["scheduled_send"].pk],
    "voice_message_id": lambda t: [t.objects["voice_message"].pk],
}
