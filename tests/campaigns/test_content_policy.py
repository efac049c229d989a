"""A campaign launch meets the content check (M-11): a text with a link shortener holds
every message of the launch in one review, and the campaign is not complete while they
wait; released by the operator, they leave (at once: the pacing walked past them)."""

from chappe.accounts.actor import SYSTEM
from chappe.campaigns.services import campaign_launch
from chappe.messaging.content_policy.models import ContentReview
from chappe.messaging.content_policy.services import review_release
from chappe.messaging.models import Message
from tests.campaigns.conftest import deliver_all, refreshed, run_jobs
from tests.messaging.content_policy.test_review import shorteners_seeded


def test_a_held_campaign_waits_for_the_operator_then_leaves(
        actor, make_contacts, make_campaign, simulator):
    shorteners_seeded()
    make_contacts(6)
    campaign = campaign_launch(actor=actor, campaign=make_campaign(
        text="Bonjour {first_name|client}, -20% sur bit.ly/soldes"))
    run_jobs(limit=3)
    campaign = refreshed(campaign)
    messages = Message.objects.filter(send_id=campaign.send_id)
    assert set(messages.values_list("status", flat=True)) == {"held_for_review"}
    [review] = ContentReview.objects.filter(send_id=campaign.send_id)
    assert review.reasons[0]["matched"] == "bit.ly"
    deliver_all()
    assert set(messages.values_list("status", flat=True)) == {"held_for_review"}
    assert refreshed(campaign).status == "running"
    review_release(actor=SYSTEM, review=review)
    deliver_all()
    assert set(messages.values_list("status", flat=True)) == {"delivered"}
    assert refreshed(campaign).status == "completed"
