"""The README's call-campaign example, run as written (only the port is this test's)
against a live server, the demo key file in place, on an account set up as the demo's
(the ARCEP number +33162000001 rented, a queue named `Outbound`); then what it promises,
in the database: a running campaign whose Bloctel-listed consumer is excluded."""

import json

import pytest

from chappe.dialer.models import BloctelScrub, CallCampaign, CampaignContact, ContactStatus
from tests.api.compat.conftest import funded, raw_key  # noqa: F401
from tests.api.compat.test_readme import _frozen, demo_dir, run_example  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def answers(output: str) -> list:
    """The JSON documents printed one after the other."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output := output.strip()):
        document, at = decoder.raw_decode(output, at)
        found.append(document)
        while at < len(output) and output[at].isspace():
            at += 1
    return found


def test_call_campaign_example(live_server, demo_dir, queue, caller_ids, data_dir):  # noqa: F811
    result = run_example("call-campaign", live_server, demo_dir)
    progress = answers(result.stdout)[-1]  # curl's answers follow one another
    assert progress["state"] == "running"
    assert (progress["contacts"], progress["by_status"]) == (2, {"excluded": 1, "pending": 1})
    campaign = CallCampaign.objects.get(name="Spring offer")
    assert (campaign.queue_id, campaign.caller_id, campaign.mode) == (
        queue.pk, "+33162000001", "progressive")
    assert CampaignContact.objects.get(campaign=campaign, number="+33600000102").status \
        == ContactStatus.EXCLUDED
    assert BloctelScrub.objects.get(account=campaign.account).filename == \
        "bloctel-returned.txt"
