"""Termination with notice or for a breach (P-9), the export bundle open until the
purge 3 months later, and the deletion after 24 months of inactivity (P-10), on a
frozen clock."""

import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.test import Client

from chappe.accounts.activity import activity_touch
from chappe.accounts.actor import SYSTEM, Actor
from chappe.accounts.models import Account, AccountStatus, ServiceKind
from chappe.accounts.roles import Role
from chappe.accounts.services import (
    account_terminate,
    api_key_authenticate,
    api_key_create,
    service_terminate,
)
from chappe.audit.models import AuditEntry
from chappe.common.errors import Conflict, PermissionDenied, ValidationFailed
from chappe.contacts.services.contacts import contact_create
from chappe.lifecycle.export import export_build, export_request
from chappe.lifecycle.models import BundleStatus, NoticeKind, NoticeStatus, TerminationNotice
from chappe.lifecycle.notices import (
    inactivity_sweep,
    termination_notice_cancel,
    termination_notice_give,
    terminations_due,
)
from chappe.privacy.models import AccountPurge
from chappe.privacy.purge import accounts_purge_due
from chappe.queue.jobs import jobs_run_due
from chappe.queue.registry import registry_discover

PARIS = ZoneInfo("Europe/Paris")
OPERATOR = Actor(account=None, is_operator=True, ip="192.0.2.9", user_agent="pytest")


def run_jobs() -> None:
    while jobs_run_due(worker="test", limit=20):
        pass


def at(*args) -> time_machine.travel:
    return time_machine.travel(datetime(*args, tzinfo=PARIS), tick=False)


@pytest.mark.parametrize(("given", "ends"), [
    ((2027, 1, 31, 10), (2027, 2, 28, 10)),
    ((2028, 1, 31, 10), (2028, 2, 29, 10)),  # leap year
    ((2027, 3, 15, 23, 30), (2027, 4, 15, 23, 30)),  # across the DST change
    ((2027, 12, 31, 9), (2028, 1, 31, 9)),
])
def test_notice_runs_one_calendar_month(make_account, make_user, given, ends):
    with at(*given):
        account = make_account("Acme")
        admin = Actor(account=account, user=make_user(account))
        notice = termination_notice_give(actor=admin, account=account, kind=NoticeKind.CLIENT)
        service = service_terminate(actor=admin,
                                    service=account.services.get(kind=ServiceKind.MESSAGING))
    expected = datetime(*ends, tzinfo=PARIS)
    assert notice.effective_at == expected
    assert service.termination_effective_at == expected


def test_the_contract_ends_when_the_notice_does(make_account, make_user):
    with at(2027, 1, 31, 10):
        account = make_account("Acme")
        termination_notice_give(actor=Actor(account=account, user=make_user(account)),
                                account=account, kind=NoticeKind.CLIENT)
    assert terminations_due(now=datetime(2027, 2, 28, 9, 59, 59, tzinfo=PARIS)) == []
    with at(2027, 2, 28, 10):
        report = terminations_due()
    account.refresh_from_db()
    assert [step["action"] for step in report] == ["terminate (client)"]
    assert account.status == AccountStatus.TERMINATED
    assert account.purge_at == datetime(2027, 5, 28, 10, tzinfo=PARIS)


def test_a_breach_ends_the_contract_30_days_after_the_formal_notice(make_account):
    with at(2027, 3, 1, 12):
        account, remedied = make_account("Acme"), make_account("Globex")
        with pytest.raises(ValidationFailed):  # a breach must be named
            termination_notice_give(actor=OPERATOR, account=account, kind=NoticeKind.BREACH)
        termination_notice_give(actor=OPERATOR, account=account, kind=NoticeKind.BREACH,
                                reason="Unregistered sender ID")
        fixed = termination_notice_give(actor=OPERATOR, account=remedied,
                                        kind=NoticeKind.BREACH, reason="Smishing")
        termination_notice_cancel(actor=OPERATOR, notice=fixed, note="sender registered")
    day_before = datetime(2027, 3, 31, 11, 59, tzinfo=PARIS)
    assert terminations_due(now=day_before) == []
    terminations_due(now=datetime(2027, 3, 31, 12, tzinfo=PARIS))
    account.refresh_from_db()
    remedied.refresh_from_db()
    assert account.status == AccountStatus.TERMINATED
    assert remedied.status == AccountStatus.ACTIVE


def test_a_client_cannot_give_the_operators_notices(make_account, make_user):
    account = make_account("Acme")
    admin = Actor(account=account, user=make_user(account))
    with pytest.raises(PermissionDenied):
        termination_notice_give(actor=admin, account=account, kind=NoticeKind.BREACH,
                                reason="x")
    termination_notice_give(actor=admin, account=account, kind=NoticeKind.CLIENT)
    with pytest.raises(Conflict):
        termination_notice_give(actor=admin, account=account, kind=NoticeKind.CLIENT)


def test_dry_run_reports_without_doing(make_account):
    with at(2027, 3, 1, 12):
        account = make_account("Acme")
        termination_notice_give(actor=OPERATOR, account=account, kind=NoticeKind.OPERATOR)
    report = terminations_due(now=datetime(2027, 4, 2, tzinfo=PARIS), dry_run=True)
    assert [(step["name"], step["action"]) for step in report] == [
        ("Acme", "terminate (operator)")]
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE


def _zip(bundle) -> zipfile.ZipFile:
    with bundle.file.open("rb") as source:
        return zipfile.ZipFile(io.BytesIO(source.read()))


def test_the_export_stays_until_the_purge_3_months_later(make_account, make_user,
                                                         settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with at(2027, 1, 31, 10):
        account = make_account("Acme")
        admin_user = make_user(account)
        agent = make_user(account, role=Role.AGENT)
        admin = Actor(account=account, user=admin_user)
        contact_create(actor=admin, account=account, mobile="+33612345678",
                       values={"first_name": "=HYPERLINK(1)"})
        account_terminate(actor=OPERATOR, account=account)
    admin_user.refresh_from_db()
    agent.refresh_from_db()
    assert admin_user.is_active
    assert not agent.is_active
    # Terminated 31 Jan, purged 30 Apr (3 months, clamped). The day before, the
    # administrator still exports everything.
    account.refresh_from_db()
    assert account.purge_at == datetime(2027, 4, 30, 10, tzinfo=PARIS)
    with at(2027, 4, 29, 10):
        account.refresh_from_db()
        assert accounts_purge_due() == []
        bundle = export_request(actor=Actor(account=account, user=admin_user),
                                account=account)
        run_jobs()
    bundle.refresh_from_db()
    assert bundle.status == BundleStatus.READY
    assert bundle.progress == 100
    archive = _zip(bundle)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["counts"]["contacts"] == 1
    for entry in manifest["files"]:
        content = archive.read(entry["name"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
        assert len(content) == entry["bytes"]
    assert {"contacts.csv", "messages.csv", "calls.csv", "replies.csv"} <= {
        entry["name"] for entry in manifest["files"]}
    contacts = archive.read("contacts.csv").decode()
    assert "+33612345678" in contacts
    assert "'=HYPERLINK(1)" in contacts
    # The purge day: the data goes, the export with it.
    with at(2027, 4, 30, 10):
        assert len(accounts_purge_due()) == 1
        with pytest.raises(Conflict):
            export_request(actor=Actor(account=account, user=admin_user), account=account)
    assert AccountPurge.objects.filter(account=account).exists()


def test_a_terminated_account_reaches_only_its_export_page(make_account, make_user):
    account = make_account("Acme")
    admin = make_user(account)
    account_terminate(actor=OPERATOR, account=account)
    client = Client()
    client.force_login(admin)
    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"].endswith("/account/closure/")
    page = client.get("/account/closure/")
    assert page.status_code == 200
    assert client.post("/account/closure/", {"action": "export"}).status_code == 302
    assert account.export_bundles.count() == 1


def test_activity_is_written_at_most_once_an_hour(account):
    start = datetime(2027, 1, 1, 9, tzinfo=PARIS)
    assert activity_touch(account_id=account.pk, now=start)
    assert not activity_touch(account_id=account.pk, now=start + timedelta(minutes=59))
    assert activity_touch(account_id=account.pk, now=start + timedelta(hours=1))
    account.refresh_from_db()
    assert account.last_activity_at == start + timedelta(hours=1)


def test_an_api_call_counts_as_activity(make_account):
    with at(2027, 6, 1, 9):
        account = make_account("Initech")
        _key, raw = api_key_create(actor=SYSTEM, account=account, name="k", role=Role.ADMINISTRATOR)
    with at(2027, 6, 3, 9):
        assert api_key_authenticate(raw_key=raw) is not None
    account.refresh_from_db()
    assert account.last_activity_at == datetime(2027, 6, 3, 9, tzinfo=PARIS)


def test_24_months_idle_then_15_days_notice_then_deletion(make_account, make_user):
    with at(2025, 3, 10, 9):
        account = make_account("Idle")
        make_user(account)
        activity_touch(account_id=account.pk)
    assert inactivity_sweep(now=datetime(2027, 3, 10, 8, 59, tzinfo=PARIS)) == []
    with at(2027, 3, 10, 9):
        report = inactivity_sweep()
        run_jobs()
    assert [step["action"] for step in report] == ["notify (inactive)"]
    notice = TerminationNotice.objects.get(account=account)
    assert notice.effective_at == datetime(2027, 3, 25, 9, tzinfo=PARIS)
    assert len(mail.outbox) == 1
    assert "deleted" in mail.outbox[0].subject
    assert inactivity_sweep(now=datetime(2027, 3, 25, 8, 59, tzinfo=PARIS)) == []
    with at(2027, 3, 25, 9):
        inactivity_sweep()
    account.refresh_from_db()
    assert account.status == AccountStatus.TERMINATED
    # Deleted at once (the notice with the rest); the audit trail keeps the story.
    assert AccountPurge.objects.filter(account=account).exists()
    assert not TerminationNotice.objects.filter(account=account).exists()
    assert set(AuditEntry.objects.filter(account=account).values_list(
        "action", flat=True)) >= {"termination_notice.inactivity", "account.terminate",
                                  "account.purge"}


def test_activity_during_the_notice_keeps_the_account(make_account):
    with at(2025, 3, 10, 9):
        account = make_account("Idle")
    with at(2027, 3, 10, 9):
        inactivity_sweep()
    with at(2027, 3, 20, 9):
        activity_touch(account_id=account.pk)
    with at(2027, 3, 25, 9):
        report = inactivity_sweep()
    assert [step["action"] for step in report] == ["cancel (activity resumed)"]
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE
    assert TerminationNotice.objects.get(account=account).status == NoticeStatus.CANCELLED
    assert Account.objects.filter(pk=account.pk).exists()


def test_the_jobs_are_registered():
    registry = registry_discover()
    assert {"lifecycle.terminations", "lifecycle.inactivity"} <= set(registry.periodic)
    assert {"lifecycle.export_build", "lifecycle.notice_email"} <= set(registry.handlers)


def test_export_build_is_idempotent(account, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    bundle = export_request(actor=Actor(account=account, user=make_user(account)),
                            account=account)
    built = export_build(bundle_id=bundle.pk)
    again = export_build(bundle_id=bundle.pk)
    assert again.sha256 == built.sha256
    assert again.file.name == built.file.name


def test_the_compliance_report_is_a_dry_run(make_account):
    from io import StringIO

    from django.core.management import call_command

    with at(2025, 3, 10, 9):
        account = make_account("Idle")
    out = StringIO()
    with at(2027, 3, 10, 9):
        call_command("compliance_report", stdout=out)
    report = json.loads(out.getvalue())
    assert [step["name"] for step in report["inactivity"]] == ["Idle"]
    assert report["support_sla_breaches"] == []
    assert report["purges"] == []  # terminated accounts due: none here
    assert not TerminationNotice.objects.filter(account=account).exists()


def test_a_login_counts_as_activity(make_account, make_user):
    with at(2027, 6, 1, 9):
        account = make_account("Initech")
        user = make_user(account)
    with at(2027, 6, 5, 9):
        client = Client()
        client.post("/login/", {"username": user.email, "password": "correct-horse-battery-9"})
    account.refresh_from_db()
    assert account.last_activity_at == datetime(2027, 6, 5, 9, tzinfo=PARIS)
