"""The Account SID of the Twilio-compatible API: drawn once per account, unique, shown
in GET /api/v1/account and on the web app's API-keys page."""

from django.urls import reverse

from tests.web.support import client_for


def test_each_account_has_its_own_sid(make_account):
    first, second = make_account("One"), make_account("Two")
    assert first.twilio_account_sid != second.twilio_account_sid
    for account in (first, second):
        assert len(account.twilio_account_sid) == 34
        assert account.twilio_account_sid.startswith("AC")
        int(account.twilio_account_sid[2:], 16)


def test_the_api_keys_page_shows_it(account, make_user):
    web = client_for(make_user(account))
    page = web.get(reverse("web:api_keys")).content.decode()
    assert f'value="{account.twilio_account_sid}"' in page
