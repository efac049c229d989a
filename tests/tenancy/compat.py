"""Tenant data of the compatibility APIs (chappe.api.compat, issue 17): a scheduled
message sent through each of them (smsmode HTTP 1.6, smsmode REST v1, Twilio), with the
callback forms and the sealed Twilio token on their sends, and the account's Twilio SMS
URL. The compatibility endpoints are not ninja operations, so the harness does not walk
them: tests/api/compat/test_tenancy.py walks each of them with these objects."""

from datetime import timedelta

from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.api.compat.core import sms_send_compat
from chappe.webhooks.services import webhook_settings_update
from tests.tenancy import Tenant


def seed(t: Tenant) -> None:
    actor = SYSTEM.on(t.account)
    number = f"+33613{abs(hash(t.tag)) % 1_000_000:06d}"
    later = timezone.now() + timedelta(days=2)
    for api in ("smsmode_http", "smsmode_rest", "twilio"):
        outcome = sms_send_compat(
            actor=actor, recipients=[number], text=f"{api} {t.tag}", sender="Shop",
            callback_format=api, callback_url=f"https://{t.tag}.example/{api}",
            reply_url=f"https://{t.tag}.example/{api}/mo" if api != "twilio" else "",
            reference=t.tag[:40], send_at=later,
            signing_token=f"token-{t.tag}" if api == "twilio" else "")
        t.objects[f"compat_{api}_send"] = outcome.send
        t.objects[f"compat_{api}"] = outcome.recipients[0].message
    webhook_settings_update(actor=actor, account=t.account,
                            twilio_sms_url=f"https://{t.tag}.example/twilio/sms")
