"""Support in the web app and the API: the quota and the desk's hours shown, a ticket
opened and answered, another tenant's ticket a 404."""

from django.test import Client

from chappe.support.models import Ticket


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_support_page_shows_the_quota_and_opens_a_ticket(account, make_user):
    web = _client(make_user(account))
    page = web.get("/support/")
    assert page.status_code == 200
    assert "0 of 5" in page.content.decode()
    assert "except on public holidays" in page.content.decode()
    sent = web.post("/support/", {"subject": "Sender refused", "severity": "semi_blocking",
                                  "body": "Our sender ID is refused."})
    ticket = Ticket.objects.get(account=account)
    assert sent.status_code == 302
    assert sent["Location"] == f"/support/{ticket.pk}/"
    assert ticket.acknowledge_due_at is not None
    thread = web.get(f"/support/{ticket.pk}/")
    assert "Our sender ID is refused." in thread.content.decode()
    assert web.post(f"/support/{ticket.pk}/", {"body": "Any news?"}).status_code == 302
    assert ticket.messages.count() == 2


def test_another_accounts_ticket_is_not_found(account, other_account, make_user):
    theirs = Ticket.objects.create(account=other_account, email="x@globex.example",
                                   subject="Theirs", opened_at="2027-01-01T10:00:00Z")
    web = _client(make_user(account))
    assert web.get(f"/support/{theirs.pk}/").status_code == 404
    assert web.get("/support/not-a-uuid/").status_code == 404


def test_the_api_opens_tickets_until_the_quota(api):
    for n in range(5):
        created = api.post("/api/v1/support/tickets", {"subject": f"Q{n}", "body": "?"})
        assert created.status_code == 201, created.content
    refused = api.post("/api/v1/support/tickets", {"subject": "Q6", "body": "?"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "ticket_quota_exceeded"
    quota = api.get("/api/v1/support/quota").json()
    assert (quota["used"], quota["limit"]) == (5, 5)
    bad = api.post("/api/v1/support/tickets", {"subject": "", "body": "?", "severity": "x"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"
    listed = api.get("/api/v1/support/tickets").json()
    ticket_id = listed["items"][0]["id"]
    replied = api.post(f"/api/v1/support/tickets/{ticket_id}/messages", {"body": "More"})
    assert replied.status_code == 201
    assert [m["body"] for m in replied.json()["messages"]][-1] == "More"
