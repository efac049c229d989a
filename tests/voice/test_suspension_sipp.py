"""P-8 on inbound calls: a number of a suspended account or contact-center service takes
no call — the caller gets a clear refusal (403, or 480 for a maintenance or an outage)
instead of the flow, and the call record says why. SIPp is the caller."""

import pytest
from django.conf import settings

from chappe.accounts.actor import SYSTEM
from chappe.accounts.services import account_suspend, service_reactivate, service_suspend
from tests.voice.sipp_tools import (
    SIPP_TESTS,
    EngineThread,
    scenario,
    sipp,
    wait_for_records,
)

pytestmark = SIPP_TESTS

WELCOME = {"start": "w", "nodes": {"w": {"type": "play",
                                         "prompt": {"text": "Bonjour.", "language": "fr"}}}}
PCMA = "m=audio [auto_media_port] RTP/AVP 8\n      a=rtpmap:8 PCMA/8000"


def call_expecting(port: int, status: str) -> None:
    result = sipp(port, *scenario("offer_refused.xml", settings.DATA_DIR, status=status,
                                  media=PCMA), cwd=settings.DATA_DIR)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


@pytest.mark.parametrize(("reason", "status"), [("non_payment", "403"),
                                                ("maintenance", "480")])
def test_a_suspended_contact_center_service_refuses_calls_and_says_so(number_with, reason,
                                                                      status):
    account = number_with(WELCOME)
    service = account.services.get(kind="contact_center")
    service_suspend(actor=SYSTEM, service=service, reason=reason)
    with EngineThread() as engine:
        call_expecting(engine.port, status)
        [record] = wait_for_records(account)
        # Resumed: the number answers again at once (the routing cache follows).
        service_reactivate(actor=SYSTEM, service=service)
        result = sipp(engine.port, *scenario("engine_hangs_up.xml"), cwd=settings.DATA_DIR)
        assert result.returncode == 0, result.stdout[-2000:]
        wait_for_records(account, 2)
    assert (record.disposition, record.hangup_cause) == ("rejected", f"rejected_{status}")
    assert record.transitions[-1]["why"] == f"rejected {status}: service_suspended: {reason}"
    assert record.answered_at is None


def test_a_suspended_account_refuses_calls(number_with):
    account = number_with(WELCOME)
    account_suspend(actor=SYSTEM, account=account, reason="legal_order")
    with EngineThread() as engine:
        call_expecting(engine.port, "403")
        [record] = wait_for_records(account)
    assert record.hangup_cause == "rejected_403"
    assert "account_suspended: legal_order" in record.transitions[-1]["why"]
