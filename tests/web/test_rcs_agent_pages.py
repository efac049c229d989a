"""RCS agents in the web app (Django test client): create with logo and banner, form
errors shown, submit for validation, each carrier's review and reason, edits sending a
launched agent back to validation, and another account's agent a 404."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chappe.accounts.actor import SYSTEM
from chappe.messaging.rcs.agents import rcs_agent_create, rcs_agent_review
from chappe.messaging.rcs.models import RcsAgent
from tests.messaging.rcs.conftest import PROFILE, png


def _images(logo=(224, 224), banner=(1440, 448)) -> dict:
    return {"logo": SimpleUploadedFile("logo.png", png(*logo), "image/png"),
            "banner": SimpleUploadedFile("banner.png", png(*banner), "image/png")}


def test_form_errors_are_shown_and_nothing_is_created(web, account):
    page = web.get(reverse("web:rcs_agent_new"))
    assert page.status_code == 200
    assert b'enctype="multipart/form-data"' in page.content
    refused = web.post(reverse("web:rcs_agent_new"), {
        **PROFILE, "color": "red", "website": "not a url", **_images(logo=(100, 100))})
    assert refused.status_code == 200
    body = refused.content.decode()
    assert body.count('class="field-error"') >= 2  # colour and website, by the form
    assert not RcsAgent.objects.exists()
    # The form is right but the logo is not: the service's check, shown on its field.
    refused = web.post(reverse("web:rcs_agent_new"), {**PROFILE, **_images(logo=(100, 100))})
    assert refused.status_code == 200
    assert "224x224" in refused.content.decode()
    assert not RcsAgent.objects.exists()


def test_an_agent_is_created_submitted_reviewed_and_edited(web, account):
    created = web.post(reverse("web:rcs_agent_new"), {**PROFILE, **_images()})
    assert created.status_code == 302
    agent = RcsAgent.objects.get(account=account)
    assert created["Location"] == reverse("web:rcs_agent", args=[agent.pk])
    assert (agent.brand_name, agent.status) == ("Acme", "draft")
    assert agent.logo
    assert agent.banner
    submitted = web.post(reverse("web:rcs_agent_submit", args=[agent.pk]))
    assert submitted.status_code == 302
    agent.refresh_from_db()
    assert agent.status == "pending"
    agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier="orange", approved=True)
    agent = rcs_agent_review(actor=SYSTEM, agent=agent, carrier="sfr", approved=False,
                             reason="Logo too blurry")
    page = web.get(reverse("web:rcs_agent", args=[agent.pk])).content.decode()
    assert "Logo too blurry" in page
    assert "Launched" in page
    assert "Rejected" in page
    listed = web.get(reverse("web:rcs_agents")).content.decode()
    assert "Acme" in listed
    # A change to a launched agent sends it back to the carriers.
    edited = web.post(reverse("web:rcs_agent", args=[agent.pk]),
                      {**PROFILE, "description": "Acme parcels"})
    assert edited.status_code == 302
    agent.refresh_from_db()
    assert (agent.description, agent.status) == ("Acme parcels", "pending")


def test_another_accounts_agent_is_not_found(web, other_account):
    theirs = rcs_agent_create(actor=SYSTEM.on(other_account), account=other_account,
                              logo=png(224, 224), banner=png(1440, 448),
                              **{**PROFILE, "brand_name": "Globex Deliveries"})
    assert web.get(reverse("web:rcs_agent", args=[theirs.pk])).status_code == 404
    assert web.post(reverse("web:rcs_agent", args=[theirs.pk]),
                    PROFILE).status_code == 404
    assert web.post(reverse("web:rcs_agent_submit", args=[theirs.pk])).status_code == 404
    assert "Globex Deliveries" not in web.get(reverse("web:rcs_agents")).content.decode()
