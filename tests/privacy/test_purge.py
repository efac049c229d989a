"""The termination purge (P-9) and the recipient erasure (P-12) keep the 10-year billing
proof (P-13, C-10): call records and their usage records, fee records, the ledger, the
invoices and the audit trail survive; everything else of the account goes, and what is
personal in what stays is anonymised (chappe/callcenter/retention.py)."""

import wave
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.models import Account, User
from chappe.accounts.services import account_terminate, api_key_create
from chappe.audit.models import AuditEntry
from chappe.billing.models import FeeCharge, LedgerEntry, UsageRecord
from chappe.billing.periods import zone
from chappe.billing.reconcile import reconcile
from chappe.callcenter.models import (
    AudioPrompt,
    CallFlow,
    CallRecord,
    NumberRental,
    NumberStatus,
    PhoneNumber,
    Voicemail,
)
from chappe.callcenter.services import (
    DEMO_FLOW,
    call_charge,
    catalogue_number_add,
    flow_create,
    number_assign,
    number_buy,
)
from chappe.common.errors import Conflict
from chappe.contacts.models import Contact
from chappe.contacts.services import contact_create
from chappe.messaging.models import Message
from chappe.messaging.services.tts import tts_send
from chappe.privacy.models import AccountPurge
from chappe.privacy.purge import account_purge, accounts_purge_due, purge_due_at
from chappe.privacy.rights import recipient_erase
from chappe.webhooks.models import WebhookEvent
from chappe.webhooks.services import EventDraft, webhooks_emit
from tests.billing.conftest import OPERATOR

PARIS = zone("Europe/Paris")
WHEN = datetime(2026, 5, 4, 10, tzinfo=PARIS)
CALLER = "+33612345678"


def wav(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x01\x00" * 800)


def call(account, sip_call_id, **fields):
    data = {"direction": "inbound", "from_number": CALLER, "to_number": "+33189000050",
            "started_at": WHEN, "answered_at": WHEN, "ended_at": WHEN + timedelta(seconds=30),
            "duration_seconds": 30, "disposition": "answered", "digits": "12",
            "flow_path": ["welcome", "menu"], "wrap_up_code": "Sale",
            "wrap_up_note": "Wants the yearly plan."}
    return CallRecord.objects.create(account=account, sip_call_id=sip_call_id,
                                     **{**data, **fields})


@pytest.fixture
def voice_account(make_account, make_user, buy_credits, settings, tmp_path):
    """An account with a bit of everything: people, contacts, webhooks, a rented number
    paid from credit, a flow, a recording, calls (billed or not), a voicemail, a TTS
    voice message scheduled for tomorrow."""
    settings.DATA_DIR = tmp_path
    account = make_account("Voice Co")
    make_user(account, email="ada@voice.example")
    api_key_create(actor=SYSTEM, account=account, name="ci")
    actor = SYSTEM.on(account)
    buy_credits(account, Decimal("50"))
    contact_create(actor=actor, account=account, mobile=CALLER, values={"first_name": "Zoé"})
    number = catalogue_number_add(e164="+33189000050", number_type="geographic",
                                  monthly_price_micros=2_000_000)
    flow = flow_create(actor=actor, account=account, name="Accueil", definition=DEMO_FLOW)
    rental = number_buy(actor=actor, account=account, number_id=number.pk)
    number_assign(actor=actor, account=account, rental_id=rental.pk, flow_id=flow.pk)
    inbound = call(account, "in-1", rental=rental)
    relative = f"voice/voicemails/{account.pk}/{inbound.pk}.wav"
    wav(tmp_path / relative)
    Voicemail.objects.create(account=account, call=inbound, path=relative, duration_ms=100)
    wav(tmp_path / "voice/uploads/jingle.wav")
    AudioPrompt.objects.create(account=account, name="Jingle", path="voice/uploads/jingle.wav")
    billed = call(account, "out-1", direction="outbound", from_number="+33189000050",
                  to_number="+33145000000")
    call_charge(record=billed)
    call(account, "out-2", direction="outbound", from_number="+33189000050",
         to_number=CALLER, answered_at=None, disposition="no_answer", duration_seconds=0)
    tts_send(actor=actor, account=account, recipients=[CALLER], text="Votre colis arrive",
             send_at=timezone.now() + timedelta(days=1))
    webhooks_emit([EventDraft(account_id=account.pk, url="https://hooks.example/x",
                              type="voicemail.new", payload={"from": CALLER})])
    return account


def cascading_models():
    """Every model whose key to the account cascades: what the purge deletes."""
    return [(model, field.name) for model in apps.get_models() for field in model._meta.fields
            if isinstance(field, models.ForeignKey) and field.related_model is Account
            and field.remote_field.on_delete is models.CASCADE]


def test_the_purge_waits_three_months(voice_account):
    with pytest.raises(Conflict):
        account_purge(account=voice_account)  # not terminated
    account_terminate(actor=OPERATOR, account=voice_account)
    voice_account.refresh_from_db()
    due = purge_due_at(voice_account)
    assert due.date() > (voice_account.terminated_at + timedelta(days=88)).date()
    with pytest.raises(Conflict):
        account_purge(account=voice_account, now=due - timedelta(seconds=1))
    assert accounts_purge_due(now=due - timedelta(seconds=1)) == []
    assert not AccountPurge.objects.exists()


def test_the_purge_keeps_the_billing_proof_and_deletes_the_rest(
        voice_account, other_account, tmp_path, django_capture_on_commit_callbacks):
    account = voice_account
    kept = {label: model.objects.filter(account=account).count() for label, model in [
        ("calls", CallRecord), ("usage", UsageRecord), ("fees", FeeCharge),
        ("ledger", LedgerEntry)]}
    assert (kept["calls"], kept["usage"], kept["fees"]) == (3, 2, 1)  # usage: a leg, a TTS
    assert kept["ledger"] > 2
    assert {m for m, _f in cascading_models()} >= {User, Contact, CallFlow, NumberRental,
                                                    Voicemail, AudioPrompt, WebhookEvent}
    other_call = call(other_account, "theirs")
    account_terminate(actor=OPERATOR, account=account)
    account.refresh_from_db()
    due = purge_due_at(account)
    # The dry run names it and changes nothing.
    assert accounts_purge_due(now=due + timedelta(hours=1), dry_run=True) == [str(account.pk)]
    assert not AccountPurge.objects.exists()
    assert CallRecord.objects.filter(account=account).count() == kept["calls"]
    with django_capture_on_commit_callbacks(execute=True):
        assert accounts_purge_due(now=due + timedelta(hours=1)) == [str(account.pk)]

    # Deleted: every model whose key to the account cascades, and the recordings' files.
    for model, key in cascading_models():
        assert not model._default_manager.filter(**{key: account}).exists(), model
    assert not list((tmp_path / "voice").rglob("*.wav"))
    # Kept, 10 years: call records, usage and fee records, the ledger, the audit trail.
    assert {label: model.objects.filter(account=account).count() for label, model in [
        ("calls", CallRecord), ("usage", UsageRecord), ("fees", FeeCharge),
        ("ledger", LedgerEntry)]} == kept
    assert not Message.objects.filter(account=account).exists()  # the TTS message went
    calls = {c.sip_call_id: c for c in CallRecord.objects.filter(account=account)}
    # The caller of an inbound call is a third party, not billing proof: erased.
    assert (calls["in-1"].from_number, calls["in-1"].to_number) == ("[erased]",
                                                                    "+33189000050")
    assert (calls["in-1"].digits, calls["in-1"].wrap_up_note) == ("", "")
    assert calls["in-1"].wrap_up_code == "Sale"  # the account's own code, not personal
    assert calls["in-1"].rental_id is None
    # A billed outbound leg keeps what it was charged on (C-9, C-10)…
    assert (calls["out-1"].from_number, calls["out-1"].to_number) == ("+33189000050",
                                                                      "+33145000000")
    assert calls["out-1"].billed
    usage = UsageRecord.objects.get(account=account, product="voice_minute")
    assert (usage.cause_id, usage.destination_country) == (str(calls["out-1"].pk), "FR")
    # …an unbilled one does not.
    assert calls["out-2"].to_number == "[erased]"
    # The number it still held (reserved for a port-out) is back in the catalogue.
    assert PhoneNumber.objects.get(e164="+33189000050").status == NumberStatus.AVAILABLE
    record = AccountPurge.objects.get(account=account)
    assert record.counts["callcenter.CallFlow"] == 1
    assert record.counts["contacts.Contact"] == 1
    assert record.counts["voicemails"] == 1
    assert record.counts["numbers_released"] == 1
    assert AuditEntry.objects.filter(account=account, action="account.purge").count() == 1
    assert reconcile() == []
    # Once: a later run finds nothing to do. Other accounts are untouched.
    assert accounts_purge_due(now=due + timedelta(days=2)) == []
    assert account_purge(account=account, now=due + timedelta(days=2)) == {}
    assert CallRecord.objects.get(pk=other_call.pk).from_number == CALLER


def test_erasing_a_recipient_anonymises_the_calls_and_drops_the_voicemail(
        voice_account, tmp_path, django_capture_on_commit_callbacks):
    account = voice_account
    actor = SYSTEM.on(account)
    national = call(account, "in-2", from_number="0612345678")  # as a trunk may write it
    with django_capture_on_commit_callbacks(execute=True):
        recipient_erase(actor=actor, account=account, number=CALLER)
    calls = {c.sip_call_id: c for c in CallRecord.objects.filter(account=account)}
    assert calls["in-1"].from_number == "[erased]"
    assert (calls["in-1"].digits, calls["in-1"].wrap_up_note) == ("", "")
    assert calls["out-2"].to_number == "[erased]"
    assert calls["out-1"].wrap_up_note == "Wants the yearly plan."  # another person's call
    assert CallRecord.objects.get(pk=national.pk).from_number == "[erased]"
    assert calls["out-1"].to_number == "+33145000000"  # someone else
    assert not Voicemail.objects.filter(account=account).exists()
    assert not list((tmp_path / "voice/voicemails").rglob("*.wav"))
    # The TTS message still scheduled for it is canceled (its charge given back), erased.
    message = Message.objects.get(account=account, channel="tts")
    assert (message.status, message.recipient, message.text) == ("canceled", "[erased]",
                                                                 "[erased]")
    assert CallRecord.objects.filter(account=account).count() == 4  # all kept
    for model in (CallRecord, Message):
        for row in model.objects.filter(account=account).values():
            assert CALLER not in str(row)
            assert "0612345678" not in str(row)


def test_the_job_is_registered():
    from chappe.queue.registry import registry_discover

    periodic = registry_discover().periodic
    assert periodic["privacy.termination_purge"] == timedelta(hours=6)
    assert periodic["callcenter.rental_fees"] == timedelta(hours=1)
