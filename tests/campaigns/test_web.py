"""Campaign pages (Django test client): the list, the form with its audience picker,
the preview per recipient and the estimate, launch, the live progress partial, pause,
resume, cancel, delete; errors shown on the fields; permissions."""

import pytest
from django.urls import reverse

from chappe.accounts.roles import Role
from chappe.campaigns.models import Campaign
from chappe.contacts.services import contact_list_create
from tests.campaigns.conftest import deliver_all, refreshed, run_jobs
from tests.web.support import client_for

HTMX = {"HX-Request": "true"}


def _form(**values):
    data = {"name": "Soldes", "kind": "marketing", "sender": "Boutique",
            "text": "Bonjour {first_name|client} !", "stop_mention": "on",
            "filter_op_0": "eq", "filter_op_1": "eq", "filter_op_2": "eq"}
    data.update(values)
    return data


@pytest.fixture
def clients_list(actor, funded_account, make_contacts):
    customers = contact_list_create(actor=actor, account=funded_account, name="Clients")
    make_contacts(4, first_names=["Zoé", "Łukasz"], contact_list=customers, city="Paris")
    make_contacts(2, start=10, contact_list=customers, city="Lyon")
    return customers


def test_the_list_and_the_menu(web, make_campaign):
    response = web.get(reverse("web:campaigns"))
    assert response.status_code == 200
    assert "No campaign yet" in response.content.decode()
    make_campaign(name="Rentrée", numbers=["+33612345678"], all_contacts=False)
    html = web.get(reverse("web:campaigns")).content.decode()
    assert "Rentrée" in html
    assert f'href="{reverse("web:campaigns")}"' in html  # the menu entry


def test_create_preview_estimate_then_launch_and_follow(web, funded_account, clients_list,
                                                        simulator):
    response = web.post(reverse("web:campaign_new"), _form(
        lists=[str(clients_list.pk)], filter_field_1="city", filter_op_1="eq",
        filter_value_1="paris", numbers="06 99 99 99 99"))
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get(account=funded_account)
    assert campaign.filters == [{"field": "city", "op": "eq", "value": "paris"}]
    page = web.get(response.url).content.decode()
    assert 'id="campaign-preview"' in page
    assert "Bonjour Zoé !\nSTOP au 36034" in page
    assert "Bonjour client !" in page  # the pasted number takes the default
    assert "UCS-2" in page  # Łukasz
    assert 'data-count="recipients">5<' in page
    assert 'data-count="billable"><strong>5<' in page

    response = web.post(reverse("web:campaign_launch", args=[campaign.pk]))
    assert response.status_code == 302
    page = web.get(reverse("web:campaign", args=[campaign.pk])).content.decode()
    assert 'id="campaign-progress"' in page
    assert 'hx-trigger="every 2s"' in page
    run_jobs(limit=3)
    deliver_all()
    partial = web.get(reverse("web:campaign_progress", args=[campaign.pk]), headers=HTMX)
    html = partial.content.decode()
    assert 'data-count="delivered">5<' in html
    assert 'id="delivery-chart"' in html
    assert "hx-trigger" not in html  # over: the polling stops
    assert refreshed(campaign).status == "completed"


def test_form_errors_come_back_on_their_fields(web, clients_list):
    response = web.post(reverse("web:campaign_new"), _form(
        lists=[str(clients_list.pk)], text="Bonjour {prenom}",
        filter_field_2="city", filter_op_2="eq", filter_value_2=""))
    assert response.status_code == 200
    form = response.context["form"]
    assert "{prenom}" in form.errors["text"][0]
    assert form.errors["filter_value_2"] == ["Give a value to compare with."]
    assert not Campaign.objects.exists()


def test_draft_is_edited_and_deleted(web, make_campaign):
    campaign = make_campaign(numbers=["+33612345678"], all_contacts=False)
    url = reverse("web:campaign", args=[campaign.pk])
    response = web.post(url, _form(name="Autre nom", numbers="+33612345678\n+33612345679"))
    assert response.status_code == 302
    campaign = refreshed(campaign)
    assert (campaign.name, campaign.numbers) == ("Autre nom", ["+33612345678", "+33612345679"])
    assert "Please confirm" in web.get(reverse("web:campaign_delete",
                                               args=[campaign.pk])).content.decode()
    response = web.post(reverse("web:campaign_delete", args=[campaign.pk]))
    assert response.url == reverse("web:campaigns")
    assert not Campaign.objects.filter(pk=campaign.pk).exists()


def test_pause_resume_and_cancel_from_the_page(web, clients_list, make_campaign):
    campaign = make_campaign(lists=[clients_list])
    web.post(reverse("web:campaign_launch", args=[campaign.pk]))
    run_jobs(limit=2)
    page = web.get(reverse("web:campaign", args=[campaign.pk])).content.decode()
    assert reverse("web:campaign_pause", args=[campaign.pk]) in page
    web.post(reverse("web:campaign_pause", args=[campaign.pk]))
    assert refreshed(campaign).status == "paused"
    page = web.get(reverse("web:campaign", args=[campaign.pk])).content.decode()
    assert reverse("web:campaign_resume", args=[campaign.pk]) in page
    web.post(reverse("web:campaign_resume", args=[campaign.pk]))
    assert refreshed(campaign).status == "running"
    web.post(reverse("web:campaign_cancel", args=[campaign.pk]))
    run_jobs()
    assert refreshed(campaign).status == "canceled"


def test_launch_refused_for_credit_shows_why(web, account, buy_credits, make_campaign):
    buy_credits(account, "1")
    campaign = make_campaign(numbers=[f"+3361{i:07d}" for i in range(40)], all_contacts=False)
    page = web.get(reverse("web:campaign", args=[campaign.pk])).content.decode()
    assert "does not cover this campaign" in page
    response = web.post(reverse("web:campaign_launch", args=[campaign.pk]), follow=True)
    assert "Not enough prepaid credit" in response.content.decode()
    assert refreshed(campaign).status == "draft"


def test_roles_without_messaging_cannot_see_campaigns(account, make_user, make_campaign):
    supervisor = client_for(make_user(account, role=Role.SUPERVISOR))
    assert supervisor.get(reverse("web:campaigns")).status_code == 403


def test_another_accounts_campaign_is_404(web, make_account, make_campaign):
    from chappe.accounts.actor import SYSTEM
    from chappe.campaigns.services import campaign_create

    other = make_account("Other")
    theirs = campaign_create(actor=SYSTEM.on(other), account=other, name="Theirs",
                             sender="Shop", text="Hi", numbers=["+33612345678"])
    for name in ("web:campaign", "web:campaign_progress", "web:campaign_delete"):
        assert web.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert web.post(reverse("web:campaign_launch", args=[theirs.pk])).status_code == 404


def test_pages_speak_french(web, make_campaign):
    from django.conf import settings

    web.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    html = web.get(reverse("web:campaigns")).content.decode()
    assert "Nouvelle campagne" in html
    campaign = make_campaign(numbers=["+33612345678"], all_contacts=False)
    html = web.get(reverse("web:campaign", args=[campaign.pk])).content.decode()
    assert "Enregistrer et prévisualiser" in html
    assert "Lancer la campagne" in html


def test_the_usage_page_links_a_campaigns_charge_to_the_campaign(web, clients_list,
                                                                 make_campaign):
    """The uses of a launch chunk are one usage record caused by the campaign's send
    (decision 0036): the usage page links it to the campaign, not to the send's page."""
    campaign = make_campaign()
    web.post(reverse("web:campaign_launch", args=[campaign.pk]))
    run_jobs()
    html = web.get(reverse("web:usage")).content.decode()
    assert reverse("web:campaign", args=[campaign.pk]) in html
    assert reverse("web:sms_send_result", args=[refreshed(campaign).send_id]) not in html
