"""The content check inside acceptance (M-11): every send path meets it, a held send
waits for the operator (released, refused), a refusal names its rule, repeated attempts
are flagged, registered-only countries refuse unregistered senders (M-2)."""

import inspect
import io
import re
from pathlib import Path

import pytest
from django.db import transaction
from django.test import override_settings

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.billing.selectors import ledger_sum
from chappe.common.errors import Conflict, ValidationFailed
from chappe.messaging.content_policy import services
from chappe.messaging.content_policy.models import (
    ContentReview,
    DomainKind,
    PolicyDomain,
    PolicyHit,
    ProtectedBrand,
    ReviewStatus,
)
from chappe.messaging.models import Message, Send
from chappe.messaging.services.accept import (
    Draft,
    SmsItem,
    messages_accept,
    sms_send,
    sms_send_each,
)
from tests.messaging.test_pipeline import DELIVERED

pytestmark = pytest.mark.django_db


def shorteners_seeded() -> None:
    """The shorteners the migration seeds, again: a transactional test's flush (another
    test's) empties the table of migration data."""
    services.domains_import_text(actor=SYSTEM, text="bit.ly\nt.co\ntinyurl.com\n",
                                 kind=DomainKind.SHORTENER, source="chappe")


def test_the_migration_seeds_the_known_shorteners(db):
    """(Non-transactional tests run first: no flush has emptied the table yet.)"""
    seeded = set(PolicyDomain.objects.filter(kind=DomainKind.SHORTENER, source="chappe")
                 .values_list("domain", flat=True))
    assert {"bit.ly", "tinyurl.com", "t.co", "cutt.ly"} <= seeded


@pytest.fixture
def policy(db):
    shorteners_seeded()
    services.domains_import_text(actor=SYSTEM, text="evil-colis.example\n# a comment\n",
                                 kind=DomainKind.BLOCKED, source="feed.txt")
    services.policy_entry_save(actor=SYSTEM, obj=ProtectedBrand(name="LAPOSTE"))


def credit(account) -> int:
    return ledger_sum(account=account, book="credit", currency="EUR")


def send(account, text, sender="Chappe"):
    return sms_send(actor=SYSTEM, account=account, recipients=[DELIVERED], text=text,
                    sender=sender)


def test_a_shortener_holds_and_a_blocked_domain_refuses_naming_it(
        funded_account, policy):
    held = send(funded_account, "Votre colis: bit . ly/abc").recipients[0]
    refused = send(funded_account, "Payez: evil-colis[.]example/pay").recipients[0]
    assert (held.status, held.message.status) == ("held_for_review", "held_for_review")
    assert (refused.status, refused.message) == ("content_refused", None)
    assert refused.error_code == "content_blocked_domain"
    assert "evil-colis.example" in refused.error_message
    review = ContentReview.objects.get(account=funded_account)
    assert review.reasons[0]["code"] == "shortener"


def test_a_lookalike_sender_is_held(funded_account, policy):
    outcome = send(funded_account, "Bonjour", sender="LAP0STE").recipients[0]
    assert outcome.status == "held_for_review"
    assert PolicyHit.objects.get(account=funded_account).matched == "LAPOSTE"


def test_a_held_send_released_by_the_operator_leaves(funded_account, policy):
    outcome = send(funded_account, "Suivi t.co/x").recipients[0]
    review = ContentReview.objects.get(send=outcome.message.send_id)
    services.review_release(actor=SYSTEM, review=review)
    message = Message.objects.get(pk=outcome.message.pk)
    assert message.status == "queued"
    assert [e.status for e in message.history()][-1] == "queued"
    review.refresh_from_db()
    assert review.status == ReviewStatus.RELEASED
    assert AuditEntry.objects.filter(action="messaging.review.released").exists()


def test_a_held_send_refused_by_the_operator_is_rejected_and_given_back(funded_account,
                                                                          policy):
    before = credit(funded_account)
    outcome = send(funded_account, "Suivi t.co/x").recipients[0]
    assert credit(funded_account) < before
    review = ContentReview.objects.get(send=outcome.message.send_id)
    with pytest.raises(ValidationFailed) as refused:
        services.review_refuse(actor=SYSTEM, review=review, reason=" ")
    assert "reason" in refused.value.details
    services.review_refuse(actor=SYSTEM, review=review, reason="Phishing link")
    message = Message.objects.get(pk=outcome.message.pk)
    assert (message.status, message.error_code) == ("rejected", "content_refused")
    assert credit(funded_account) == before
    with pytest.raises(Conflict):
        services.review_release(actor=SYSTEM, review=review)


@override_settings(CHAPPE_POLICY_BYPASS_ATTEMPTS=3)
def test_rewording_a_refused_message_is_flagged(funded_account, policy):
    for text in ("Payez evil-colis.example", "Payez evil-colis . example",
                 "Payez e v i l-colis.example"):
        send(funded_account, text)
    flags = list(PolicyHit.objects.filter(account=funded_account).order_by("created_at",
                                                                           "id")
                 .values_list("flagged", flat=True))
    assert flags == [False, False, True]
    assert AuditEntry.objects.filter(action="messaging.policy.bypass_suspected",
                                     account=funded_account).count() == 1


def test_smpp_submits_meet_the_check(funded_account, policy):
    """SMPP's acceptance (`sms_send_each`, what `smpp_submits_accept` calls)."""
    [clean, held, refused] = sms_send_each(actor=SYSTEM, account=funded_account, items=[
        SmsItem(recipient=DELIVERED, text="Bonjour", sender="Chappe"),
        SmsItem(recipient=DELIVERED, text="bit.ly/x", sender="Chappe"),
        SmsItem(recipient=DELIVERED, text="evil-colis.example", sender="Chappe")])
    assert (clean.status, held.status, refused.status) == (
        "queued", "held_for_review", "content_refused")


def test_campaign_launches_meet_the_check(funded_account, policy):
    """The campaigns' acceptance (`messages_accept`, what a launch calls per chunk)."""
    launch = Send.objects.create(account=funded_account, sender="Chappe", text="",
                                 channel="campaign")
    with transaction.atomic():
        answers = messages_accept(account=funded_account, send=launch, drafts=[
            Draft(e164=DELIVERED, country="FR", operator="", text="ok"),
            Draft(e164="+33600000002", country="FR", operator="", text="tinyurl.com/a")])
    assert [a.status for a in answers] == ["queued", "held_for_review"]
    with transaction.atomic():  # the launch's next chunk: the same send, the same review
        [answer] = messages_accept(account=funded_account, send=launch, drafts=[
            Draft(e164="+33600000003", country="FR", operator="", text="tinyurl.com/a")])
    assert answer.status == "held_for_review"
    assert ContentReview.objects.filter(send=launch).count() == 1


def test_the_api_answers_held_and_refused_in_its_recipient_rows(api_for, funded_account,
                                                                  policy):
    client = api_for(funded_account)
    answer = client.post("/api/v1/sms", {"recipients": [DELIVERED], "sender": "Chappe",
                                         "text": "bit.ly/x"}).json()
    assert answer["recipients"][0]["status"] == "held_for_review"
    answer = client.post("/api/v1/sms", {"recipients": [DELIVERED], "sender": "Chappe",
                                         "text": "evil-colis.example"}).json()
    [row] = answer["recipients"]
    assert (row["status"], row["error"]["code"]) == ("content_refused",
                                                     "content_blocked_domain")


def test_every_message_row_is_written_where_the_check_runs():
    """Each path (API and its fast path through the group commit, web, compat, SMPP,
    campaigns, TTS) accepts through `messages_write`, the only writer of message rows;
    the check runs inside it. A second writer would escape the check."""
    root = Path(__file__).resolve().parents[3] / "chappe"
    writers = [str(path.relative_to(root)) for path in root.rglob("*.py")
               if re.search(r"MESSAGE_ROW\.insert\(", path.read_text())]
    assert writers == ["messaging/services/accept.py"]
    from chappe.messaging.services import accept
    assert "screening.check(" in inspect.getsource(accept.messages_write)


@override_settings(CHAPPE_SENDER_RULES={"FR": {}, "*": {}, "US": {"registered_only": True}})
def test_a_registered_only_country_takes_only_registered_senders(funded_account):
    def to_us(sender):
        return sms_send(actor=SYSTEM, account=funded_account, recipients=["+12025550143"],
                        text="Hello", sender=sender).recipients[0]

    assert to_us("Chappe").error_code == "sender_not_registered"
    services.registered_sender_add(actor=SYSTEM, country="US", name="Chappe",
                                   account=funded_account)
    assert to_us("Chappe").status in ("queued", "scheduled")


def test_the_feed_import_reads_hosts_files_and_csv_and_counts(db):
    counts = services.domains_import_text(
        actor=SYSTEM, kind=DomainKind.BLOCKED, source="feed.csv",
        text="0.0.0.0 bad.example\nhttps://worse.example/x,phishing\n*.evil.example\n"
             "not a domain\nbad.example\n")
    assert counts == {"added": 3, "known": 0, "unreadable": 1}
    assert set(PolicyDomain.objects.filter(kind="blocked").values_list("domain", flat=True)
               ) == {"bad.example", "worse.example", "evil.example"}


def test_the_back_office_refuses_a_held_send_with_its_reason_and_imports_a_feed(
        funded_account, policy, admin_client):
    from django.urls import reverse

    from chappe.messaging.content_policy.admin import ContentReviewAdmin, PolicyDomainAdmin

    outcome = send(funded_account, "Suivi t.co/x").recipients[0]
    review = ContentReview.objects.get(send=outcome.message.send_id)
    url = reverse("admin:messaging_contentreview_changelist")
    assert admin_client.get(url).status_code == 200
    refuse = ContentReviewAdmin.actions[1]
    response = admin_client.post(url, {"action": refuse.__name__,
                                       "_selected_action": [review.pk], "apply": "1",
                                       "reason": "Lien raccourci vers un site de phishing"})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == "refused"
    assert review.decided_by
    entry = AuditEntry.objects.get(action="messaging.review.refused")
    assert (entry.is_operator, entry.details["reason"]) == (
        True, "Lien raccourci vers un site de phishing")
    assert Message.objects.get(pk=outcome.message.pk).status == "rejected"

    domains = reverse("admin:messaging_policydomain_changelist")
    some = PolicyDomain.objects.first()
    response = admin_client.post(domains, {
        "action": PolicyDomainAdmin.actions[0].__name__, "_selected_action": [some.pk],
        "apply": "1", "kind": "blocked", "source": "feed.txt",
        "feed": "phish-one.example\nphish-two.example\n"})
    assert response.status_code == 302
    assert set(PolicyDomain.objects.filter(source="feed.txt", domain__startswith="phish-")
               .values_list("domain", flat=True)) == {"phish-one.example", "phish-two.example"}


def test_the_management_command_imports_a_feed_file_and_dry_runs(db, tmp_path):
    from django.core.management import call_command

    feed = tmp_path / "urlhaus.csv"
    feed.write_text("# domain,threat\nbad-one.example,phishing\nbad-two.example,malware\n")
    out = io.StringIO()
    call_command("policy_import_domains", str(feed), "--dry-run", stdout=out)
    assert out.getvalue().strip() == "dry run: 2 added, 0 already listed, 0 unreadable"
    assert not PolicyDomain.objects.filter(source="urlhaus.csv").exists()
    call_command("policy_import_domains", str(feed), stdout=io.StringIO())
    assert PolicyDomain.objects.filter(source="urlhaus.csv", kind="blocked").count() == 2


def test_a_new_af2m_name_is_guarded_against_look_alikes_from_the_next_send(funded_account):
    from chappe.messaging.services.senders import protected_sender_create

    assert send(funded_account, "Bonjour", sender="IMP0TS").recipients[0].status == "queued"
    protected_sender_create(actor=SYSTEM, name="IMPOTS", level="si")
    assert send(funded_account, "Bonjour", sender="IMP0TS").recipients[0].status == \
        "held_for_review"
    # The name itself is the sender rules' (AF2M SI: refused).
    assert send(funded_account, "Bonjour", sender="IMPOTS").recipients[0].status == \
        "sender_rejected"
