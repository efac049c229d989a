"""The call campaign pages: list with counters, a campaign's progress and log, launch,
pause and stop from the page, and the Bloctel page (export, import)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from chappe.agents.acd import State
from chappe.agents.services.states import agent_state_set
from chappe.dialer import services
from chappe.dialer.desk import CampaignDesk
from chappe.dialer.models import CallCampaign
from chappe.voice.dialer import CampaignCallEnd
from tests.web.support import client_for

pytestmark = pytest.mark.django_db
MONDAY_11 = datetime(2026, 3, 16, 10, tzinfo=UTC)


@pytest.fixture
def web(admin_actor):
    return client_for(admin_actor.user)


def test_campaign_pages(web, make_campaign, admin_actor, data_dir):
    campaign = make_campaign(["+33612345678", "+33612345679"], name="Spring calls",
                             script="Bonjour, ici Acme.")
    listing = web.get("/voice/call-campaigns/")
    assert listing.status_code == 200
    assert "Spring calls" in listing.content.decode()
    with time_machine.travel(MONDAY_11, tick=False):
        page = web.get("/voice/bloctel/")
        assert page.status_code == 200
        assert web.get("/voice/bloctel/export/").content.decode() == \
            "0612345678\n0612345679\n"
        imported = web.post("/voice/bloctel/", {
            "file": SimpleUploadedFile("returned.txt", b"0612345678\n")})
        assert imported.status_code == 302
        launched = web.post(f"/voice/call-campaigns/{campaign.pk}/launch/")
        assert launched.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == "running"
    detail = web.get(f"/voice/call-campaigns/{campaign.pk}/").content.decode()
    assert "Bonjour, ici Acme." in detail
    progress = web.get(f"/voice/call-campaigns/{campaign.pk}/progress/").content.decode()
    assert "C-5 bloctel" in progress  # the excluded consumer, logged with the rule
    assert web.post(f"/voice/call-campaigns/{campaign.pk}/pause/").status_code == 302
    assert CallCampaign.objects.get(pk=campaign.pk).state == "paused"
    assert web.post(f"/voice/call-campaigns/{campaign.pk}/stop/").status_code == 302
    assert CallCampaign.objects.get(pk=campaign.pk).state == "stopped"


def test_launch_refused_on_the_page(web, make_campaign):
    campaign = make_campaign(["+33612345678"])
    response = web.post(f"/voice/call-campaigns/{campaign.pk}/launch/", follow=True)
    assert "Bloctel" in response.content.decode()
    assert CallCampaign.objects.get(pk=campaign.pk).state == "draft"


def test_an_unknown_campaign_is_not_found(web):
    response = web.get("/voice/call-campaigns/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404


def test_stale_scrub_shows_on_hold(web, make_campaign, admin_actor, scrub):
    campaign = make_campaign(["+33612345678"])
    scrub(MONDAY_11 - timedelta(days=1))
    campaign = services.call_campaign_launch(actor=admin_actor, campaign=campaign, now=MONDAY_11)
    services.dials_claim(campaign=campaign, now=MONDAY_11 + timedelta(days=31), limit=1,
                         holder="t")
    assert "C-5 bloctel-scrub-stale" in web.get(
        f"/voice/call-campaigns/{campaign.pk}/progress/").content.decode()


def test_the_agent_sees_the_script_and_saves_a_disposition(make_campaign, admin_actor, scrub,
                                                           agents):
    from django.utils import timezone

    from chappe.dialer.desk import CampaignDesk
    from chappe.dialer.models import DialAttempt
    from chappe.voice.dialer import AgentOffer

    now = timezone.now()
    campaign = make_campaign(["+33612345678"], script="Bonjour, ici Acme.", commercial=False)
    campaign = services.call_campaign_launch(actor=admin_actor, campaign=campaign, now=now)
    desk = CampaignDesk(clock=lambda: now)
    (call,) = services.dials_claim(campaign=campaign, now=now, limit=1, holder="t")
    agent = agents[0]
    type(agent).objects.filter(pk=agent.pk).update(state="ringing")
    desk.agent_answered(desk_call(call), AgentOffer(str(agent.pk)))
    web = client_for(agent.user)
    page = web.get("/voice/call-campaigns/my-call/").content.decode()
    assert "Bonjour, ici Acme." in page
    assert "+33612345678" in page
    assert web.post("/voice/call-campaigns/my-call/", {"code": "refused"}).status_code == 302
    attempt = DialAttempt.objects.get(pk=call.attempt_id)
    assert (attempt.disposition, attempt.refusal) == ("refused", True)
    other = client_for(agents[1].user).get("/voice/call-campaigns/my-call/").content.decode()
    assert "Bonjour, ici Acme." not in other  # only the agent who took it


def desk_call(dial):
    from chappe.voice.dialer import CampaignCall

    return CampaignCall(attempt_id=dial.attempt_id, campaign_id=dial.campaign_id,
                        account_id=dial.account_id, number=dial.number,
                        caller_id=dial.caller_id)


def test_preview_mode_hands_the_next_consumer_to_the_agent(admin_actor, account, queue, agents,
                                                            caller_ids):
    campaign = services.call_campaign_create(
        actor=admin_actor, account=account, queue=queue, name="Preview calls",
        caller_id=caller_ids, mode="preview", commercial=False, numbers=["+33612345678"])
    services.call_campaign_launch(actor=admin_actor, campaign=campaign)
    web = client_for(agents[0].user)
    assert "Preview calls" in web.get("/voice/call-campaigns/my-call/").content.decode()
    assert web.post(f"/voice/call-campaigns/{campaign.pk}/preview-next/").status_code == 302
    page = web.get("/voice/call-campaigns/my-call/").content.decode()
    assert "+33612345678" in page
    web.post(f"/voice/call-campaigns/{campaign.pk}/preview-next/")  # nobody else is due
    assert campaign.attempts.count() == 1
    web.post("/voice/call-campaigns/my-call/", {"code": "interested"})
    contact = campaign.contacts.get()
    assert (contact.status, contact.disposition) == ("done", "interested")
    assert campaign.attempts.get().outcome == "answered"


def test_the_progress_chart_draws_the_calls_by_hour(web, make_campaign, admin_actor, scrub,
                                                   agents, licences):
    # Two agents ready at 11:00 Paris: two calls placed, one answered, one abandoned.
    licences(len(agents))
    for agent in agents:
        agent_state_set(actor=admin_actor, account=admin_actor.account, agent=agent,
                        state=State.AVAILABLE, now=MONDAY_11 - timedelta(minutes=5))
    scrub(MONDAY_11 - timedelta(days=1))
    campaign = services.call_campaign_launch(
        actor=admin_actor, campaign=make_campaign(["+33612345678", "+33612345679"]),
        now=MONDAY_11)
    desk = CampaignDesk(holder="engine-1", clock=lambda: MONDAY_11)
    first, second = desk.calls_due()
    ended = MONDAY_11 + timedelta(minutes=1)
    desk.finish(first, CampaignCallEnd(outcome="answered", ended_at=ended,
                                       answered_at=MONDAY_11))
    desk.finish(second, CampaignCallEnd(outcome="abandoned", ended_at=ended,
                                        answered_at=MONDAY_11))
    page = web.get(f"/voice/call-campaigns/{campaign.pk}/progress/").content.decode()
    chart = page[page.index('id="call-campaign-chart"'):]
    assert "<svg" in chart
    assert "16/03 11:00 · Calls placed: 2" in chart  # the hour in Paris time
    assert "16/03 11:00 · Answered: 1" in chart
    assert "16/03 11:00 · Abandoned: 1" in chart


def test_no_chart_before_the_first_call(web, make_campaign):
    campaign = make_campaign(["+33612345678"])
    page = web.get(f"/voice/call-campaigns/{campaign.pk}/").content.decode()
    assert "Calls placed" in page  # the counters are there
    assert 'id="call-campaign-chart"' not in page
