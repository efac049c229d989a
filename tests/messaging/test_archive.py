"""History retention (M-13): 6 months active, then 12 in the archive (searchable and
exportable), then gone — at the boundaries, with a frozen clock; a crash between the
archive file and the delete loses and doubles nothing."""

import csv
import io
from datetime import datetime

import pytest
import time_machine
from django.test import override_settings

from chappe.accounts.actor import SYSTEM
from chappe.audit.models import AuditEntry
from chappe.messaging import archive
from chappe.messaging.archive import archive_search, history_retention_run
from chappe.messaging.models import Message, MessageEvent, Send
from chappe.messaging.services.accept import sms_send
from tests.messaging.test_pipeline import DELIVERED

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def sent_on(account, moment: str, *, recipients=(DELIVERED,), text="Bonjour") -> list[Message]:
    with time_machine.travel(at(moment), tick=False):
        outcome = sms_send(actor=SYSTEM, account=account, recipients=list(recipients),
                           text=text, sender="Chappe")
    ids = [r.message.pk for r in outcome.recipients]
    Message.objects.filter(pk__in=ids).update(status="delivered")
    MessageEvent.objects.bulk_create(MessageEvent(message_id=pk, status="delivered",
                                                  at=at(moment)) for pk in ids)
    return list(Message.objects.filter(pk__in=ids))


def test_six_months_active_then_archived_then_deleted_after_eighteen(funded_account):
    [message] = sent_on(funded_account, "2026-01-15T10:00:00+00:00")
    # The whole month must be 6 months old: still active on the last day of July.
    report = history_retention_run(now=at("2026-07-31T23:59:59+00:00"))
    assert report.archived == {}
    assert Message.objects.filter(pk=message.pk).exists()
    report = history_retention_run(now=at("2026-08-01T00:00:00+00:00"))
    assert report.archived == {f"{funded_account.pk}/2026-01": 1}
    assert not Message.objects.filter(pk=message.pk).exists()
    assert not Send.objects.filter(pk=message.send_id).exists()
    [row] = archive_search(account=funded_account, number=DELIVERED)
    assert (row["id"], row["text"], row["status"]) == (str(message.pk), "Bonjour", "delivered")
    assert [e["status"] for e in row["history"]] == ["accepted", "queued", "delivered"]
    # 18 months: still in the archive on the last day of July 2027, gone on 1 August.
    assert history_retention_run(now=at("2027-07-31T23:59:59+00:00")).deleted_files == []
    assert archive_search(account=funded_account)
    report = history_retention_run(now=at("2027-08-01T00:00:00+00:00"))
    assert report.deleted_files == [f"{funded_account.pk}/2026-01"]
    assert archive_search(account=funded_account) == []
    assert AuditEntry.objects.filter(action="messaging.history_retention").count() == 2


def test_a_message_not_final_is_never_archived(funded_account):
    [message] = sent_on(funded_account, "2026-01-15T10:00:00+00:00")
    Message.objects.filter(pk=message.pk).update(status="sent")
    assert history_retention_run(now=at("2026-09-01T00:00:00+00:00")).archived == {}
    assert Message.objects.filter(pk=message.pk).exists()


def test_the_dry_run_reports_and_changes_nothing(funded_account, data_dir):
    sent_on(funded_account, "2026-01-15T10:00:00+00:00", recipients=[DELIVERED, "+33600000002"])
    report = history_retention_run(now=at("2026-08-01T00:00:00+00:00"), dry_run=True)
    assert report.as_dict()["archived_total"] == 2
    assert Message.objects.filter(account=funded_account).count() == 2
    assert not list(data_dir.rglob("*.gz"))
    assert not AuditEntry.objects.filter(action="messaging.history_retention").exists()


def test_a_crash_after_the_file_resumes_without_loss_or_duplicate(funded_account,
                                                                  monkeypatch):
    first = sent_on(funded_account, "2026-01-10T10:00:00+00:00")
    # More of the same month arrive in the database before the run that crashes.
    second = sent_on(funded_account, "2026-01-20T10:00:00+00:00",
                     recipients=[DELIVERED, "+33600000002"])

    def crash(ids):
        raise RuntimeError("power cut")

    monkeypatch.setattr(archive, "_archived_delete", crash)
    with pytest.raises(RuntimeError):
        history_retention_run(now=at("2026-08-01T00:00:00+00:00"))
    assert Message.objects.filter(account=funded_account).count() == 3  # nothing lost
    monkeypatch.undo()
    report = history_retention_run(now=at("2026-08-01T00:00:00+00:00"))
    assert report.archived == {f"{funded_account.pk}/2026-01": 3}
    rows = archive_search(account=funded_account)
    assert sorted(r["id"] for r in rows) == sorted(str(m.pk) for m in first + second)
    assert Message.objects.filter(account=funded_account).count() == 0


def test_the_client_searches_and_exports_its_archive_by_number_and_date(
        api_for, funded_account, other_account):
    sent_on(funded_account, "2026-01-10T10:00:00+00:00", recipients=[DELIVERED])
    sent_on(funded_account, "2026-02-10T10:00:00+00:00", recipients=["+33600000002"],
            text="Facture, prix")
    history_retention_run(now=at("2026-09-01T00:00:00+00:00"))
    client = api_for(funded_account)
    found = client.get("/api/v1/sms/archive", {"number": "06 00 00 00 02"}).json()
    assert [r["recipient"] for r in found["items"]] == ["+33600000002"]
    by_date = client.get("/api/v1/sms/archive", {"since": "2026-01-01T00:00:00Z",
                                                 "until": "2026-02-01T00:00:00Z"}).json()
    assert [r["recipient"] for r in by_date["items"]] == [DELIVERED]
    exported = client.get("/api/v1/sms/archive/export")
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert {(r["recipient"], r["text"]) for r in rows} == {
        (DELIVERED, "Bonjour"), ("+33600000002", "Facture, prix")}
    assert client.get("/api/v1/sms/archive", {"number": "x"}).status_code in (400, 422)
    assert api_for(other_account).get("/api/v1/sms/archive").json()["items"] == []


@override_settings(CHAPPE_MESSAGES_ACTIVE_MONTHS=1, CHAPPE_MESSAGES_ARCHIVE_MONTHS=2)
def test_the_durations_are_the_operators(funded_account):
    sent_on(funded_account, "2026-01-15T10:00:00+00:00")
    assert history_retention_run(now=at("2026-03-01T00:00:00+00:00")).archived
    assert history_retention_run(now=at("2026-05-01T00:00:00+00:00")).deleted_files


def test_the_web_archive_page_searches_and_exports(funded_account, make_user, other_account):
    from django.urls import reverse

    from tests.web.support import client_for

    sent_on(funded_account, "2026-01-10T10:00:00+00:00", recipients=[DELIVERED],
            text="Rendez-vous lundi")
    sent_on(funded_account, "2026-02-10T10:00:00+00:00", recipients=["+33600000002"],
            text="Facture de février")
    history_retention_run(now=at("2026-09-01T00:00:00+00:00"))
    web = client_for(make_user(funded_account, email="ada@acme.example"))
    page = web.get(reverse("web:sms_archive"), {"recipient": "06 00 00 00 02"})
    assert page.status_code == 200
    assert [r["text"] for r in page.context["page"]] == ["Facture de février"]
    by_day = web.get(reverse("web:sms_archive"), {"since": "2026-01-01", "until": "2026-01-31"})
    assert [r["text"] for r in by_day.context["page"]] == ["Rendez-vous lundi"]
    export = b"".join(web.get(reverse("web:sms_archive_export")).streaming_content).decode()
    assert "Rendez-vous lundi" in export
    assert "Facture de février" in export
    other = client_for(make_user(other_account, email="bob@globex.example"))
    assert list(other.get(reverse("web:sms_archive")).context["page"]) == []


def test_a_recipients_erasure_reaches_the_archive(funded_account):
    from django.db import transaction

    from chappe.messaging.services.erasure import messages_erase_number

    sent_on(funded_account, "2026-01-10T10:00:00+00:00", recipients=[DELIVERED, "+33600000002"],
            text="Votre RDV")
    history_retention_run(now=at("2026-09-01T00:00:00+00:00"))
    with transaction.atomic():
        erased = messages_erase_number(actor=SYSTEM, account=funded_account, number=DELIVERED)
    assert erased.archived == 1
    rows = {r["recipient"]: r["text"] for r in archive_search(account=funded_account)}
    assert rows == {"[erased]": "[erased]", "+33600000002": "Votre RDV"}
