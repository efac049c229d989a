"""SMS pages: the send form and its live counter, the per-recipient result, history with
filters and CSV export, one message with its status history and cancellation, replies."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from chappe.accounts.actor import SYSTEM
from chappe.accounts.roles import Role
from chappe.accounts.services import service_suspend
from chappe.carriers.base import Inbound
from chappe.messaging.models import Message, Send
from chappe.messaging.services.accept import sms_send
from chappe.messaging.services.replies import inbound_receive
from tests.web.support import client_for, usable

HTMX = {"HX-Request": "true"}
DELIVERED, UNDELIVERED = "+33600000001", "+33600000002"


def send(account, recipients, **kwargs):
    kwargs.setdefault("text", "Hello")
    kwargs.setdefault("sender", "Chappe")
    return sms_send(actor=SYSTEM.on(account), account=account, recipients=recipients, **kwargs)


def form_data(**fields) -> dict:
    data = {"recipients": DELIVERED, "sender": "Chappe", "text": "Hello", "kind": "transactional",
            "send_at": "", "reference": "", "max_segments": ""}
    data.update(fields)
    return data


def preview(web, **fields):
    response = web.post(reverse("web:sms_preview"), form_data(**fields), headers=HTMX)
    assert response.status_code == 200
    return response.context["preview"], response.content.decode()


# --- pages and permissions ------------------------------------------------------------


@pytest.mark.parametrize("name", ["web:sms_send", "web:sms_history", "web:sms_replies"])
def test_sms_pages_render(web, funded_account, name):
    response = web.get(reverse(name))
    assert response.status_code == 200
    assert funded_account.name in response.content.decode()


def test_the_send_page_shows_the_counter_and_the_time_zone(web, funded_account):
    html = web.get(reverse("web:sms_send")).content.decode()
    assert 'id="sms-counter"' in html
    assert 'hx-trigger="input changed delay:200ms"' in html
    assert reverse("web:sms_preview") in html
    assert "Europe/Paris" in html


@pytest.mark.parametrize("name", ["web:sms_send", "web:sms_history", "web:sms_replies",
                                  "web:sms_export"])
def test_an_agent_gets_403(account, make_user, name):
    agent = client_for(make_user(account, role=Role.AGENT))
    assert agent.get(reverse(name)).status_code == 403


def test_an_agent_cannot_send_nor_preview(funded_account, make_user):
    agent = client_for(make_user(funded_account, role=Role.AGENT))
    assert agent.post(reverse("web:sms_send"), form_data()).status_code == 403
    assert agent.post(reverse("web:sms_preview"), form_data()).status_code == 403
    assert not Message.objects.exists()


def test_menu_entries_follow_the_permissions(account, make_user, web):
    entries = ("web:sms_send", "web:sms_history", "web:sms_replies")
    html = web.get(reverse("web:home")).content.decode()
    for name in entries:
        assert f'href="{reverse(name)}"' in html
    user = client_for(make_user(account, role=Role.MESSAGING_USER))
    html = user.get(reverse("web:home")).content.decode()
    for name in entries:
        assert f'href="{reverse(name)}"' in html
    agent = client_for(make_user(account, role=Role.AGENT))
    html = agent.get(reverse("web:home")).content.decode()
    for name in entries:
        assert f'href="{reverse(name)}"' not in html


# --- the live counter ---------------------------------------------------------------------


def test_counter_160_gsm_characters_are_one_sms_161_are_two(web, funded_account):
    one, html = preview(web, text="a" * 160)
    assert (one.encoding, one.segments, one.remaining, one.characters) == ("gsm7", 1, 0, 160)
    assert "GSM-7" in html
    two, html = preview(web, text="a" * 161)
    assert (two.encoding, two.segments, two.remaining) == ("gsm7", 2, 153 * 2 - 161)
    assert 'data-segments="2"' in html


def test_counter_an_accent_outside_gsm_forces_ucs2(web, funded_account):
    result, html = preview(web, text="Fête " + "a" * 65)  # 70 characters
    assert (result.encoding, result.segments, result.remaining) == ("ucs2", 1, 0)
    assert "UCS-2" in html
    assert "70 characters per SMS instead of 160" in html
    result, _html = preview(web, text="Fête " + "a" * 66)
    assert (result.encoding, result.segments) == ("ucs2", 2)
    # é is in the GSM alphabet: still GSM-7.
    result, _html = preview(web, text="Café")
    assert result.encoding == "gsm7"


def test_counter_marketing_adds_the_stop_mention(web, funded_account):
    result, html = preview(web, text="a" * 150, kind="marketing")
    assert result.mention == "STOP au 36034"
    assert result.mention_characters == len("\nSTOP au 36034")
    assert result.segments == 2
    assert "Added: “STOP au 36034”" in html
    transactional, html = preview(web, text="a" * 150, kind="transactional")
    assert (transactional.mention, transactional.segments) == ("", 1)
    assert "Not added" in html


def test_counter_recipients_and_estimated_price(web, funded_account):
    result, html = preview(web, text="Hello",
                           recipients="06 00 00 00 01, +33600000001; 12\n+32470000000")
    assert (result.recipients, result.valid, result.invalid, result.duplicates) == (4, 2, 1, 1)
    assert result.countries == {"FR": 1, "BE": 1}
    assert result.price_micros == 45_000 + 70_000  # FR 0.045 + BE 0.07, one segment each
    assert "0.115\u00a0EUR" in html
    assert "1 invalid" in html
    assert "1 duplicate" in html
    two_segments, _html = preview(web, text="a" * 161, recipients=DELIVERED)
    assert two_segments.price_micros == 2 * 45_000


def test_counter_without_a_price_says_so(web, account):
    result, html = preview(web, text="Hello", recipients=DELIVERED)
    assert result.unpriced == ["FR"]
    assert result.price_micros is None
    assert "No price for FR" in html


def test_counter_warns_when_the_credit_is_short(web, account, price_list):
    result, html = preview(web, text="Hello", recipients=DELIVERED)
    assert result.short_of_credit
    assert "Your usable credit does not cover this send." in html


def test_counter_warns_over_max_segments(web, funded_account):
    result, html = preview(web, text="a" * 200, max_segments="1")
    assert result.over_max_segments
    assert "more than the maximum of 1" in html


def test_counter_is_rendered_in_french(web, funded_account):
    response = web.post(reverse("web:sms_preview"), form_data(text="a" * 161),
                        headers={**HTMX, "Accept-Language": "fr"})
    html = response.content.decode()
    assert "Encodage" in html
    assert "0,09\u00a0EUR" in html


# --- sending ------------------------------------------------------------------------------


def test_submitting_sends_and_shows_each_recipients_outcome(web, funded_account):
    before = usable(funded_account)
    response = web.post(reverse("web:sms_send"), form_data(
        recipients=f"{DELIVERED}\n06 00 00 00 01; 12, {UNDELIVERED}", reference="order-42"))
    assert response.status_code == 302
    send_obj = Send.objects.get(account=funded_account)
    assert response["Location"] == reverse("web:sms_send_result", args=[send_obj.pk])
    assert send_obj.reference == "order-42"
    assert sorted(Message.objects.values_list("recipient", flat=True)) == [DELIVERED, UNDELIVERED]
    assert usable(funded_account) == before - Decimal("0.09")

    page = web.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    statuses = [row.status for row in page.context["rows"]]
    assert statuses == ["queued", "duplicate", "invalid", "queued"]
    assert "Duplicate" in html
    assert "Invalid number" in html
    assert "Not a valid phone number." in html
    assert "Same number as" in html
    assert page.context["total_micros"] == 90_000
    assert "0.09\u00a0EUR" in html
    assert "2 messages accepted out of 4 recipients" in html


def test_send_at_is_read_in_the_account_time_zone_and_schedules(web, funded_account):
    day = (timezone.now() + timedelta(days=30)).date()
    response = web.post(reverse("web:sms_send"), form_data(send_at=f"{day}T09:00"))
    assert response.status_code == 302
    send_obj = Send.objects.get()
    paris = datetime(day.year, day.month, day.day, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert send_obj.send_at == paris
    assert send_obj.send_at.astimezone(UTC).hour in (7, 8)  # UTC+1 or UTC+2
    assert Message.objects.get().status == "scheduled"


def test_marketing_and_options_are_passed_to_the_service(web, funded_account):
    web.post(reverse("web:sms_send"), form_data(kind="marketing", allow_reply="on",
                                                max_segments="3", text="Promo"))
    send_obj = Send.objects.get()
    assert (send_obj.kind, send_obj.allow_reply, send_obj.max_segments) == ("marketing", True, 3)
    assert send_obj.text.endswith("STOP au 36034")


def test_insufficient_credit_shows_the_error_and_creates_nothing(web, account, price_list):
    response = web.post(reverse("web:sms_send"),
                        form_data(recipients=f"{DELIVERED}\n{UNDELIVERED}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not enough prepaid credit for this operation." in html
    assert "This send costs 0.09\u00a0EUR; your usable credit is 0.00\u00a0EUR." in html
    assert reverse("web:credit_buy") in html
    assert not Send.objects.exists()
    assert not Message.objects.exists()
    # The form keeps what was typed.
    assert UNDELIVERED in html


def test_too_many_segments_is_shown_on_its_field(web, funded_account):
    response = web.post(reverse("web:sms_send"), form_data(text="a" * 161, max_segments="1"))
    assert response.status_code == 200
    assert "The message needs 2 segments, more than max_segments." in response.content.decode()
    assert "max_segments" in response.context["form"].errors
    assert not Message.objects.exists()


def test_service_suspension_is_shown_on_the_form(web, funded_account):
    service_suspend(actor=SYSTEM, service=funded_account.services.get(kind="messaging"),
                    reason="non_payment")
    response = web.post(reverse("web:sms_send"), form_data())
    assert response.status_code == 200
    assert "suspended" in response.content.decode()
    assert not Message.objects.exists()


def test_validation_errors_come_back_on_the_fields(web, funded_account):
    response = web.post(reverse("web:sms_send"), form_data(recipients=" ;, ", text="   ",
                                                           send_at="2099-01-01T09:00"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "recipients" in errors
    assert "text" in errors
    assert "send_at" in errors
    assert "Give at least one recipient." in response.content.decode()
    assert not Send.objects.exists()


def test_bad_send_at_is_a_form_error(web, funded_account):
    response = web.post(reverse("web:sms_send"), form_data(send_at="tomorrow"))
    assert "Enter a date and a time." in response.content.decode()
    assert not Send.objects.exists()


# --- history, detail, cancel, export ------------------------------------------------------


def test_history_lists_filters_and_paginates(web, funded_account):
    send(funded_account, [DELIVERED], reference="ref-a")
    send(funded_account, [UNDELIVERED], reference="ref-b",
         send_at=timezone.now() + timedelta(days=1))
    response = web.get(reverse("web:sms_history"))
    html = response.content.decode()
    assert DELIVERED in html
    assert UNDELIVERED in html
    assert "ref-a" in html
    assert "Scheduled" in html
    assert 'class="badge badge-scheduled"' in html

    only_b = web.get(reverse("web:sms_history"), {"reference": "ref-b"})
    assert [m.recipient for m in only_b.context["page"]] == [UNDELIVERED]
    national = web.get(reverse("web:sms_history"), {"recipient": "06 00 00 00 01"})
    assert [m.recipient for m in national.context["page"]] == [DELIVERED]
    scheduled = web.get(reverse("web:sms_history"), {"status": "scheduled"})
    assert [m.recipient for m in scheduled.context["page"]] == [UNDELIVERED]
    assert "status=scheduled" in scheduled.content.decode()  # kept in the export link

    send(funded_account, [f"+336000001{i:02d}" for i in range(55)])
    first = web.get(reverse("web:sms_history"))
    assert len(first.context["page"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert len(web.get(reverse("web:sms_history"), {"page": 2}).context["page"]) == 7


def test_csv_export_contains_the_filtered_rows(web, funded_account):
    send(funded_account, [DELIVERED], reference="=cmd")
    send(funded_account, [UNDELIVERED], reference="other")
    response = web.get(reverse("web:sms_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["recipient"] for row in rows} == {DELIVERED, UNDELIVERED}
    first = next(row for row in rows if row["recipient"] == DELIVERED)
    assert (first["status"], first["segments"], first["currency"]) == ("queued", "1", "EUR")
    assert Decimal(first["price"]) == Decimal("0.045")
    assert first["reference"] == "'=cmd"  # never run as a spreadsheet formula

    filtered = web.get(reverse("web:sms_export"), {"reference": "other"})
    rows = list(csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode())))
    assert [row["recipient"] for row in rows] == [UNDELIVERED]


def test_detail_shows_the_message_and_its_status_history(web, funded_account):
    message = send(funded_account, [DELIVERED], text="Your code is 1234").recipients[0].message
    response = web.get(reverse("web:sms_detail", args=[message.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your code is 1234" in html
    assert [e.status for e in response.context["events"]] == ["accepted", "queued"]
    assert "Status history" in html
    # Queued: it may leave at any moment, so no cancel button.
    assert reverse("web:sms_cancel", args=[message.pk]) not in html


def test_cancel_a_scheduled_message_with_confirmation(web, funded_account):
    before = usable(funded_account)
    message = send(funded_account, [DELIVERED], send_at=timezone.now() + timedelta(hours=2)) \
        .recipients[0].message
    assert message.status == "scheduled"
    assert usable(funded_account) == before - Decimal("0.045")
    detail = web.get(reverse("web:sms_detail", args=[message.pk])).content.decode()
    url = reverse("web:sms_cancel", args=[message.pk])
    assert f'hx-post="{url}"' in detail

    confirm = web.get(url)
    assert "Please confirm" in confirm.content.decode()
    message.refresh_from_db()
    assert message.status == "scheduled"

    response = web.post(url, follow=True)
    assert f"The message to {DELIVERED} was canceled." in response.content.decode()
    message.refresh_from_db()
    assert message.status == "canceled"
    assert usable(funded_account) == before  # the charge is reversed
    assert [e.status for e in message.events.all()][-1] == "canceled"


def test_cancel_with_htmx_answers_the_status_block(web, funded_account):
    message = send(funded_account, [DELIVERED], send_at=timezone.now() + timedelta(hours=2)) \
        .recipients[0].message
    response = web.post(reverse("web:sms_cancel", args=[message.pk]), headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card" id="message-state">')
    assert "Canceled" in html
    assert reverse("web:sms_cancel", args=[message.pk]) not in html
    # Canceling again: the service's conflict, shown after a reload.
    again = web.post(reverse("web:sms_cancel", args=[message.pk]), headers=HTMX)
    assert again["HX-Refresh"] == "true"


def test_replies_are_listed_with_a_link_to_the_message(web, funded_account):
    message = send(funded_account, [DELIVERED], allow_reply=True).recipients[0].message
    inbound_receive(connector="simulator", inbound=[Inbound(
        carrier_id="mo-1", from_number=DELIVERED, to="Chappe", text="Oui merci",
        received_at=timezone.now())])
    html = web.get(reverse("web:sms_replies")).content.decode()
    assert "Oui merci" in html
    assert reverse("web:sms_detail", args=[message.pk]) in html
    assert "Oui merci" in web.get(reverse("web:sms_detail", args=[message.pk])).content.decode()


# --- tenancy ------------------------------------------------------------------------------


def test_another_accounts_message_and_send_answer_404(web, funded_account, other_account,
                                                       buy_credits):
    buy_credits(other_account, "10")
    outcome = send(other_account, [DELIVERED], send_at=timezone.now() + timedelta(hours=2))
    theirs = outcome.recipients[0].message
    assert web.get(reverse("web:sms_detail", args=[theirs.pk])).status_code == 404
    assert web.get(reverse("web:sms_cancel", args=[theirs.pk])).status_code == 404
    assert web.post(reverse("web:sms_cancel", args=[theirs.pk])).status_code == 404
    assert web.get(reverse("web:sms_send_result", args=[outcome.send.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "scheduled"
    # Nor in the lists and the export.
    assert DELIVERED not in web.get(reverse("web:sms_history")).content.decode()
    export = b"".join(web.get(reverse("web:sms_export")).streaming_content).decode()
    assert DELIVERED not in export
