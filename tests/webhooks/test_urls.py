"""Where an event goes (one rule for SMS status, replies and voice messages): the callback
URL given with the send or call, else the account's default URL, else nowhere."""

from chappe.webhooks.models import WebhookSettings
from chappe.webhooks.selectors import webhook_url, webhook_urls


def test_the_callback_url_else_the_account_default_else_none(account, other_account,
                                                             make_account,
                                                             django_assert_num_queries):
    WebhookSettings.objects.create(account=account, default_url="https://acme.example/hook")
    WebhookSettings.objects.create(account=other_account, default_url="")
    silent = make_account("No settings")
    with django_assert_num_queries(1):
        urls = webhook_urls(targets=[
            (account.pk, ""), (account.pk, "https://send.example/cb"), (other_account.pk, ""),
            (silent.pk, "")])
    assert urls == ["https://acme.example/hook", "https://send.example/cb", "", ""]
    with django_assert_num_queries(0):
        assert webhook_url(account_id=silent.pk,
                           callback_url="https://send.example/cb") == "https://send.example/cb"
    assert webhook_url(account_id=account.pk, callback_url="") == "https://acme.example/hook"
